// Credentials at the edge: a gateway that requires them answers 401
// UNAUTHENTICATED to a missing, malformed, unknown, forged, revoked or
// replaced API key, and to a token that is expired, forged or meant for
// someone else, over HTTP, REST and WebSocket alike, and says nothing more.
// Secure by default: open only on loopback with nothing configured. A
// limited ADMIN does not exist: such a token is refused as a credential. What
// was wrong with a token is logged in fixed words, never quoting it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyStore } from '../../src/auth/api-keys.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway.js';
import { REQUEST_MESSAGE } from '../../src/http/request-log.js';
import { createLogger, type Logger } from '../../src/log.js';
import { issueKey, post, type TestKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { webSocketUrl } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { mintToken, signingKey, startIdentityProvider, type TestIdentityProvider } from '../helpers/tokens.js';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

const VIEWER = '{ viewer { id name roles serviceIds agent } }';

/** Log lines at warn level, to see what the gateway says at start. */
function warnings(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: { info: () => undefined, warn: (message) => lines.push(message), error: () => undefined },
  };
}

async function expectUnauthenticated(
  url: string,
  authorization: string | undefined,
  failure: 'missing' | 'invalid',
): Promise<void> {
  const { status, headers, body } = await post(url, VIEWER, authorization === undefined ? {} : { authorization });
  expect({ authorization, status }).toEqual({ authorization, status: 401 });
  expect(body.errors?.map((error) => error.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
  expect(body.data).toBeUndefined();
  // The same words for every bad credential: nothing tells a forged key from a revoked one.
  expect(body.errors?.[0]?.message).toBe(
    failure === 'missing'
      ? 'Authentication required: send Authorization: Bearer <API key or token>'
      : 'The credential was not accepted',
  );
  expect(headers.get('www-authenticate')).toBe(
    failure === 'missing'
      ? 'Bearer realm="fifo-case-gateway"'
      : 'Bearer realm="fifo-case-gateway", error="invalid_token"',
  );
}

/** How a WebSocket with this connection_init payload ends (close code), or 'ack'. */
async function connectionOutcome(url: string, payload: Record<string, unknown> | undefined): Promise<number | 'ack'> {
  const socket = new WebSocket(webSocketUrl(url), 'graphql-transport-ws');
  return new Promise((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) })));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type?: string };
      if (message.type === 'connection_ack') {
        socket.close();
        resolve('ack');
      }
    });
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}

