// Credentials where they live long (issue 17.2): a WebSocket's principal was
// taken once at connection_init, so a revoked key or an expired token kept
// streaming and could start new subscriptions. Now a revocation (or rotation)
// closes the key's sockets with 4403 within a second on every gateway process
// of the database (the gateways here cache keys for a minute, so only the
// notification can do it), a token's expiry closes its socket with 4401, and
// a database that cannot answer for a credential closes nothing.
import { print } from 'graphql';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Principal } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config.js';
import { KEY_CHANGES_CHANNEL, LISTENER_APPLICATION_NAME } from '../../src/db/change-listener.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { EnqueueCaseDocument, FollowQueueDocument } from '../../src/generated/operations/graphql.js';
import type { Refusal } from '../../src/http/admission.js';
import {
  CLOSE_REVOKED,
  CLOSE_UNAUTHORIZED,
  createSocketCredentials,
  type CredentialSocket,
} from '../../src/http/socket-credentials.js';
import { silentLogger } from '../../src/log.js';
import { issueKey, post } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { expectData } from '../helpers/graphql-client.js';
import { webSocketUrl } from '../helpers/live-client.js';
import { lockWaiters, whileHolding } from '../helpers/locks.js';
import { startTestGateway, TEST_CLIENTS, type TestGateway } from '../helpers/test-gateway.js';
import { startIdentityProvider } from '../helpers/tokens.js';

const FOLLOW_QUEUE = print(FollowQueueDocument);
/** Long enough that only a notification can make a gateway forget a key within the tests. */
const LONG_CACHE = { AUTH_KEY_CACHE_MS: '60000' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ServerMessage {
  readonly type: string;
  readonly id?: string;
  readonly payload?: unknown;
}

interface Closed {
  readonly code: number;
  readonly reason: string;
  /** performance.now() when the close arrived. */
  readonly at: number;
}

/** A graphql-transport-ws socket spoken by hand, so a test sees every message and the close code. */
interface RawSocket {
  subscribe(id: string, variables: Readonly<Record<string, unknown>>): void;
  /** The next message for this subscription id; fails after `timeoutMs` or once the socket is closed. */
  next(id: string, timeoutMs?: number): Promise<ServerMessage>;
  /** Every message received for this id so far. */
  received(id: string): readonly ServerMessage[];
  readonly closed: Promise<Closed>;
  close(): void;
}

/** Opens a socket and sends connection_init; resolves at connection_ack, rejects with the close code otherwise. */
function openSocket(url: string, authorization: string): Promise<RawSocket> {
  const socket = new WebSocket(webSocketUrl(url), 'graphql-transport-ws');
  /** Messages not taken by `next` yet, and every message. */
  const unread: ServerMessage[] = [];
  const all: ServerMessage[] = [];
  let wake: (() => void) | undefined;
  let closedWith: Closed | undefined;
  const closed = new Promise<Closed>((resolve) =>
    socket.on('close', (code, reason) => {
      closedWith = { code, reason: reason.toString(), at: performance.now() };
      resolve(closedWith);
      wake?.();
    }),
  );
  const raw: RawSocket = {
    subscribe: (id, variables) =>
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: FOLLOW_QUEUE, variables } })),
    async next(id, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = unread.findIndex((message) => message.id === id);
        const found = unread[index];
        if (found) {
          unread.splice(index, 1);
          return found;
        }
        if (closedWith) throw new Error(`socket closed ${closedWith.code} with nothing more for ${id}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`nothing for ${id} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    received: (id) => all.filter((message) => message.id === id),
    closed,
    close: () => socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as ServerMessage;
      if (message.type === 'connection_ack') return resolve(raw);
      if (message.type === 'ping') return socket.send(JSON.stringify({ type: 'pong' }));
      unread.push(message);
      all.push(message);
      wake?.();
    });
    socket.on('error', reject);
    void closed.then((close) => reject(new Error(`closed ${close.code} before connection_ack`)));
  });
}

