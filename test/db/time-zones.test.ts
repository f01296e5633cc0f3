// Times whatever PostgreSQL's `timezone` says (issue 16). @prisma/adapter-pg
// reads a timestamptz's text as UTC whatever offset it carries, so on a server
// whose sessions default to another zone every time a read answered was
// shifted by that zone's offset; every connection of the gateway therefore
// pins TimeZone=UTC (src/db/session-settings.ts). Here a database defaults to
// America/St_Johns (-03:30, -02:30 in summer: a half-hour offset), and an
// embedded server is initialised under TZ=Asia/Kathmandu (+05:45), as
// `npm start` initialises one on a machine in that zone. Each time answered is
// held to what was stored (its epoch, which no session's zone changes) and to
// the wall clock. The service's own time zone still decides its ticket day
// and its "today".
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway.js';
import {
  CallCaseDocument,
  CallNextDocument,
  CaseDocument,
  CompleteCaseDocument,
  CreateServiceDocument,
  EnqueueCaseDocument,
  FollowCaseDocument,
  FollowQueueDocument,
  QueueDocument,
  QueueStatisticsDocument,
  ReturnToQueueDocument,
} from '../../src/generated/operations/graphql.js';
import { silentLogger } from '../../src/log.js';
import * as given from '../helpers/given.js';
import { expectData, graphqlClient, type Client } from '../helpers/graphql-client.js';
import { liveClient, type LiveClient } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** The database's default zone: a half-hour offset, west of UTC. */
const DATABASE_ZONE = 'America/St_Johns';
/** The machine's zone when the embedded server is initialised: +05:45, no summer time. */
const INITDB_ZONE = 'Asia/Kathmandu';
/** Two services' zones 25 hours apart: their calendar days always differ. */
const EARLIEST_ZONE = 'Pacific/Kiritimati';
const LATEST_ZONE = 'Pacific/Pago_Pago';
/** Slack for "now" by the wall clock: the offsets tested are hours. */
const CLOCK_SLACK_MS = 60_000;

type Sql = Pick<pg.ClientBase, 'query'>;
type Times = Record<string, string | null>;

const iso = (epochMs: number | null): string | null => (epochMs === null ? null : new Date(epochMs).toISOString());

/**
 * The stored times of one row, as ISO strings, named as the API names them:
 * `columns` maps an API name to its column. Read as epoch milliseconds, which
 * no session's time zone changes.
 */
async function storedTimes(
  sql: Sql,
  table: string,
  id: number | string,
  columns: Readonly<Record<string, string>>,
): Promise<Times> {
  const list = Object.entries(columns).map(
    ([name, column]) => `(extract(epoch FROM ${column}) * 1000)::float8 AS "${name}"`,
  );
  const { rows } = await sql.query<Record<string, number | null>>(
    `SELECT ${list.join(', ')} FROM ${table} WHERE id = $1`,
    [id],
  );
  const [row] = rows;
  if (!row) throw new Error(`no row ${id} in ${table}`);
  return Object.fromEntries(Object.keys(columns).map((name) => [name, iso(row[name] ?? null)]));
}

/** A case's times as stored, and its history's, oldest step first. */
interface StoredCase {
  readonly enqueuedAt: string | null;
  readonly queuedAt: string | null;
  readonly calledAt: string | null;
  readonly closedAt: string | null;
  readonly updatedAt: string | null;
  readonly history: (string | null)[];
}

async function storedCase(sql: Sql, id: number): Promise<StoredCase> {
  const times = await storedTimes(sql, 'cases', id, {
    enqueuedAt: 'enqueued_at',
    queuedAt: 'queued_at',
    calledAt: 'called_at',
    closedAt: 'closed_at',
    updatedAt: 'updated_at',
  });
  const { rows } = await sql.query<{ at: number }>(
    'SELECT (extract(epoch FROM at) * 1000)::float8 AS at FROM case_events WHERE case_id = $1 ORDER BY at, id',
    [id],
  );
  return {
    enqueuedAt: times['enqueuedAt'] ?? null,
    queuedAt: times['queuedAt'] ?? null,
    calledAt: times['calledAt'] ?? null,
    closedAt: times['closedAt'] ?? null,
    updatedAt: times['updatedAt'] ?? null,
    history: rows.map((row) => iso(row.at)),
  };
}

