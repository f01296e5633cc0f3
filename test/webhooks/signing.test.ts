// Issue 20, signing: what the gateway signs, the standardwebhooks package's
// own verifier accepts (what a receiver runs), with either secret while one is
// rotated, and refuses once anything signed is changed.
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signatureHeaders } from '../../src/webhooks/signing.js';

const body = JSON.stringify({ id: 'evt_1042', type: 'case.completed', data: { caseId: 42, ticket: 'Ä042' } });

describe('webhook secrets', () => {
  it('are whsec_ and 32 random bytes in base64, each new', () => {
    const secrets = Array.from({ length: 50 }, newWebhookSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});

describe('signature headers', () => {
  it('verify with the standardwebhooks verifier, which returns the payload', () => {
    const secret = newWebhookSecret();
    const timestamp = new Date();
    const headers = signatureHeaders({ id: 'evt_1042', timestamp, body, secrets: [secret] });
    expect(headers['webhook-id']).toBe('evt_1042');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(timestamp.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    // Receivers see header names as their framework writes them.
    const shouting = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    expect(() => new Webhook(secret).verify(body, shouting)).not.toThrow();
  });

  it('verify with either secret while one is rotated, and not with a third', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const headers = signatureHeaders({ id: 'evt_7', timestamp: new Date(), body, secrets: [current, previous] });
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toHaveLength(2);
    for (const signature of signatures) expect(signature).toMatch(/^v1,/);
    expect(() => new Webhook(current).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(previous).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('fail when the body, the id or the timestamp is changed', () => {
    const secret = newWebhookSecret();
    const timestamp = new Date();
    const headers = signatureHeaders({ id: 'evt_9', timestamp, body, secrets: [secret] });
    const verifier = new Webhook(secret);
    const tampered = body.replace('"caseId":42', '"caseId":43');
    expect(tampered).not.toBe(body);
    expect(() => verifier.verify(tampered, { ...headers })).toThrow(WebhookVerificationError);
    expect(() => verifier.verify(`${body} `, { ...headers })).toThrow(WebhookVerificationError);
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'evt_10' })).toThrow(WebhookVerificationError);
    const later = String(Math.floor(timestamp.getTime() / 1000) + 1);
    expect(() => verifier.verify(body, { ...headers, 'webhook-timestamp': later })).toThrow(WebhookVerificationError);
  });

  it('are the same for the same id, time and body (a replay signs as the first attempt did)', () => {
    const secret = newWebhookSecret();
    const timestamp = new Date();
    const once = signatureHeaders({ id: 'evt_3', timestamp, body, secrets: [secret] });
    expect(signatureHeaders({ id: 'evt_3', timestamp, body, secrets: [secret] })).toEqual(once);
  });

  it('need a secret, and an id that cannot run into the timestamp', () => {
    const secrets = [newWebhookSecret()];
    expect(() => signatureHeaders({ id: 'evt_1', timestamp: new Date(), body, secrets: [] })).toThrow(/secret/);
    for (const id of ['', 'evt.1', 'evt_1 x', 'evt_1\n'])
      expect(() => signatureHeaders({ id, timestamp: new Date(), body, secrets }), JSON.stringify(id)).toThrow(/id/);
  });
});
