// Issue 17 item 5: a page on a domain its owner points at 127.0.0.1 is, to
// the browser, of the same origin as the gateway there; only the Host header
// tells. While the gateway is open (every caller an administrator), and for
// every WebSocket in any mode, it answers only to the names in ALLOWED_HOSTS
// (always the loopback ones).
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostName } from '../../src/http/host-check.js';
import { issueKey } from '../helpers/credentials.js';
import { webSocketUrl } from '../helpers/live-client.js';
import { plainRequest, type PlainAnswer } from '../helpers/plain-http.js';
import { parseResponse, rawExchange, rawRequest } from '../helpers/raw-http.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const EVIL = 'rebind.evil.example:4711';
const EVIL_ORIGIN = `http://${EVIL}`;
const CONFIGURED = 'gateway.example.org';

const portOf = (gateway: TestGateway): number => Number(new URL(gateway.gateway.url).port);

/** A GraphQL POST naming `host` (and `origin`, as the browser would send it). */
function graphql(
  gateway: TestGateway,
  host: string,
  { origin, authorization, query = '{ __typename }' }: { origin?: string; authorization?: string; query?: string } = {},
): Promise<PlainAnswer> {
  return plainRequest(portOf(gateway), '/graphql', {
    method: 'POST',
    headers: {
      host,
      'content-type': 'application/json',
      ...(origin === undefined ? {} : { origin }),
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify({ query }),
  });
}

/** The HTTP status of a WebSocket upgrade naming `host` (101 when it was accepted). */
function upgrade(gateway: TestGateway, host: string, origin?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(webSocketUrl(gateway.gateway.url), 'graphql-transport-ws', {
      headers: { host },
      ...(origin === undefined ? {} : { origin }),
    });
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        socket.terminate();
      });
    });
    socket.once('error', reject);
  });
}

function expectHostRefused(answer: { status: number; body: string }): void {
  expect(answer.status).toBe(403);
  const body = JSON.parse(answer.body) as { errors: { message: string; extensions: { code: string } }[] };
  expect(body.errors[0]?.extensions.code).toBe('HOST_NOT_ALLOWED');
  expect(body.errors[0]?.message).toContain('ALLOWED_HOSTS');
  // The page chose the Host: it is not echoed back.
  expect(answer.body).not.toContain('evil');
}

describe('an open gateway', () => {
  let t: TestGateway;

  beforeAll(async () => {
    t = await startTestGateway({}, { ALLOWED_HOSTS: CONFIGURED });
  });

  afterAll(async () => {
    await t.stop();
  });

  it('refuses a rebinding Host with a matching Origin over HTTP, before anything runs', async () => {
    expectHostRefused(await graphql(t, EVIL, { origin: EVIL_ORIGIN }));
    // The first admin key is what such a page would want.
    expectHostRefused(
      await graphql(t, EVIL, {
        origin: EVIL_ORIGIN,
        query: 'mutation { createApiKey(input: { name: "stolen", role: ADMIN }) { secret } }',
      }),
    );
    const { rows } = await t.sql.query<{ count: number }>('SELECT count(*)::int AS count FROM api_keys');
    expect(rows[0]?.count).toBe(0);
    // Every path alike: not even whether one exists is told.
    expectHostRefused(await plainRequest(portOf(t), '/api/openapi.json', { headers: { host: EVIL } }));
    expectHostRefused(await plainRequest(portOf(t), '/no-such-path', { headers: { host: EVIL } }));
  });

  it('refuses the rebinding Host for a WebSocket, before the upgrade', async () => {
    expectHostRefused(await upgrade(t, EVIL, EVIL_ORIGIN));
    expectHostRefused(await upgrade(t, EVIL));
  });

  it('serves the loopback names and the configured ones, any case, any port', async () => {
    const port = portOf(t);
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'LocalHost',
      `${CONFIGURED}:4711`,
      'GATEWAY.Example.ORG',
      `${CONFIGURED}.`,
    ]) {
      const answer = await graphql(t, host);
      expect(answer.status, host).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ data: { __typename: 'Query' } });
    }
    expect((await upgrade(t, `localhost:${port}`, `http://localhost:${port}`)).status).toBe(101);
    expect((await upgrade(t, `${CONFIGURED}:4711`, `http://${CONFIGURED}:4711`)).status).toBe(101);
  });

  it('refuses a rebinding Host between allowed ones (the last allowed Host is remembered, nothing else)', async () => {
    const allowed = `localhost:${portOf(t)}`;
    for (const host of [allowed, EVIL, allowed, `${allowed}.evil.example`, allowed, `${allowed}0`, 'LOCALHOST:1']) {
      const answer = await graphql(t, host);
      const expected = host === allowed || host === 'LOCALHOST:1' ? 200 : 403;
      expect(answer.status, host).toBe(expected);
    }
  });

  it('refuses a Host that is no host name, and a request without one', async () => {
    for (const host of ['127.0.0.1@rebind.evil.example', 'localhost:80/x', 'localhost:port', '[::1'])
      expectHostRefused(await graphql(t, host));
    const ending = await rawExchange(portOf(t), rawRequest(['GET /api/openapi.json HTTP/1.0']));
    expectHostRefused(parseResponse(ending.received));
  });

  it('answers the health probes whatever the Host: orchestrators send the pod address', async () => {
    for (const path of ['/health/live', '/health/ready', '/health'])
      expect((await plainRequest(portOf(t), path, { headers: { host: '10.1.2.3:4000' } })).status, path).toBe(200);
  });
});