interface AnsweredCase {
  readonly enqueuedAt: string;
  readonly queuedAt: string;
  readonly calledAt?: string | null;
  readonly closedAt?: string | null;
  readonly updatedAt: string;
  readonly history: readonly { readonly at: string }[];
}

const caseTimes = (answered: AnsweredCase) => ({
  enqueuedAt: answered.enqueuedAt,
  queuedAt: answered.queuedAt,
  calledAt: answered.calledAt ?? null,
  closedAt: answered.closedAt ?? null,
  updatedAt: answered.updatedAt,
  history: answered.history.map((event) => event.at),
});

/** From now on, by the wall clock: checks that a time answered lies between now and when it is checked. */
function wallClock(): (...times: (string | null | undefined)[]) => void {
  const from = Date.now() - CLOCK_SLACK_MS;
  return (...times) => {
    const to = Date.now() + CLOCK_SLACK_MS;
    for (const time of times) {
      const at = Date.parse(time ?? '');
      expect(
        at,
        `${time} is not within a minute of the wall clock (${new Date().toISOString()})`,
      ).toBeGreaterThanOrEqual(from);
      expect(at, `${time} is not within a minute of the wall clock (${new Date().toISOString()})`).toBeLessThanOrEqual(
        to,
      );
    }
  };
}

/** The calendar day of `time` in `timeZone`, as YYYY-MM-DD. */
const dayIn = (timeZone: string, time: string): string =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(time),
  );

/** Runs `start` with the process's (and so its children's) TZ set to `zone`, then puts TZ back. */
async function underTimeZone<T>(zone: string, start: () => Promise<T>): Promise<T> {
  const previous = process.env['TZ'];
  process.env['TZ'] = zone;
  try {
    return await start();
  } finally {
    if (previous === undefined) delete process.env['TZ'];
    else process.env['TZ'] = previous;
  }
}

/** What a plain connection, one that pins nothing, gets as its zone and its offset now. */
async function plainSessionZone(url: string): Promise<{ zone: string; offsetSeconds: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ zone: string; offset: number }>(
      `SELECT current_setting('TimeZone') AS zone, extract(timezone FROM now())::int AS offset`,
    );
    return { zone: rows[0]?.zone ?? '', offsetSeconds: rows[0]?.offset ?? 0 };
  } finally {
    await client.end();
  }
}

interface ApiKeyTimes {
  readonly id: string;
  readonly createdAt: string;
  readonly rotatedAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
}
const KEY_TIMES = 'id createdAt rotatedAt revokedAt lastUsedAt';
const CreateApiKey: TypedDocumentNode<
  { createApiKey: { key: ApiKeyTimes; secret: string } },
  { input: { name: string; role: string } }
> = parse(
  `mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key { ${KEY_TIMES} } secret } }`,
);
const RotateApiKey: TypedDocumentNode<{ rotateApiKey: { key: ApiKeyTimes; secret: string } }, { id: string }> = parse(
  `mutation RotateApiKey($id: String!) { rotateApiKey(id: $id) { key { ${KEY_TIMES} } secret } }`,
);
const RevokeApiKey: TypedDocumentNode<{ revokeApiKey: ApiKeyTimes }, { id: string }> = parse(
  `mutation RevokeApiKey($id: String!) { revokeApiKey(id: $id) { ${KEY_TIMES} } }`,
);
const ApiKeys: TypedDocumentNode<{ apiKeys: ApiKeyTimes[] }, Record<string, never>> = parse(
  `query ApiKeys { apiKeys(first: 100) { ${KEY_TIMES} } }`,
);
const Viewer: TypedDocumentNode<{ viewer: { id: string } }, Record<string, never>> = parse(
  'query Viewer { viewer { id } }',
);
const CreateCustomer: TypedDocumentNode<{ createCustomer: { id: number; createdAt: string } }, { name: string }> =
  parse('mutation CreateCustomer($name: String) { createCustomer(input: { name: $name }) { id createdAt } }');
