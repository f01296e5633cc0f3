// Webhooks through a running gateway, end to end: an admin creates an
// endpoint over GraphQL (its secret shown once), a kiosk enqueues over
// GraphQL, and the gateway's own runner (WEBHOOK_DELIVERY=on) delivers the
// committed change to a receiver on loopback, signed with that secret; its
// /metrics count the attempts per endpoint and show what waits.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateServiceDocument,
  CreateWebhookEndpointDocument,
  EnqueueCaseDocument,
} from '../../src/generated/operations/graphql.js';
import { expectData } from '../helpers/graphql-client.js';
import { parseExposition, valueOf } from '../helpers/prometheus-text.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

interface Request {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const received: Request[] = [];
const receiver = createServer((request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => (body += chunk));
  request.on('end', () => {
    received.push({ headers: request.headers, body });
    response.writeHead(200).end('ok');
  });
});

let t: TestGateway;
let hookUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  t = await startTestGateway(
    {},
    {
      WEBHOOK_DELIVERY: 'on',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_POLL_MS: '50',
    },
  );
}, 60_000);

afterAll(async () => {
  await t.stop();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('a gateway delivering webhooks', () => {
  it('sends an enqueue to the endpoint an admin created, signed with the secret it was shown', async () => {
    const created = expectData(
      await t.request(CreateWebhookEndpointDocument, {
        input: { url: hookUrl, events: ['CASE_ENQUEUED'] },
      }),
    ).createWebhookEndpoint;
    const service = expectData(
      await t.request(CreateServiceDocument, { input: { name: 'Webhooks desk' } }),
    ).createService;
    const enqueued = expectData(
      await t.request(EnqueueCaseDocument, { input: { serviceId: service.id, subject: 'hook me' } }),
    ).enqueueCase;

    const deadline = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toHaveLength(1);
    const [delivery] = received;
    const payload = new Webhook(created.secret).verify(delivery?.body ?? '', {
      'webhook-id': String(delivery?.headers['webhook-id']),
      'webhook-timestamp': String(delivery?.headers['webhook-timestamp']),
      'webhook-signature': String(delivery?.headers['webhook-signature']),
    }) as { type: string; data: { caseId: number; ticket: string; position: number; serviceId: number } };
    expect(payload).toMatchObject({
      type: 'case.enqueued',
      data: { caseId: enqueued.caseId, ticket: enqueued.ticket, position: 1, serviceId: service.id },
    });
    // Nothing personal for an endpoint that did not ask for it.
    expect(delivery?.body).not.toContain('hook me');
  }, 60_000);

  it('counts attempts per endpoint on /metrics, and shows the retries and the oldest undelivered event', async () => {
    // An endpoint nothing listens on (port 9, discard): every attempt is refused, and retried.
    const dead = expectData(
      await t.request(CreateWebhookEndpointDocument, {
        input: { url: 'http://127.0.0.1:9/hook', events: ['CASE_ENQUEUED'] },
      }),
    ).createWebhookEndpoint;
    const live = expectData(
      await t.request(CreateWebhookEndpointDocument, { input: { url: hookUrl, events: ['CASE_ENQUEUED'] } }),
    ).createWebhookEndpoint;
    const service = expectData(
      await t.request(CreateServiceDocument, { input: { name: 'Metrics desk' } }),
    ).createService;
    const before = received.length;
    expectData(await t.request(EnqueueCaseDocument, { input: { serviceId: service.id, subject: 'count me' } }));
    const scrape = async () => {
      const response = await fetch(new URL('/metrics', t.gateway.url));
      expect(response.status).toBe(200);
      return parseExposition(await response.text());
    };
    const of = (endpointId: number) => ({ endpoint_id: String(endpointId) });
    const deadline = Date.now() + 20_000;
    let metrics = await scrape();
    while (
      Date.now() < deadline &&
      (received.length === before ||
        valueOf(metrics, 'gateway_webhook_deliveries_retrying', of(dead.endpoint.id)) !== 1)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      metrics = await scrape();
    }
    const attempts = (endpointId: number, outcome: string) =>
      valueOf(metrics, 'gateway_webhook_attempts_total', { ...of(endpointId), outcome });
    expect(attempts(live.endpoint.id, 'DELIVERED')).toBe(1);
    expect(attempts(dead.endpoint.id, 'NETWORK_ERROR')).toBeGreaterThanOrEqual(1);
    expect(valueOf(metrics, 'gateway_webhook_deliveries_retrying', of(dead.endpoint.id))).toBe(1);
    expect(valueOf(metrics, 'gateway_webhook_oldest_undelivered_seconds', of(dead.endpoint.id))).toBeGreaterThan(0);
    expect(valueOf(metrics, 'gateway_webhook_deliveries_pending', of(live.endpoint.id))).toBe(0);
    expect(valueOf(metrics, 'gateway_webhook_deliveries_retrying', of(live.endpoint.id))).toBe(0);
    expect(valueOf(metrics, 'gateway_webhook_oldest_undelivered_seconds', of(live.endpoint.id))).toBe(0);
    expect(valueOf(metrics, 'gateway_webhook_endpoint_failing', of(dead.endpoint.id))).toBe(0);
  }, 60_000);
});
