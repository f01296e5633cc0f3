// Live queues over WebSocket (graphql-ws): the current state first, then
// every change, on every gateway of the database; positions counting down;
// one read per change however many follow; bad subscriptions refused.
import type { ClientRequestArgs } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import pg from 'pg';
import { CHANGES_CHANNEL, FOLLOW_LOCK_NAMESPACE, LISTENER_APPLICATION_NAME } from '../../src/db/change-listener.js';
import {
  CallNextDocument,
  CompleteCaseDocument,
  EnqueueCaseDocument,
  FollowCaseDocument,
  FollowQueueDocument,
  ServiceDocument,
} from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData } from '../helpers/graphql-client.js';
import { liveClient, webSocketUrl, type LiveClient } from '../helpers/live-client.js';
import { gatewayGroup, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const STATE_READ = '/* live: service state */';
let t: TestGateway;
let stateReads = 0;
let live: LiveClient;

beforeAll(async () => {
  t = await startTestGateway({
    onQuery: ({ sql }) => {
      if (sql.startsWith(STATE_READ)) stateReads += 1;
    },
  });
  live = liveClient(t.gateway.url);
});

afterAll(async () => {
  await live.close();
  await t.stop();
});

const callNext = async (serviceId: number, agent: string) =>
  expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent } })).callNext;

describe('a kiosk following its case', () => {
  it('sees its position count down to its call, then its completion, and the subscription ends', async () => {
    const serviceId = (await given.service(t.db, { queueCode: 'K' })).id;
    await given.waitingCase(t.db, { serviceId });
    await given.waitingCase(t.db, { serviceId });
    const mine = expectData(await t.request(EnqueueCaseDocument, { input: { serviceId, subject: 'x' } })).enqueueCase;

    const follow = live.subscribe(FollowCaseDocument, { caseId: mine.caseId });
    const first = await follow.until(() => true);
    expect(first.caseChanged).toMatchObject({
      caseId: mine.caseId,
      ticket: 'K003',
      serviceId,
      status: 'WAITING',
      lastAction: 'ENQUEUE',
      position: 3,
      // The service was never served: no estimate.
      estimatedWaitSeconds: null,
      estimatedWaitRange: null,
    });

    await callNext(serviceId, 'desk-1');
    const second = await follow.until(() => true);
    // One call and no case closed yet: the pace is still unknown (test/queue/wait-estimates.test.ts
    // follows estimates live on a service with a past).
    expect(second.caseChanged).toMatchObject({ status: 'WAITING', position: 2, estimatedWaitSeconds: null });

    await callNext(serviceId, 'desk-2');
    expect((await follow.until(() => true)).caseChanged).toMatchObject({ position: 1, estimatedWaitSeconds: null });

    await callNext(serviceId, 'desk-3');
    expect((await follow.until(() => true)).caseChanged).toMatchObject({
      status: 'IN_SERVICE',
      lastAction: 'CALL_NEXT',
      lastAgent: 'desk-3',
      position: null,
      estimatedWaitSeconds: null,
    });

    expectData(await t.request(CompleteCaseDocument, { input: { caseId: mine.caseId, agent: 'desk-3' } }));
    const closed = await follow.until(() => true);
    expect(closed.caseChanged).toMatchObject({ status: 'COMPLETED', lastAction: 'COMPLETE' });
    expect(closed.caseChanged.closedAt).not.toBeNull();
    await follow.completed;
    expect(follow.queued()).toBe(0);
  });

  it('is told nothing when only cases behind it change', async () => {
    const serviceId = (await given.service(t.db)).id;
    const mine = await given.waitingCase(t.db, { serviceId });
    const follow = live.subscribe(FollowCaseDocument, { caseId: mine.id });
    expect((await follow.until(() => true)).caseChanged.position).toBe(1);
    for (let index = 0; index < 3; index += 1) await given.waitingCase(t.db, { serviceId });
    // Behind it, three enqueues; then the case itself is called: the next update is the call.
    await callNext(serviceId, 'desk-9');
    expect((await follow.until(() => true)).caseChanged).toMatchObject({ status: 'IN_SERVICE', lastAgent: 'desk-9' });
    follow.stop();
  });
});

