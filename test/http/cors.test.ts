// Browser front ends on other origins: only configured origins may read
// answers or open WebSockets; a preflight is answered for them; CSRF
// protection stays as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { webSocketUrl } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const KIOSK = 'https://kiosk.example.org';
const STRANGER = 'https://stranger.example.net';
const QUERY = JSON.stringify({ query: '{ __typename }' });

let t: TestGateway;
let open: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({}, { CORS_ORIGINS: `${KIOSK}, http://127.0.0.1:9` });
  open = await startTestGateway({}, { CORS_ORIGINS: '*' });
});

afterAll(async () => {
  await Promise.all([t.stop(), open.stop()]);
});

const post = (gateway: TestGateway, origin: string | undefined, path = '/graphql', body = QUERY) =>
  fetch(new URL(path, gateway.gateway.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body,
  });

const preflight = (gateway: TestGateway, origin: string, path = '/graphql') =>
  fetch(new URL(path, gateway.gateway.url), {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });

/** Resolves with the HTTP status of the upgrade's answer (101 when it was accepted). */
function upgradeStatus(gateway: TestGateway, origin: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(webSocketUrl(gateway.gateway.url), 'graphql-transport-ws', origin ? { origin } : {});
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
  });
}

describe('CORS for configured origins', () => {
  it('names an allowed origin in the answer, exposes the request id, and varies by Origin', async () => {
    const answer = await post(t, KIOSK);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(KIOSK);
    expect(answer.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(answer.headers.get('vary')).toContain('Origin');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('names no other origin: the browser keeps the answer from that page', async () => {
    const answer = await post(t, STRANGER);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(answer.headers.get('vary')).toContain('Origin');
    // Clients that are not browsers send no Origin and are unaffected.
    expect((await post(t, undefined)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight from an allowed origin with the methods and headers, and no other', async () => {
    const allowed = await preflight(t, KIOSK);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(KIOSK);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('content-type');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    // A kiosk page reads its case over REST with the receipt.
    expect(allowed.headers.get('access-control-allow-headers')).toContain('x-case-receipt');
    expect(allowed.headers.get('access-control-max-age')).toBe('600');
    const rest = await preflight(t, KIOSK, '/api/Cases');
    expect(rest.headers.get('access-control-allow-origin')).toBe(KIOSK);
    const refused = await preflight(t, STRANGER);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(refused.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('with `*`, any origin may read answers', async () => {
    const answer = await post(open, STRANGER);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('keeps CSRF protection: a simple cross-site POST is refused whatever the origin', async () => {
    for (const [path, body] of [
      ['/graphql', QUERY],
      ['/api/Cases', JSON.stringify({ ServiceId: 1 })],
    ] as const) {
      const answer = await fetch(new URL(path, t.gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: KIOSK },
        body,
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
  });
});

describe('WebSockets and origins', () => {
  it('accepts no Origin (not a browser), its own origin (the explorer) and allowed ones; refuses others with 403', async () => {
    const own = new URL(t.gateway.url).origin;
    expect(await upgradeStatus(t, undefined)).toBe(101);
    expect(await upgradeStatus(t, own)).toBe(101);
    expect(await upgradeStatus(t, KIOSK)).toBe(101);
    expect(await upgradeStatus(t, STRANGER)).toBe(403);
    expect(await upgradeStatus(open, STRANGER)).toBe(101);
  });
});