/** The close code of a connection refused at connection_init. */
async function refusedWith(url: string, authorization: string): Promise<number> {
  try {
    const socket = await openSocket(url, authorization);
    socket.close();
    return 0;
  } catch (error) {
    const code = /closed (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    return Number(code ?? -1);
  }
}

/** Waits for the subscription's first state, which it sends at once. */
async function firstState(socket: RawSocket, id: string): Promise<void> {
  const message = await socket.next(id);
  expect(message.type).toBe('next');
  expect(typeof waitingCount(message)).toBe('number');
}

const waitingCount = (message: ServerMessage): unknown =>
  (message.payload as { data?: { queueChanged?: { waitingCount?: number } } }).data?.queueChanged?.waitingCount;

const revoke = (t: TestGateway, id: string) =>
  post(t.gateway.url, `mutation { revokeApiKey(id: "${id}") { revokedAt } }`);
const rotate = (t: TestGateway, id: string) => post(t.gateway.url, `mutation { rotateApiKey(id: "${id}") { secret } }`);

describe('a key revoked while its WebSocket is open', () => {
  let t: TestGateway;
  let other: Gateway;

  beforeAll(async () => {
    t = await startTestGateway({}, LONG_CACHE);
    // A second gateway process on the same database, as behind a load balancer.
    other = await startGateway(
      loadConfig({ DATABASE_URL: t.gateway.databaseUrl, PORT: '0', AUTH_MODE: 'open', ...TEST_CLIENTS, ...LONG_CACHE }),
      silentLogger,
    );
  });
  afterAll(async () => {
    await other.stop();
    await t.stop();
  });

  it('streams until the revocation, then is closed with 4403 and starts nothing more', async () => {
    const key = await issueKey(t.db, 'SCREEN');
    const serviceId = (await given.service(t.db)).id;
    const socket = await openSocket(t.gateway.url, key.authorization);
    socket.subscribe('before', { serviceId, first: 5 });
    await firstState(socket, 'before');
    expectData(await t.request(EnqueueCaseDocument, { input: { serviceId } }));
    expect(waitingCount(await socket.next('before'))).toBe(1);

    const revoked = await revoke(t, key.id);
    const revokedAt = performance.now();
    expect(revoked.body.errors ?? []).toEqual([]);
    // Sent after the revocation committed: refused, though the key's check is
    // recent and the gateway caches keys for a minute.
    socket.subscribe('after', { serviceId, first: 5 });
    const closed = await socket.closed;
    expect(closed).toMatchObject({ code: CLOSE_REVOKED, reason: 'The credential is no longer accepted' });
    expect(closed.at - revokedAt).toBeLessThan(1_000);
    expect(socket.received('after').filter((message) => message.type === 'next')).toEqual([]);
    // And a new connection with it is refused at connection_init.
    expect(await refusedWith(t.gateway.url, key.authorization)).toBe(CLOSE_UNAUTHORIZED);
  });

  it('is closed within a second on another gateway process, which then refuses the key over HTTP too', async () => {
    const key = await issueKey(t.db, 'SCREEN');
    const serviceId = (await given.service(t.db)).id;
    const socket = await openSocket(other.url, key.authorization);
    socket.subscribe('1', { serviceId, first: 5 });
    await firstState(socket, '1');
    // The other process has the key cached now, for a minute.
    expect((await post(other.url, '{ viewer { id } }', { authorization: key.authorization })).status).toBe(200);

    const revoked = await revoke(t, key.id);
    const revokedAt = performance.now();
    expect(revoked.body.errors ?? []).toEqual([]);
    const closed = await socket.closed;
    expect(closed.code).toBe(CLOSE_REVOKED);
    expect(closed.at - revokedAt).toBeLessThan(1_000);
    expect((await post(other.url, '{ viewer { id } }', { authorization: key.authorization })).status).toBe(401);
  });

  it('is closed on every process when the key is rotated: the old secret stops working', async () => {
    const key = await issueKey(t.db, 'AGENT');
    const serviceId = (await given.service(t.db)).id;
    const here = await openSocket(t.gateway.url, key.authorization);
    const there = await openSocket(other.url, key.authorization);
    here.subscribe('1', { serviceId });
    there.subscribe('1', { serviceId });
    await Promise.all([firstState(here, '1'), firstState(there, '1')]);

    const rotated = await rotate(t, key.id);
    const rotatedAt = performance.now();
    expect(rotated.body.errors ?? []).toEqual([]);
    const closes = await Promise.all([here.closed, there.closed]);
    expect(closes.map((close) => close.code)).toEqual([CLOSE_REVOKED, CLOSE_REVOKED]);
    for (const close of closes) expect(close.at - rotatedAt).toBeLessThan(1_000);
    const secret = (rotated.body.data?.['rotateApiKey'] as { secret: string }).secret;
    const renewed = await openSocket(other.url, `Bearer ${secret}`);
    renewed.subscribe('1', { serviceId });
    await firstState(renewed, '1');
    renewed.close();
  });

  it('after a revocation the listener missed (it was reconnecting), checks every key and socket again', async () => {
    const key = await issueKey(t.db, 'SCREEN');
    const serviceId = (await given.service(t.db)).id;
    const socket = await openSocket(other.url, key.authorization);
    socket.subscribe('1', { serviceId, first: 5 });
    await firstState(socket, '1');
    const viewer = () => post(other.url, '{ viewer { id } }', { authorization: key.authorization });
    expect((await viewer()).status).toBe(200);
    // Revoked (as the store does it) while every gateway's listener is gone: nobody hears it.
    const revoker = await t.sql.connect();
    try {
      await revoker.query('BEGIN');
      await revoker.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [key.id]);
      await revoker.query('SELECT pg_notify($1, $2)', [KEY_CHANGES_CHANNEL, key.id]);
      const { rows } = await revoker.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity
          WHERE application_name = $1 AND datname = current_database()`,
        [LISTENER_APPLICATION_NAME],
      );
      expect(rows.map((row) => row.ended)).toEqual([true, true]);
      // Committed before a listener can be back (each waits 100 ms before reconnecting).
      await revoker.query('COMMIT');
    } finally {
      revoker.release();
    }
    // Back, the other process forgot its cached keys (it caches them for a minute)...
    await expect.poll(async () => (await viewer()).status, { interval: 100, timeout: 10_000 }).toBe(401);
    // ...and checks the socket at its next subscription, which is never started.
    socket.subscribe('2', { serviceId, first: 5 });
    expect((await socket.closed).code).toBe(CLOSE_REVOKED);
    expect(socket.received('2').filter((message) => message.type === 'next')).toEqual([]);
  });

  it('leaves the sockets of other keys open', async () => {
    const kept = await issueKey(t.db, 'SCREEN');
    const gone = await issueKey(t.db, 'SCREEN');
    const serviceId = (await given.service(t.db)).id;
    const keptSocket = await openSocket(other.url, kept.authorization);
    const goneSocket = await openSocket(other.url, gone.authorization);
    keptSocket.subscribe('1', { serviceId, first: 5 });
    goneSocket.subscribe('1', { serviceId, first: 5 });
    await Promise.all([firstState(keptSocket, '1'), firstState(goneSocket, '1')]);
    await revoke(t, gone.id);
    expect((await goneSocket.closed).code).toBe(CLOSE_REVOKED);
    expectData(await t.request(EnqueueCaseDocument, { input: { serviceId } }));
    expect(waitingCount(await keptSocket.next('1'))).toBe(1);
    keptSocket.close();
  });
});

describe('a token that expires while its WebSocket is open', () => {
  it('closes the socket with 4401 when the token expires, not before', async () => {
    const idp = await startIdentityProvider();
    // No clock tolerance, so the token stops being accepted exactly at `exp`.
    const t = await startTestGateway({}, { ...idp.env, AUTH_JWT_CLOCK_TOLERANCE_S: '0' });
    try {
      const serviceId = (await given.service(t.db)).id;
      const token = await idp.mint({ roles: ['screen'], expiresInSeconds: 2 });
      const expiresAt = (decodeJwt(token).exp ?? 0) * 1000;
      const socket = await openSocket(t.gateway.url, `Bearer ${token}`);
      socket.subscribe('1', { serviceId, first: 5 });
      await firstState(socket, '1');
      const closed = await socket.closed;
      const closedAt = Date.now() - (performance.now() - closed.at);
      expect(closed).toMatchObject({ code: CLOSE_UNAUTHORIZED, reason: 'The credential has expired' });
      expect(closedAt).toBeGreaterThanOrEqual(expiresAt - 20);
      expect(closedAt).toBeLessThan(expiresAt + 1_000);
    } finally {
      await t.stop();
      await idp.close();
    }
  });
});

describe('a database that cannot answer for a credential', () => {
  it('closes no socket: subscriptions go on, and new ones start', async () => {
    // Keys are read on every check, and a read waits at most 200 ms for a lock.
    const t = await startTestGateway({}, { AUTH_KEY_CACHE_MS: '0', DATABASE_LOCK_TIMEOUT_MS: '200' });
    try {
      const key = await issueKey(t.db, 'SCREEN');
      const serviceId = (await given.service(t.db)).id;
      const socket = await openSocket(t.gateway.url, key.authorization);
      socket.subscribe('1', { serviceId, first: 5 });
      await firstState(socket, '1');
      await whileHolding(t.sql, 'LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE', [], async (release) => {
        // The key cannot be looked up: HTTP answers 503, not 401.
        expect((await post(t.gateway.url, '{ viewer { id } }', { authorization: key.authorization })).status).toBe(503);
        // The socket's background check (every second here) waits for the lock and fails the same way,
        // and again after it.
        await lockWaiters(t.sql, 1);
        await sleep(2_500);
        // A new subscription is checked too, cannot be, and starts anyway.
        socket.subscribe('2', { serviceId, first: 5 });
        await firstState(socket, '2');
        expectData(await t.request(EnqueueCaseDocument, { input: { serviceId } }));
        expect(waitingCount(await socket.next('1'))).toBe(1);
        await release();
      });
      // Answering again: the key still works, and the socket was never closed.
      await sleep(1_200);
      expectData(await t.request(EnqueueCaseDocument, { input: { serviceId } }));
      expect(waitingCount(await socket.next('1'))).toBe(2);
      socket.close();
      expect((await socket.closed).code).toBe(1005);
    } finally {
      await t.stop();
    }
  });
});

// The module on its own, with a stand-in for admission.recheck and sockets
// that record their close: what is checked when, and which answers close.
describe('socket credentials, alone', () => {
  const principal = (overrides: Partial<Principal> = {}): Principal => ({
    id: 'key:abc',
    kind: 'api-key',
    name: 'screen',
    roles: new Set(['SCREEN']),
    agent: null,
    services: null,
    ...overrides,
  });
  const fakeSocket = (): CredentialSocket & { closes: number[] } => {
    const closes: number[] = [];
    return { closes, close: (code) => void closes.push(code) };
  };
  const setup = (answer: () => Principal | Refusal, recheckMs = 60_000) => {
    let checks = 0;
    const credentials = createSocketCredentials({
      recheck: () => {
        checks += 1;
        return Promise.resolve(answer());
      },
      recheckMs,
      log: silentLogger,
    });
    return { credentials, checks: () => checks };
  };

  it('checks again only when due: recheckMs passed, or a revocation heard', async () => {
    const admitted = principal();
    const { credentials, checks } = setup(() => admitted);
    const socket = fakeSocket();
    credentials.watch(socket, 'Bearer fcq_x', admitted);
    expect(await credentials.current(socket)).toBe(admitted);
    expect(checks()).toBe(0);
    credentials.revoked('key:other');
    expect(await credentials.current(socket)).toBe(admitted);
    expect(checks()).toBe(0);
    credentials.revoked('key:abc');
    expect(await credentials.current(socket)).toEqual(admitted);
    // The revocation's own check, shared by the subscribe that came during it.
    expect(checks()).toBe(1);
    credentials.revokedAny();
    await credentials.current(socket);
    expect(checks()).toBe(2);
    credentials.stop();
  });

  it('closes 4403 for a credential no longer accepted, 4401 for one now missing, and keeps it for 503 and 429', async () => {
    const cases: [Refusal, number | undefined][] = [
      [{ status: 401, failure: 'invalid' }, CLOSE_REVOKED],
      [{ status: 401, failure: 'missing' }, CLOSE_UNAUTHORIZED],
      [{ status: 503 }, undefined],
      [{ status: 429, retryAfterSeconds: 3, limit: 10 }, undefined],
    ];
    for (const [refusal, code] of cases) {
      const admitted = principal();
      const { credentials } = setup(() => refusal, 0);
      const socket = fakeSocket();
      credentials.watch(socket, 'Bearer fcq_x', admitted);
      const answer = await credentials.current(socket);
      expect({ refusal, closes: socket.closes }).toEqual({ refusal, closes: code === undefined ? [] : [code] });
      if (code === undefined) expect(answer).toBe(admitted);
      else expect(answer).toMatchObject({ code });
      // Once closed, a subscribe racing the close gets the same answer, without asking again.
      if (code !== undefined) expect(await credentials.current(socket)).toMatchObject({ code });
      credentials.stop();
    }
  });

  it('closes an expired credential with 4401 without asking, and a socket never watched', async () => {
    const { credentials, checks } = setup(() => principal());
    const expired = fakeSocket();
    credentials.watch(expired, 'Bearer x.y.z', principal({ id: 'user:u', kind: 'user', expiresAt: Date.now() - 1 }));
    expect(await credentials.current(expired)).toMatchObject({ code: CLOSE_UNAUTHORIZED });
    expect(expired.closes).toEqual([CLOSE_UNAUTHORIZED]);
    expect(checks()).toBe(0);
    const stranger = fakeSocket();
    expect(await credentials.current(stranger)).toMatchObject({ code: CLOSE_UNAUTHORIZED });
    credentials.stop();
  });

  it('closes at expiry even when its timer fires a little before it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { credentials } = setup(() => principal());
      const socket = fakeSocket();
      credentials.watch(socket, 'Bearer x.y.z', principal({ id: 'user:u', kind: 'user', expiresAt: Date.now() + 150 }));
      // Timers count on the event loop's monotonic clock, in whole milliseconds,
      // and expiry on Date.now(): here the wall clock runs 5 ms behind the timers'.
      vi.setSystemTime(Date.now() - 5);
      await vi.advanceTimersByTimeAsync(150);
      await vi.advanceTimersByTimeAsync(10);
      expect(socket.closes).toEqual([CLOSE_UNAUTHORIZED]);
      credentials.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('closes at expiry by itself, and not once forgotten', async () => {
    const { credentials } = setup(() => principal());
    const watched = fakeSocket();
    const forgotten = fakeSocket();
    const soon = principal({ id: 'user:u', kind: 'user', expiresAt: Date.now() + 150 });
    credentials.watch(watched, 'Bearer x.y.z', soon);
    credentials.watch(forgotten, 'Bearer x.y.z', soon);
    credentials.forget(forgotten);
    await sleep(300);
    expect(watched.closes).toEqual([CLOSE_UNAUTHORIZED]);
    expect(forgotten.closes).toEqual([]);
    credentials.stop();
  });
});