describe('a screen following a queue', () => {
  it('gets the state first, then each change with what happened', async () => {
    const serviceId = (await given.service(t.db, { queueCode: 'S' })).id;
    const waiting = await given.waitingCase(t.db, { serviceId });
    const screen = live.subscribe(FollowQueueDocument, { serviceId, first: 5 });
    const first = (await screen.until(() => true)).queueChanged;
    expect(first).toMatchObject({
      serviceId,
      changes: [],
      changesOmitted: 0,
      waitingCount: 1,
      waiting: [{ caseId: waiting.id, ticket: 'S001', position: 1 }],
      inService: [],
    });

    const called = await callNext(serviceId, 'desk-4');
    const next = (await screen.until((data) => data.queueChanged.inService.length === 1)).queueChanged;
    expect(next.changes).toEqual([
      expect.objectContaining({
        caseId: called?.id,
        ticket: 'S001',
        action: 'CALL_NEXT',
        status: 'IN_SERVICE',
        agent: 'desk-4',
      }),
    ]);
    expect(next).toMatchObject({ waitingCount: 0, waiting: [], inService: [{ ticket: 'S001', agent: 'desk-4' }] });
    screen.stop();
  });

  it('lists at most `first` waiting cases but counts them all', async () => {
    const serviceId = (await given.service(t.db)).id;
    for (let index = 0; index < 4; index += 1) await given.waitingCase(t.db, { serviceId });
    const screen = live.subscribe(FollowQueueDocument, { serviceId, first: 2 });
    const state = (await screen.until(() => true)).queueChanged;
    expect(state.waitingCount).toBe(4);
    expect(state.waiting.map((each) => each.position)).toEqual([1, 2]);
    screen.stop();
  });
});