describe('a gateway that requires credentials', () => {
  let t: TestGateway;
  let authorization: string;

  beforeAll(async () => {
    t = await startTestGateway({}, { AUTH_MODE: 'required' });
    ({ authorization } = await issueKey(t.db, 'ADMIN'));
  });

  afterAll(async () => {
    await t.stop();
  });

  it('serves HTTP whatever the Host: the credential protects it', async () => {
    const answer = await graphql(t, 'api.example.net', { authorization });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { __typename: 'Query' } });
    expect((await graphql(t, 'api.example.net')).status).toBe(401);
  });

  it('refuses a WebSocket whose Host is not allowed, before the upgrade', async () => {
    expectHostRefused(await upgrade(t, 'api.example.net'));
    expectHostRefused(await upgrade(t, EVIL, EVIL_ORIGIN));
    expect((await upgrade(t, `127.0.0.1:${portOf(t)}`)).status).toBe(101);
  });
});

describe('a gateway open until its first API key', () => {
  let t: TestGateway;

  beforeAll(async () => {
    // Loopback and nothing configured: open, until a key exists.
    t = await startTestGateway({}, { AUTH_MODE: 'auto', AUTH_KEY_CACHE_MS: '0' });
  });

  afterAll(async () => {
    await t.stop();
  });

  it('checks the Host while open, and stops checking HTTP once credentials are required', async () => {
    expectHostRefused(await graphql(t, EVIL, { origin: EVIL_ORIGIN }));
    const { authorization } = await issueKey(t.db, 'ADMIN');
    // The gateway notices the key within its recheck interval (1 s).
    const deadline = Date.now() + 10_000;
    while ((await graphql(t, 'localhost')).status !== 401 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await graphql(t, 'localhost')).status).toBe(401);
    expect((await graphql(t, 'api.example.net', { authorization })).status).toBe(200);
    expectHostRefused(await upgrade(t, 'api.example.net'));
  });
});

describe('host names as the check compares them', () => {
  it('drops the port and a final dot, lower-cases, and writes IPv6 the short way', () => {
    expect(hostName('LocalHost:4000')).toBe('localhost');
    expect(hostName('gateway.example.org.')).toBe('gateway.example.org');
    expect(hostName('[::1]:4000')).toBe('[::1]');
    expect(hostName('[0:0:0:0:0:0:0:1]')).toBe('[::1]');
    expect(hostName('10.0.0.5')).toBe('10.0.0.5');
  });

  it('is undefined for what is no host name', () => {
    for (const value of [undefined, '', 'a@b', 'a/b', 'a:b', '[::1', '[zz]', 'a b', '::1', 'a:123456'])
      expect(hostName(value), String(value)).toBeUndefined();
  });
});