interface AuditTimes {
  readonly id: string;
  readonly at: string;
  readonly action: string;
  readonly changes: readonly { field: string; before: string | null; after: string | null }[];
}
const AuditLog: TypedDocumentNode<{ auditLog: AuditTimes[] }, { entity: string; entityId: string }> = parse(
  `query AuditLog($entity: String, $entityId: String) {
     auditLog(first: 100, entity: $entity, entityId: $entityId) { id at action changes { field before after } }
   }`,
);

/** Enqueues a case through GraphQL; its answer. */
async function enqueue(request: Client, serviceId: number, autoClose = false) {
  return expectData(await request(EnqueueCaseDocument, { input: { serviceId, subject: 'times', autoClose } }))
    .enqueueCase;
}

describe(`a database whose sessions default to ${DATABASE_ZONE}`, () => {
  let t: TestGateway;
  let live: LiveClient;

  beforeAll(async () => {
    t = await startTestGateway({}, {}, silentLogger, { settings: { timezone: DATABASE_ZONE } });
    live = liveClient(t.gateway.url);
  });

  afterAll(async () => {
    await live.close();
    await t.stop();
  });

  it('is in that zone, away from UTC, for a connection that pins nothing', async () => {
    const plain = await plainSessionZone(t.gateway.databaseUrl);
    expect(plain.zone).toBe(DATABASE_ZONE);
    expect(Math.abs(plain.offsetSeconds)).toBeGreaterThanOrEqual(2.5 * 3600);
  });

  it('answers enqueueCase, case and each step of a case with the times stored', async () => {
    const now = wallClock();
    const serviceId = (await given.service(t.db, { queueCode: 'T' })).id;
    const enqueued = await enqueue(t.request, serviceId);
    const stored = await storedCase(t.sql, enqueued.caseId);
    expect({ enqueuedAt: enqueued.enqueuedAt, closedAt: enqueued.closedAt }).toEqual({
      enqueuedAt: stored.enqueuedAt,
      closedAt: null,
    });
    now(enqueued.enqueuedAt);

    const autoClosed = await enqueue(t.request, serviceId, true);
    const storedAutoClosed = await storedCase(t.sql, autoClosed.caseId);
    expect({ enqueuedAt: autoClosed.enqueuedAt, closedAt: autoClosed.closedAt }).toEqual({
      enqueuedAt: storedAutoClosed.enqueuedAt,
      closedAt: storedAutoClosed.closedAt,
    });

    // Called, returned to the back (a new queuedAt), called again, completed.
    const caseId = enqueued.caseId;
    const steps = [
      expectData(await t.request(CallCaseDocument, { input: { caseId, agent: 'desk-1' } })).callCase,
      expectData(
        await t.request(ReturnToQueueDocument, {
          input: { caseId, agent: 'desk-1', placement: 'BACK', reason: 'times' },
        }),
      ).returnToQueue,
      expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent: 'desk-2' } })).callNext,
    ];
    const completed = expectData(
      await t.request(CompleteCaseDocument, { input: { caseId, agent: 'desk-2' } }),
    ).completeCase;
    expect(steps.map((step) => step?.id)).toEqual([caseId, caseId, caseId]);
    expect(caseTimes(completed)).toEqual(await storedCase(t.sql, caseId));

    const read = expectData(await t.request(CaseDocument, { id: caseId })).case;
    if (!read) throw new Error('case not found');
    const times = caseTimes(read);
    expect(times).toEqual(await storedCase(t.sql, caseId));
    expect(times.history).toHaveLength(5);
    expect(times.queuedAt).not.toBe(times.enqueuedAt);
    now(times.enqueuedAt, times.queuedAt, times.calledAt, times.closedAt, times.updatedAt, ...times.history);
  });

  it('answers queue pages with the stored queuedAt, and their cursors page on', async () => {
    const now = wallClock();
    const serviceId = (await given.service(t.db)).id;
    const ids = [];
    for (let n = 0; n < 3; n += 1) ids.push((await enqueue(t.request, serviceId)).caseId);

    const first = expectData(await t.request(QueueDocument, { serviceId, first: 2 })).service?.queue;
    const rest = expectData(
      await t.request(QueueDocument, { serviceId, first: 2, after: first?.pageInfo.endCursor ?? null }),
    ).service?.queue;
    const edges = [...(first?.edges ?? []), ...(rest?.edges ?? [])];
    expect(edges.map((edge) => edge.node.id)).toEqual(ids);
    expect(rest?.pageInfo.hasNextPage).toBe(false);
    for (const edge of edges) {
      expect(edge.node.queuedAt).toBe((await storedCase(t.sql, edge.node.id)).queuedAt);
      now(edge.node.queuedAt);
    }
  });

  it(`counts statistics from the stored times, "today" from midnight in the service's zone (${EARLIEST_ZONE})`, async () => {
    const serviceId = (await given.service(t.db, { timeZone: EARLIEST_ZONE })).id;
    const yesterday = await enqueue(t.request, serviceId);
    const today = await enqueue(t.request, serviceId);
    await enqueue(t.request, serviceId);
    await enqueue(t.request, serviceId, true);
    // The service's midnight: its calendar day now, as a local time in its zone.
    const localDay = dayIn(EARLIEST_ZONE, new Date().toISOString());
    const moveTo = async (caseId: number, at: string) =>
      t.sql.query(
        `WITH midnight AS (SELECT ($2::date::timestamp AT TIME ZONE $3) AS at)
         UPDATE cases SET enqueued_at = ${at}, queued_at = ${at}, updated_at = ${at} FROM midnight WHERE id = $1`,
        [caseId, localDay, EARLIEST_ZONE],
      );
    // A second either side of it (never later than now): a day taken in any other zone miscounts one of them.
    await moveTo(yesterday.caseId, `midnight.at - interval '1 second'`);
    await moveTo(today.caseId, `least(midnight.at + interval '1 second', clock_timestamp())`);

    const statistics = expectData(await t.request(QueueStatisticsDocument, { serviceId })).service?.statistics;
    const head = (await storedCase(t.sql, yesterday.caseId)).queuedAt ?? '';
    expect(statistics).toMatchObject({ waitingCount: 3, enqueuedToday: 3, closedToday: 1, autoClosedToday: 1 });
    // The head of the queue waited from a second before the service's midnight.
    const waited = (Date.now() - Date.parse(head)) / 1000;
    expect(statistics?.longestWaitSeconds).toBeGreaterThanOrEqual(waited - CLOCK_SLACK_MS / 1000);
    expect(statistics?.longestWaitSeconds).toBeLessThanOrEqual(waited + 1);
  });

  it("numbers tickets by the day in the service's zone, not the database's", async () => {
    const days = new Set<string>();
    for (const timeZone of [EARLIEST_ZONE, LATEST_ZONE]) {
      const serviceId = (await given.service(t.db, { timeZone, queueCode: 'D' })).id;
      const enqueued = await enqueue(t.request, serviceId);
      const { rows } = await t.sql.query<{ day: string }>('SELECT ticket_day::text AS day FROM cases WHERE id = $1', [
        enqueued.caseId,
      ]);
      expect(enqueued.ticket).toBe('D001');
      expect(rows[0]?.day, timeZone).toBe(dayIn(timeZone, enqueued.enqueuedAt));
      days.add(rows[0]?.day ?? '');
    }
    // 25 hours apart, the two services are never on the same day: no one zone numbered both.
    expect(days.size).toBe(2);
  });

  it('answers queueChanged and caseChanged with the stored times, over the WebSocket', async () => {
    const now = wallClock();
    const serviceId = (await given.service(t.db, { queueCode: 'L' })).id;
    const waiting = await enqueue(t.request, serviceId);
    const served = await enqueue(t.request, serviceId);
    expectData(await t.request(CallCaseDocument, { input: { caseId: served.caseId, agent: 'desk-1' } }));

    const queue = live.subscribe(FollowQueueDocument, { serviceId, first: 10 });
    const first = (await queue.until(() => true)).queueChanged;
    expect(first.waiting.map((ticket) => [ticket.caseId, ticket.queuedAt])).toEqual([
      [waiting.caseId, (await storedCase(t.sql, waiting.caseId)).queuedAt],
    ]);
    expect(first.inService.map((ticket) => [ticket.caseId, ticket.calledAt])).toEqual([
      [served.caseId, (await storedCase(t.sql, served.caseId)).calledAt],
    ]);
    now(first.at);

    const joined = await enqueue(t.request, serviceId);
    const next = (await queue.until((data) => data.queueChanged.waitingCount === 2)).queueChanged;
    const storedJoined = await storedCase(t.sql, joined.caseId);
    expect(next.waiting.at(-1)).toMatchObject({ caseId: joined.caseId, queuedAt: storedJoined.queuedAt });
    expect(next.changes.find((change) => change.caseId === joined.caseId)?.at).toBe(storedJoined.updatedAt);
    expect(Date.parse(next.at)).toBeGreaterThanOrEqual(Date.parse(storedJoined.updatedAt ?? ''));
    now(next.at);
    queue.stop();

    const follow = live.subscribe(FollowCaseDocument, { caseId: served.caseId });
    const state = (await follow.until(() => true)).caseChanged;
    expect(state.calledAt).toBe((await storedCase(t.sql, served.caseId)).calledAt);
    now(state.at, state.calledAt);
    expectData(await t.request(CompleteCaseDocument, { input: { caseId: served.caseId, agent: 'desk-1' } }));
    const closed = (await follow.until((data) => data.caseChanged.status === 'COMPLETED')).caseChanged;
    expect(closed.closedAt).toBe((await storedCase(t.sql, served.caseId)).closedAt);
    now(closed.at, closed.closedAt);
    follow.stop();
  });

  it('answers GET /api/Cases/{id} with the stored times', async () => {
    const now = wallClock();
    const completed = await given.caseIn(t.db, 'COMPLETED');
    const response = await fetch(`${new URL(t.gateway.url).origin}/api/Cases/${completed.id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown> & { History: { At: string }[] };
    const answered = {
      enqueuedAt: body['EnqueuedAt'],
      queuedAt: body['QueuedAt'],
      calledAt: body['CalledAt'],
      closedAt: body['ClosedAt'],
      updatedAt: body['UpdatedAt'],
      history: body.History.map((event) => event.At),
    };
    expect(answered).toEqual(await storedCase(t.sql, completed.id));
    now(...answered.history);
  });

  it('answers services, customers, API keys and the audit log with the stored times', async () => {
    const now = wallClock();
    const service = expectData(
      await t.request(CreateServiceDocument, { input: { name: `Times ${Date.now()}` } }),
    ).createService;
    expect(service.createdAt).toBe((await storedTimes(t.sql, 'services', service.id, { at: 'created_at' }))['at']);
    const customer = expectData(await t.request(CreateCustomer, { name: 'Times' })).createCustomer;
    expect(customer.createdAt).toBe((await storedTimes(t.sql, 'customers', customer.id, { at: 'created_at' }))['at']);

    const keyColumns = {
      createdAt: 'created_at',
      rotatedAt: 'rotated_at',
      revokedAt: 'revoked_at',
      lastUsedAt: 'last_used_at',
    };
    const created = expectData(
      await t.request(CreateApiKey, { input: { name: 'times', role: 'SCREEN' } }),
    ).createApiKey;
    const id = created.key.id;
    expect(created.key).toEqual({ id, ...(await storedTimes(t.sql, 'api_keys', id, keyColumns)) });
    const rotated = expectData(await t.request(RotateApiKey, { id })).rotateApiKey;
    expect(rotated.key).toEqual({ id, ...(await storedTimes(t.sql, 'api_keys', id, keyColumns)) });
    // A use is recorded after the answer.
    expectData(await graphqlClient(t.gateway.url, { authorization: `Bearer ${rotated.secret}` })(Viewer, {}));
    for (let tries = 0; tries < 100; tries += 1) {
      if ((await storedTimes(t.sql, 'api_keys', id, keyColumns))['lastUsedAt'] !== null) break;
      await sleep(20);
    }
    const revoked = expectData(await t.request(RevokeApiKey, { id })).revokeApiKey;
    const storedKey = await storedTimes(t.sql, 'api_keys', id, keyColumns);
    expect(storedKey['lastUsedAt']).not.toBeNull();
    expect(revoked).toEqual({ id, ...storedKey });
    const listed = expectData(await t.request(ApiKeys, {})).apiKeys.find((key) => key.id === id);
    expect(listed).toEqual({ id, ...storedKey });
    now(service.createdAt, customer.createdAt, ...Object.values(storedKey));

    const entries = expectData(await t.request(AuditLog, { entity: 'apiKey', entityId: id })).auditLog;
    expect(entries.map((entry) => entry.action)).toEqual(['apiKey.revoke', 'apiKey.rotate', 'apiKey.create']);
    for (const entry of entries) {
      expect(entry.at).toBe((await storedTimes(t.sql, 'audit_log', entry.id, { at: 'at' }))['at']);
      now(entry.at);
    }
    // The changes hold the times the gateway read back, as JSON text.
    expect(entries.flatMap((entry) => entry.changes).filter((change) => change.field.endsWith('At'))).toEqual([
      { field: 'revokedAt', before: null, after: JSON.stringify(storedKey['revokedAt']) },
      { field: 'rotatedAt', before: null, after: JSON.stringify(storedKey['rotatedAt']) },
    ]);
  });
});

describe(`an embedded server initialised under TZ=${INITDB_ZONE}`, () => {
  const folders: string[] = [];
  afterAll(async () => {
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  it('takes that zone as its default, and the gateway it serves still answers the stored times', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gateway-time-zone-'));
    folders.push(folder);
    // Reachable by the server's OS user when running as root.
    await chmod(folder, 0o755);
    // As `npm start` with no DATABASE_URL: the gateway initialises and starts its own server.
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: '',
      EMBEDDED_PG_DATA_DIR: join(folder, 'postgres'),
      EMBEDDED_PG_PORT: '',
      PORT: '0',
      AUTH_MODE: 'open',
    });
    const gateway = await underTimeZone(INITDB_ZONE, () => startGateway(config, silentLogger));
    const live = liveClient(gateway.url);
    const sql = new pg.Client({ connectionString: gateway.databaseUrl });
    try {
      const plain = await plainSessionZone(gateway.databaseUrl);
      expect(plain).toEqual({ zone: INITDB_ZONE, offsetSeconds: (5 * 60 + 45) * 60 });
      await sql.connect();
      const now = wallClock();
      const request = graphqlClient(gateway.url);
      const serviceId = expectData(
        await request(CreateServiceDocument, { input: { name: 'Kathmandu', queueCode: 'K' } }),
      ).createService.id;
      const queue = live.subscribe(FollowQueueDocument, { serviceId, first: 10 });
      await queue.until(() => true);
      const enqueued = await enqueue(request, serviceId);
      const stored = await storedCase(sql, enqueued.caseId);
      expect(enqueued.enqueuedAt).toBe(stored.enqueuedAt);

      const read = expectData(await request(CaseDocument, { id: enqueued.caseId })).case;
      if (!read) throw new Error('case not found');
      expect(caseTimes(read)).toEqual(stored);
      const update = (await queue.until((data) => data.queueChanged.waitingCount === 1)).queueChanged;
      expect(update.waiting[0]?.queuedAt).toBe(stored.queuedAt);
      now(enqueued.enqueuedAt, read.queuedAt, read.updatedAt, update.at, ...caseTimes(read).history);
      queue.stop();
    } finally {
      await live.close();
      await sql.end().catch(() => undefined);
      await gateway.stop();
    }
  });
});