describe('fan-out', () => {
  it('reads a service once per change, not once per subscriber', async () => {
    const serviceId = (await given.service(t.db)).id;
    const cases = [];
    for (let index = 0; index < 60; index += 1) cases.push(await given.waitingCase(t.db, { serviceId }));
    const clients = Array.from({ length: 6 }, () => liveClient(t.gateway.url));
    try {
      const follows = cases.map((each, index) =>
        clients[index % clients.length]!.subscribe(FollowCaseDocument, { caseId: each.id }),
      );
      const screens = clients.map((client) => client.subscribe(FollowQueueDocument, { serviceId, first: 3 }));
      await Promise.all(follows.map((follow) => follow.until(() => true)));
      await Promise.all(screens.map((screen) => screen.until(() => true)));

      const readsBefore = stateReads;
      await callNext(serviceId, 'desk-5');
      // Every follower moves up one place; the called one is in service.
      const seen = await Promise.all(follows.map((follow) => follow.until(() => true)));
      expect(seen[0]!.caseChanged.status).toBe('IN_SERVICE');
      expect(seen.slice(1).map((each) => each.caseChanged.position)).toEqual(
        cases.slice(1).map((_, index) => index + 1),
      );
      await Promise.all(screens.map((screen) => screen.until((data) => data.queueChanged.changes.length > 0)));
      // 66 subscribers, one change: one read (a second one at most, if the
      // notification and a late subscriber's first read did not coincide).
      expect(stateReads - readsBefore).toBeGreaterThanOrEqual(1);
      expect(stateReads - readsBefore).toBeLessThanOrEqual(2);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});

describe('several gateways on one database', () => {
  it('a change made through one gateway reaches subscribers of another', async () => {
    const group = await gatewayGroup(t, 1);
    const other = liveClient(group.urls[1]!);
    try {
      const serviceId = (await given.service(t.db)).id;
      const screen = other.subscribe(FollowQueueDocument, { serviceId, first: 5 });
      expect((await screen.until(() => true)).queueChanged.waitingCount).toBe(0);
      const enqueued = expectData(await group.clients[0]!(EnqueueCaseDocument, { input: { serviceId } })).enqueueCase;
      const update = (await screen.until((data) => data.queueChanged.waitingCount === 1)).queueChanged;
      expect(update.changes).toEqual([expect.objectContaining({ caseId: enqueued.caseId, action: 'ENQUEUE' })]);
    } finally {
      await other.close();
      await group.stop();
    }
  });
});

describe('the database listener', () => {
  it('comes back after the database ends its connection, and subscribers are brought up to date', async () => {
    const serviceId = (await given.service(t.db)).id;
    const screen = live.subscribe(FollowQueueDocument, { serviceId, first: 5 });
    expect((await screen.until(() => true)).queueChanged.waitingCount).toBe(0);
    const { rows } = await t.sql.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [LISTENER_APPLICATION_NAME],
    );
    expect(rows.map((row) => row.ended)).toEqual([true]);
    // Enqueued while the listener may be down: the re-sync after reconnecting shows it.
    await given.waitingCase(t.db, { serviceId });
    expect((await screen.until((data) => data.queueChanged.waitingCount === 1, 15_000)).queueChanged.waitingCount).toBe(
      1,
    );
    // And it listens again: a later change arrives as a change.
    await given.waitingCase(t.db, { serviceId });
    const later = (await screen.until((data) => data.queueChanged.waitingCount === 2, 15_000)).queueChanged;
    expect(later.changes.map((change) => change.action)).toContain('ENQUEUE');
    await expect
      .poll(async () => {
        const { rows: listeners } = await t.sql.query(
          'SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
          [LISTENER_APPLICATION_NAME],
        );
        return listeners.length;
      })
      .toBe(1);
    // The lost connection's registration is gone; the new one's is there.
    await expect
      .poll(
        async () => {
          const { rows } = await t.sql.query<{ listener: number }>(
            `SELECT f.listener_pid AS listener FROM live_follows f
             JOIN pg_stat_activity a ON a.pid = f.listener_pid AND a.application_name = $2
            WHERE f.service_id = $1`,
            [serviceId, LISTENER_APPLICATION_NAME],
          );
          const { rows: all } = await t.sql.query('SELECT 1 FROM live_follows WHERE service_id = $1', [serviceId]);
          return [rows.length, all.length];
          // Removed on reconnecting, or at the latest by the next ping (10 s) if the old backend was still exiting.
        },
        { timeout: 15_000 },
      )
      .toEqual([1, 1]);
    screen.stop();
  });
});

describe('announcements', () => {
  it('are sent for followed services only, and from the moment a subscriber follows', async () => {
    const heard: string[] = [];
    const listener = new pg.Client({ connectionString: t.gateway.databaseUrl });
    await listener.connect();
    try {
      listener.on('notification', (message) => heard.push(message.payload ?? ''));
      await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
      const serviceId = (await given.service(t.db)).id;
      const unfollowed = await given.waitingCase(t.db, { serviceId });
      // A round trip on the listening connection delivers whatever was sent before it.
      await listener.query('SELECT 1');
      expect(heard.filter((payload) => payload.includes(`"caseId" : ${unfollowed.id}`))).toEqual([]);

      const screen = live.subscribe(FollowQueueDocument, { serviceId });
      expect((await screen.until(() => true)).queueChanged.waitingCount).toBe(1);
      const followed = await given.waitingCase(t.db, { serviceId });
      await expect.poll(() => heard.filter((payload) => payload.includes(`"caseId" : ${followed.id}`)).length).toBe(1);
      screen.stop();
      // Once nobody follows it, the service's changes are not announced any more.
      await expect
        .poll(async () => {
          const { rows } = await t.sql.query<{ rows: number }>(
            'SELECT count(*)::int AS rows FROM live_follows WHERE service_id = $1',
            [serviceId],
          );
          return rows[0]?.rows;
        })
        .toBe(0);
      const after = await given.waitingCase(t.db, { serviceId });
      await listener.query('SELECT 1');
      expect(heard.filter((payload) => payload.includes(`"caseId" : ${after.id}`))).toEqual([]);
    } finally {
      await listener.end();
    }
  });
});

describe('following a service while it changes', () => {
  it('misses nothing: a change not announced (nobody followed) is in the first state', async () => {
    const serviceId = (await given.service(t.db, { queueCode: 'R' })).id;
    const writer = await t.sql.connect();
    try {
      // A change made while nobody follows the service: its trigger finds no follower and announces
      // nothing, and holds its shared lock until it commits.
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket) VALUES ($1, 'race', current_date, 1, 'R001')`,
        [serviceId],
      );
      const screen = live.subscribe(FollowQueueDocument, { serviceId });
      // The subscriber registers, then waits for that writer; its first state comes after the commit.
      await expect.poll(() => lockWaits(serviceId)).toBe(1);
      expect(screen.queued()).toBe(0);
      await writer.query('COMMIT');
      expect((await screen.until(() => true)).queueChanged.waitingCount).toBe(1);
      screen.stop();
    } finally {
      writer.release();
    }
  });
});

/** Requests for a service's follow lock that wait (are not granted). */
async function lockWaits(serviceId: number): Promise<number> {
  const { rows } = await t.sql.query<{ waiting: number }>(
    "SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND NOT granted",
    [FOLLOW_LOCK_NAMESPACE, serviceId],
  );
  return rows[0]?.waiting ?? 0;
}

describe('refusals', () => {
  it('an unknown case or service is NOT_FOUND, naming the argument', async () => {
    const missingCase = live.subscribe(FollowCaseDocument, { caseId: 2_000_000_000 });
    const result = await missingCase.next();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'caseId' });
    await missingCase.completed;
    const missingService = live.subscribe(FollowQueueDocument, { serviceId: 2_000_000_000 });
    expect((await missingService.next()).errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'serviceId',
    });
  });

  it('`first` out of range is BAD_USER_INPUT with the rule', async () => {
    const serviceId = (await given.service(t.db)).id;
    const screen = live.subscribe(FollowQueueDocument, { serviceId, first: 101 });
    expect((await screen.next()).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
      rule: 'range',
    });
  });

  it('answers what does not parse or breaks a limit as over HTTP, with the same codes', async () => {
    const refusalOf = async (query: string) => {
      const document: TypedDocumentNode<unknown, Record<string, unknown>> = parse(query);
      return live
        .subscribe(document, {})
        .next()
        .then(
          () => 'answered',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
    };
    // The client prints documents, so an unparsable one is sent raw.
    const raw = new WebSocket(webSocketUrl(t.gateway.url), 'graphql-transport-ws');
    const messages: string[] = [];
    raw.on('message', (data: Buffer) => messages.push(data.toString()));
    await new Promise<void>((resolve) => raw.once('open', () => resolve()));
    raw.send(JSON.stringify({ type: 'connection_init' }));
    await expect.poll(() => messages[0]).toContain('connection_ack');
    raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription {' } }));
    await expect.poll(() => messages[1] ?? '').toContain('GRAPHQL_PARSE_FAILED');
    raw.close();
    const aliases = Array.from({ length: 16 }, (_, index) => `a${index}: __typename`).join(' ');
    const tooMany = await refusalOf(`subscription { ${aliases} queueChanged(serviceId: 1) { serviceId } }`);
    expect(tooMany).toContain('"code":"GRAPHQL_VALIDATION_FAILED"');
    expect(tooMany).toContain('"rule":"maxAliases"');
  });

  it('queries and mutations are sent over HTTP, not over the WebSocket', async () => {
    const serviceId = (await given.service(t.db)).id;
    const query = live.subscribe(ServiceDocument, { id: serviceId });
    await expect(query.next()).rejects.toThrow(/Only subscriptions are served over WebSocket/);
  });

  it('a connection holds a bounded number of subscriptions', async () => {
    const crowded = liveClient(t.gateway.url);
    try {
      const serviceId = (await given.service(t.db)).id;
      const screens = Array.from({ length: 20 }, () => crowded.subscribe(FollowQueueDocument, { serviceId }));
      await Promise.all(screens.map((screen) => screen.until(() => true)));
      const extra = crowded.subscribe(FollowQueueDocument, { serviceId });
      await expect(extra.next()).rejects.toThrow(/At most 20 subscriptions/);
    } finally {
      await crowded.close();
    }
  });
});

describe('a client that stops reading', () => {
  it('is closed with 1013 (try again later) once too much waits for it, not buffered without bound', async () => {
    const small = await startTestGateway({}, { LIVE_MAX_BUFFERED_BYTES: '1024', LIVE_KEEP_ALIVE_MS: '600000' });
    try {
      const serviceId = (await given.service(small.db)).id;
      for (let index = 0; index < 100; index += 1) await given.waitingCase(small.db, { serviceId });
      let tcp: Socket | undefined;
      const stalled = new WebSocket(webSocketUrl(small.gateway.url), 'graphql-transport-ws', {
        createConnection: (options: ClientRequestArgs) =>
          (tcp = createConnection({ port: Number(options.port), host: options.host ?? '127.0.0.1' })),
      });
      const messages: string[] = [];
      stalled.on('message', (data: Buffer) => messages.push(data.toString()));
      const closed = new Promise<number>((resolve) => stalled.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        stalled.once('open', () => resolve());
        stalled.once('error', reject);
      });
      stalled.send(JSON.stringify({ type: 'connection_init' }));
      // graphql-ws refuses a subscribe sent before its acknowledgement.
      await expect.poll(() => messages[0], { timeout: 10_000 }).toContain('connection_ack');
      const query = `subscription { queueChanged(serviceId: ${serviceId}, first: 100) { waiting { caseId ticket position queuedAt estimatedWaitSeconds } } }`;
      for (let id = 1; id <= 20; id += 1)
        stalled.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query } }));
      await expect.poll(() => messages.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(21);
      if (!tcp) throw new Error('the WebSocket did not use the connection made for it');
      tcp.pause();
      // Each change sends 20 updates of ~10 KB; the kernel's buffers fill first, then the gateway's.
      for (let index = 0; index < 60; index += 1) {
        await given.waitingCase(small.db, { serviceId });
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      tcp.resume();
      expect(await closed).toBe(1013);
    } finally {
      await small.stop();
    }
  });
});