describe('a gateway that requires credentials', () => {
  let t: TestGateway;
  let admin: TestKey;

  beforeAll(async () => {
    t = await startTestGateway({}, { AUTH_MODE: 'required', AUTH_KEY_CACHE_MS: '0' });
    admin = await issueKey(t.db, 'ADMIN');
  });
  afterAll(() => t.stop());

  it('answers a working key with its principal', async () => {
    const service = await given.service(t.db);
    const kiosk = await issueKey(t.db, 'KIOSK', [service.id]);
    const { status, body } = await post(t.gateway.url, VIEWER, { authorization: kiosk.authorization });
    expect(status).toBe(200);
    expect(body.data?.['viewer']).toEqual({
      id: `key:${kiosk.id}`,
      name: 'kiosk key',
      roles: ['KIOSK'],
      serviceIds: [service.id],
      agent: null,
    });
  });

  it('refuses a missing, malformed, unknown or forged credential with 401, the same way each time', async () => {
    await expectUnauthenticated(t.gateway.url, undefined, 'missing');
    await expectUnauthenticated(t.gateway.url, '', 'missing');
    const [, id = '', secret = ''] = /^fcq_([^_]+)_(.+)$/.exec(admin.secret) ?? [];
    const forged = `fcq_${id}_${secret.slice(0, -2)}${secret.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const authorization of [
      admin.secret, // no scheme
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'Bearer',
      'Bearer fcq_',
      `Bearer fcq_aaaaaaaaaaaa_${secret}`, // an id that does not exist
      `Bearer ${forged}`, // the right id, a made-up secret
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', // a token, and no identity provider configured
      `Bearer ${admin.secret} extra`,
    ])
      await expectUnauthenticated(t.gateway.url, authorization, 'invalid');
  });

  it('refuses a revoked key at once, and a rotated key’s old secret', async () => {
    const screen = await issueKey(t.db, 'SCREEN');
    expect((await post(t.gateway.url, VIEWER, { authorization: screen.authorization })).status).toBe(200);
    const rotated = await post(t.gateway.url, `mutation { rotateApiKey(id: "${screen.id}") { secret } }`, {
      authorization: admin.authorization,
    });
    const newSecret = (rotated.body.data?.['rotateApiKey'] as { secret: string }).secret;
    await expectUnauthenticated(t.gateway.url, screen.authorization, 'invalid');
    expect((await post(t.gateway.url, VIEWER, { authorization: `Bearer ${newSecret}` })).status).toBe(200);
    const revoked = await post(t.gateway.url, `mutation { revokeApiKey(id: "${screen.id}") { revokedAt } }`, {
      authorization: admin.authorization,
    });
    expect(revoked.body.errors ?? []).toEqual([]);
    await expectUnauthenticated(t.gateway.url, `Bearer ${newSecret}`, 'invalid');
  });

  it('refuses REST calls without a credential, and serves them with one of the right role', async () => {
    const service = await given.service(t.db);
    const body = JSON.stringify({ ServiceId: service.id, Subject: 'REST' });
    const enqueue = (authorization?: string) =>
      fetch(new URL('/api/Cases', t.gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body,
      });
    const anonymous = await enqueue();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="fifo-case-gateway"');
    // In the REST API's own error shape.
    expect(await anonymous.json()).toMatchObject({ Code: 'UNAUTHENTICATED' });
    const screen = await issueKey(t.db, 'SCREEN');
    const forbidden = await enqueue(screen.authorization);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { Code?: string }).Code).toBe('FORBIDDEN');
    const kiosk = await issueKey(t.db, 'KIOSK');
    const accepted = await enqueue(kiosk.authorization);
    expect(accepted.status).toBe(200);
    const created = (await accepted.json()) as { CaseId: number };
    // Reading the stored case back (with its subject) is for agents.
    const read = (authorization: string) =>
      fetch(new URL(`/api/Cases/${created.CaseId}`, t.gateway.url), { headers: { authorization } });
    expect((await read(kiosk.authorization)).status).toBe(403);
    expect((await read(admin.authorization)).status).toBe(200);
  });

  it('takes the WebSocket credential from connection_init, or from the upgrade request', async () => {
    expect(await connectionOutcome(t.gateway.url, undefined)).toBe(4401);
    expect(await connectionOutcome(t.gateway.url, { authorization: 'Bearer fcq_aaaaaaaaaaaa_x' })).toBe(4401);
    expect(await connectionOutcome(t.gateway.url, { authorization: admin.authorization })).toBe('ack');
    const withHeader = new WebSocket(webSocketUrl(t.gateway.url), 'graphql-transport-ws', {
      headers: { authorization: admin.authorization },
    });
    const outcome = await new Promise<string | number>((resolve, reject) => {
      withHeader.on('open', () => withHeader.send(JSON.stringify({ type: 'connection_init' })));
      withHeader.on('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { type?: string }).type === 'connection_ack') {
          withHeader.close();
          resolve('ack');
        }
      });
      withHeader.on('close', (code) => resolve(code));
      withHeader.on('error', reject);
    });
    expect(outcome).toBe('ack');
  });

  it('still serves the probes and the explorer page without a credential', async () => {
    const base = new URL(t.gateway.url);
    expect((await fetch(new URL('/health/live', base))).status).toBe(200);
    expect((await fetch(new URL('/health/ready', base))).status).toBe(200);
    const page = await fetch(t.gateway.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe("people's tokens from the identity provider", () => {
  let idp: TestIdentityProvider;
  let t: TestGateway;
  let serviceId: number;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    t = await startTestGateway({}, { ...idp.env, AUTH_MODE: 'auto' });
    serviceId = (await given.service(t.db)).id;
  });
  afterAll(async () => {
    await t.stop();
    await idp.close();
  });

  it('credentials configured: the gateway requires them, and a valid token is its person', async () => {
    expect((await post(t.gateway.url, VIEWER)).status).toBe(401);
    const token = await idp.mint({ sub: 'u-17', name: 'Aroha', roles: ['agent'], services: [serviceId] });
    const { status, body } = await post(t.gateway.url, VIEWER, { authorization: `Bearer ${token}` });
    expect(status).toBe(200);
    expect(body.data?.['viewer']).toEqual({
      id: 'user:u-17',
      name: 'Aroha',
      roles: ['AGENT'],
      serviceIds: [serviceId],
      agent: 'Aroha',
    });
  });

  it('refuses expired, not yet valid, forged, foreign and wrongly addressed tokens with 401', async () => {
    const stranger = await signingKey('RS256', idp.keys[0]?.kid);
    for (const [what, token] of [
      ['expired', await idp.mint({ roles: ['admin'], expiresInSeconds: -120 })],
      ['not yet valid', await idp.mint({ roles: ['admin'], notBeforeSeconds: 600 })],
      ['wrong audience', await idp.mint({ roles: ['admin'], audience: 'some-other-api' })],
      ['wrong issuer', await idp.mint({ roles: ['admin'], issuer: 'https://evil.example' })],
      ['forged: same kid, another key', await mintToken(stranger, { roles: ['admin'] })],
      ['no expiry', await idp.mint({ roles: ['admin'], expiresInSeconds: null })],
    ] as const) {
      const { status, body } = await post(t.gateway.url, VIEWER, { authorization: `Bearer ${token}` });
      expect({ what, status, codes: body.errors?.map((error) => error.extensions?.['code']) }).toEqual({
        what,
        status: 401,
        codes: ['UNAUTHENTICATED'],
      });
    }
  });

  it("an agent's name comes from the token: history records it, and another name is refused", async () => {
    const token = await idp.mint({ sub: 'u-18', name: 'Mere', roles: ['AGENT'] });
    const authorization = `Bearer ${token}`;
    const waiting = await given.waitingCase(t.db, { serviceId });
    const called = await post(
      t.gateway.url,
      `mutation { callCase(input: { caseId: ${waiting.id} }) { lastAgent history { agent actor } } }`,
      { authorization },
    );
    expect(called.body.errors ?? []).toEqual([]);
    expect(called.body.data?.['callCase']).toMatchObject({
      lastAgent: 'Mere',
      history: [{ agent: null }, { agent: 'Mere', actor: 'user:u-18' }],
    });
    const impostor = await post(
      t.gateway.url,
      `mutation { completeCase(input: { caseId: ${waiting.id}, agent: "Someone Else" }) { id } }`,
      { authorization },
    );
    expect(impostor.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'agent',
      rule: 'matchesCredential',
    });
  });

  it('a person whose token maps to no role is authenticated but may do nothing', async () => {
    const token = await idp.mint({ roles: ['visitor'] });
    const { status, body } = await post(t.gateway.url, '{ services { id } }', { authorization: `Bearer ${token}` });
    expect(status).toBe(403);
    expect(body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });
});

describe('tokens an attacker shaped', () => {
  let idp: TestIdentityProvider;
  let t: TestGateway;
  let serviceId: number;
  const written: string[] = [];

  beforeAll(async () => {
    idp = await startIdentityProvider();
    const log = createLogger({ level: 'info', destination: { write: (line: string) => void written.push(line) } });
    t = await startTestGateway({}, { ...idp.env, AUTH_MODE: 'required' }, log);
    serviceId = (await given.service(t.db)).id;
  });
  afterAll(async () => {
    await t.stop();
    await idp.close();
  });

  /** The reasons the log gives for refused credentials. */
  const refusedReasons = (): unknown[] =>
    written
      .map((line) => JSON.parse(line) as { msg?: string; reason?: unknown })
      .filter((line) => line.msg === 'credential refused')
      .map((line) => line.reason);

  it('refuses an ADMIN limited to services everywhere: key management, service administration, reads, WebSocket', async () => {
    const limitedAdmin = `Bearer ${await idp.mint({ sub: 'u-limited', roles: ['ADMIN'], services: [serviceId] })}`;
    const key = await issueKey(t.db, 'SCREEN');
    const before = refusedReasons().length;
    for (const document of [
      'mutation { createApiKey(input: { name: "escape", role: ADMIN }) { secret } }',
      `mutation { createApiKey(input: { name: "escape", role: AGENT, serviceIds: [${serviceId}] }) { secret } }`,
      `mutation { updateService(id: ${serviceId}, input: { name: "renamed" }) { id } }`,
      `mutation { rotateApiKey(id: "${key.id}") { secret } }`,
      `mutation { revokeApiKey(id: "${key.id}") { revokedAt } }`,
      '{ apiKeys { id } }',
      '{ services { id } }',
      VIEWER,
    ]) {
      const { status, body } = await post(t.gateway.url, document, { authorization: limitedAdmin });
      expect({ document, status, codes: body.errors?.map((error) => error.extensions?.['code']) }).toEqual({
        document,
        status: 401,
        codes: ['UNAUTHENTICATED'],
      });
    }
    expect(await connectionOutcome(t.gateway.url, { authorization: limitedAdmin })).toBe(4401);
    const reasons = refusedReasons().slice(before);
    expect(reasons.length).toBeGreaterThanOrEqual(9);
    expect(new Set(reasons)).toEqual(new Set(['token: ADMIN cannot be limited to services']));
    // Nothing changed: no key made, the key kept its secret, the service its name.
    expect(await t.db.apiKey.count()).toBe(1);
    expect((await t.db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).rotatedAt).toBeNull();
    expect((await t.db.service.findUniqueOrThrow({ where: { id: serviceId } })).name).not.toBe('renamed');
    // The same person, unlimited, is an ADMIN; limited, an AGENT is fine.
    const admin = `Bearer ${await idp.mint({ sub: 'u-limited', roles: ['ADMIN'] })}`;
    expect((await post(t.gateway.url, '{ apiKeys { id } }', { authorization: admin })).status).toBe(200);
    const agent = `Bearer ${await idp.mint({ roles: ['AGENT'], services: [serviceId] })}`;
    expect((await post(t.gateway.url, VIEWER, { authorization: agent })).status).toBe(200);
  });

  it("never writes a token's crit header (or any text of the token) to the log", async () => {
    const planted = 'Jane_Doe_SSN_123456789\ninjected';
    const [key] = idp.keys;
    const token = await new SignJWT({ sub: 'u-crit', roles: ['AGENT'] })
      .setProtectedHeader({ alg: key!.alg, kid: key!.kid, crit: [planted], [planted]: 'x' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .sign(key!.privateKey, { crit: { [planted]: true } });
    const before = refusedReasons().length;
    await expectUnauthenticated(t.gateway.url, `Bearer ${token}`, 'invalid');
    expect(await connectionOutcome(t.gateway.url, { authorization: `Bearer ${token}` })).toBe(4401);
    expect(refusedReasons().slice(before)).toEqual([
      'token: unsupported header (an unknown "crit" extension, or an algorithm no key supports)',
      'token: unsupported header (an unknown "crit" extension, or an algorithm no key supports)',
    ]);
    const log = written.join('');
    for (const part of ['Jane_Doe', 'SSN_123456789', 'injected']) expect(log).not.toContain(part);
  });
});

describe('secure by default', () => {
  it('runs open on loopback with nothing configured, and says so loudly', async () => {
    const { log, lines } = warnings();
    const t = await startTestGateway({}, { AUTH_MODE: 'auto', AUTH_KEY_CACHE_MS: '0' }, log);
    try {
      const { status, body } = await post(t.gateway.url, VIEWER);
      expect(status).toBe(200);
      expect(body.data?.['viewer']).toMatchObject({ id: 'open', roles: ['KIOSK', 'SCREEN', 'AGENT', 'ADMIN'] });
      expect(lines.join('\n')).toMatch(/RUNNING OPEN/);
      // A credential sent to an open gateway is still checked: roles can be tried out locally.
      await expectUnauthenticated(t.gateway.url, 'Bearer fcq_aaaaaaaaaaaa_nothing', 'invalid');
      // The first key ends open access (within a second here; AUTH_KEY_CACHE_MS, at least 1 s, by default).
      const made = await post(
        t.gateway.url,
        'mutation { createApiKey(input: { name: "first", role: ADMIN }) { secret } }',
      );
      const secret = (made.body.data?.['createApiKey'] as { secret: string }).secret;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await expectUnauthenticated(t.gateway.url, undefined, 'missing');
      expect(lines.join('\n')).toMatch(/credentials are required from now on/);
      expect((await post(t.gateway.url, VIEWER, { authorization: `Bearer ${secret}` })).status).toBe(200);
      const screen = await issueKey(t.db, 'SCREEN');
      const asScreen = await post(t.gateway.url, '{ apiKeys { id } }', { authorization: screen.authorization });
      expect(asScreen.status).toBe(403);
    } finally {
      await t.stop();
    }
  });

  it('refuses to start open on an address other machines can reach, unless told to', async () => {
    const t = await startTestGateway();
    try {
      const base = { DATABASE_URL: t.gateway.databaseUrl, PORT: '0', HOST: '0.0.0.0' };
      // The test gateway's database has no key yet.
      await expect(startGateway(loadConfig(base), warnings().log)).rejects.toThrow(ConfigError);
      await expect(startGateway(loadConfig(base), warnings().log)).rejects.toThrow(/AUTH_MODE=open/);
      const told = warnings();
      const open = await startGateway(loadConfig({ ...base, AUTH_MODE: 'open' }), told.log);
      try {
        expect(told.lines.join('\n')).toMatch(/RUNNING OPEN.*AUTH_MODE=open/);
        expect((await post(open.url, VIEWER)).status).toBe(200);
      } finally {
        await open.stop();
      }
      // Once a key exists, the same settings start a gateway that requires credentials.
      await createApiKeyStore(t.db, { cacheMs: 0 }).create(
        { name: 'first admin', role: 'ADMIN' },
        { id: 'test', agent: null, services: null },
      );
      const secured = await startGateway(loadConfig(base), warnings().log);
      try {
        expect((await post(secured.url, VIEWER)).status).toBe(401);
      } finally {
        await secured.stop();
      }
    } finally {
      await t.stop();
    }
  });

  it('names the principal in the request log, never the secret', async () => {
    const written: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (line: string) => void written.push(line) } });
    const t = await startTestGateway({}, { AUTH_MODE: 'required' }, log);
    let stopped = false;
    try {
      const kiosk = await issueKey(t.db, 'KIOSK');
      expect((await post(t.gateway.url, VIEWER, { authorization: kiosk.authorization })).status).toBe(200);
      expect((await post(t.gateway.url, VIEWER, { authorization: `${kiosk.authorization}x` })).status).toBe(401);
      // Stopping waits for every answer, so every request's line is written.
      await t.stop();
      stopped = true;
      const requests = written
        .map((line) => JSON.parse(line) as { msg?: string; principal?: string; outcome?: string; status?: number })
        .filter((line) => line.msg === REQUEST_MESSAGE);
      expect(requests.map(({ principal, outcome, status }) => ({ principal, outcome, status }))).toEqual([
        { principal: `key:${kiosk.id}`, outcome: 'OK', status: 200 },
        { principal: 'anonymous', outcome: 'UNAUTHENTICATED', status: 401 },
      ]);
      expect(written.join('\n')).not.toContain(kiosk.secret.slice(17));
    } finally {
      if (!stopped) await t.stop();
    }
  });
});
