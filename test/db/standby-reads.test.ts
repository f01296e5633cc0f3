// Reads from a hot standby (src/db/read-replica.ts): against a real
// streaming standby of a scratch PostgreSQL (helpers/standby.ts) and
// gateways over real HTTP and WebSocket, what screens poll is counted where
// it ran (pg_stat_statements on each server); a standby held behind (replay
// paused) is read from no more once it is further behind than
// READ_MAX_LAG_MS, and a kiosk's own answers never come from it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import type { RunningPostgres } from '../../src/db/embedded-postgres.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { startScratchPostgres } from '../../src/db/scratch-postgres.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import {
  CaseDocument,
  CallNextDocument,
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
import { parseExposition, valueOf, type Sample } from '../helpers/prometheus-text.js';
import { startStandby, type Standby } from '../helpers/standby.js';
import { TEST_CLIENTS } from '../helpers/test-gateway.js';

const SETTINGS = { shared_preload_libraries: 'pg_stat_statements' };
/** The statements screens' reads run, as pg_stat_statements shows them (normalised, leading comments dropped). */
const STATEMENTS = {
  queuePage: '%ORDER BY c.queued_at, c.queue_seq%',
  statistics: '%"autoClosedToday"%',
  positions: '%WITH asked AS%',
  liveState: '%WITH followed AS%',
} as const;
type Statement = keyof typeof STATEMENTS;
const BOUND_MS = 300;
const LAG = 'gateway_db_replay_lag_seconds';
const SERVED = 'gateway_db_standby_reads_total';
const FELL_BACK = 'gateway_db_standby_fallbacks_total';

interface TestGateway {
  readonly gateway: Gateway;
  readonly request: Client;
  readonly live: LiveClient;
  metrics(): Promise<Sample[]>;
  stop(): Promise<void>;
}

let primary: RunningPostgres;
let standby: Standby;
let seed: Database;
/** READ_MAX_LAG_MS = 300 ms. */
let bounded: TestGateway;
/** READ_MAX_LAG_MS = 10 minutes: the standby is read however far behind it is (during these tests). */
let lenient: TestGateway;

async function startReadingGateway(maxLagMs: number): Promise<TestGateway> {
  const config = loadConfig({
    DATABASE_URL: primary.url,
    DATABASE_READ_URL: standby.url,
    READ_MAX_LAG_MS: String(maxLagMs),
    PORT: '0',
    AUTH_MODE: 'open',
    LIVE_MIN_INTERVAL_MS: '0',
    ...TEST_CLIENTS,
  });
  const gateway = await startGateway(config, silentLogger);
  const live = liveClient(gateway.url);
  return {
    gateway,
    request: graphqlClient(gateway.url),
    live,
    metrics: async () => parseExposition(await (await fetch(new URL('/metrics', gateway.url))).text()),
    async stop() {
      await live.close();
      await gateway.stop();
    },
  };
}

async function rows<T>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T & pg.QueryResultRow>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** How often each screen statement has run on the server at `url`. */
async function calls(url: string): Promise<Record<Statement, number>> {
  const counted = {} as Record<Statement, number>;
  for (const [name, pattern] of Object.entries(STATEMENTS) as [Statement, string][]) {
    const [row] = await rows<{ calls: number }>(
      url,
      'SELECT coalesce(sum(calls), 0)::int AS calls FROM pg_stat_statements WHERE query LIKE $1',
      [pattern],
    );
    counted[name] = row?.calls ?? 0;
  }
  return counted;
}

/** What ran on each server while `act` did. */
async function countedDuring(
  act: () => Promise<void>,
): Promise<{ primary: Record<Statement, number>; standby: Record<Statement, number> }> {
  const before = await Promise.all([calls(primary.url), calls(standby.url)]);
  await act();
  const after = await Promise.all([calls(primary.url), calls(standby.url)]);
  const delta = (index: 0 | 1) =>
    Object.fromEntries(
      (Object.keys(STATEMENTS) as Statement[]).map((name) => [name, after[index][name] - before[index][name]]),
    ) as Record<Statement, number>;
  return { primary: delta(0), standby: delta(1) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds of the gateway's metrics; fails with the last value after `timeoutMs`. */
async function metricsUntil(
  t: TestGateway,
  what: string,
  check: (all: Sample[]) => boolean,
  timeoutMs = 10_000,
): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await t.metrics();
    if (check(all)) return all;
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms (lag ${JSON.stringify(all.filter((s) => s.name === LAG))})`);
    await sleep(50);
  }
}

const lagOf = (all: Sample[]): number | undefined => all.find((sample) => sample.name === LAG)?.value;
const hostLabel = (): Record<string, string> => ({ host: `127.0.0.1:${standby.port}` });

/** The standby has replayed everything and the gateway has measured it within `maxLagMs`. */
async function settled(t: TestGateway, maxLagMs = BOUND_MS): Promise<void> {
  await standby.caughtUp();
  await metricsUntil(t, 'the gateway measures the standby within the bound', (all) => {
    const lag = lagOf(all);
    return lag !== undefined && lag * 1000 <= maxLagMs;
  });
}

async function enqueue(t: TestGateway, serviceId: number) {
  const { enqueueCase } = expectData(await t.request(EnqueueCaseDocument, { input: { serviceId } }));
  return enqueueCase;
}

beforeAll(async () => {
  primary = await startScratchPostgres(SETTINGS);
  await rows(primary.url, 'CREATE EXTENSION pg_stat_statements');
  standby = await startStandby(primary, { settings: SETTINGS });
  bounded = await startReadingGateway(BOUND_MS);
  lenient = await startReadingGateway(600_000);
  seed = createDatabaseClient(primary.url, 2);
}, 120_000);

afterAll(async () => {
  await seed.$disconnect();
  await bounded.stop();
  await lenient.stop();
  await standby.stop();
  await primary.stop();
});

describe('reads from a hot standby', () => {
  it('serves what a screen polls from the standby: queue pages, statistics, positions and live states', async () => {
    const { id: serviceId } = await given.service(seed, { queueCode: 'R' });
    const cases: { caseId: number }[] = [];
    for (let index = 0; index < 3; index += 1) cases.push(await enqueue(bounded, serviceId));
    await settled(bounded);
    const before = valueOf(await bounded.metrics(), SERVED);

    const counted = await countedDuring(async () => {
      const { service } = expectData(await bounded.request(QueueDocument, { serviceId, first: 10 }));
      expect(service?.queue.totalCount).toBe(3);
      expect(service?.queue.edges.map((edge) => [edge.node.id, edge.position])).toEqual(
        cases.map((each, index) => [each.caseId, index + 1]),
      );
      const statistics = expectData(await bounded.request(QueueStatisticsDocument, { serviceId }));
      expect(statistics.service?.statistics.waitingCount).toBe(3);
      const { case: second } = expectData(await bounded.request(CaseDocument, { id: cases[1]!.caseId }));
      expect(second?.position).toBe(2);

      // A screen's live queue: its first state, then the state after a change, both read on the standby.
      const screen = bounded.live.subscribe(FollowQueueDocument, { serviceId, first: 10 });
      await screen.until((update) => update.queueChanged.waitingCount === 3);
      // Enqueued by another client of the primary, which reads no position.
      const fourth = await given.waitingCase(seed, { serviceId });
      const update = await screen.until((each) => each.queueChanged.waitingCount === 4);
      expect(update.queueChanged.waiting.at(-1)?.caseId).toBe(fourth.id);
      screen.stop();
    });
    expect(counted.standby.queuePage).toBeGreaterThanOrEqual(1);
    expect(counted.standby.statistics).toBe(1);
    expect(counted.standby.positions).toBeGreaterThanOrEqual(1);
    expect(counted.standby.liveState).toBeGreaterThanOrEqual(2);
    // None of them ran on the primary (the seeded enqueue reads no position).
    expect(counted.primary).toEqual({ queuePage: 0, statistics: 0, positions: 0, liveState: 0 });
    expect(valueOf(await bounded.metrics(), SERVED)).toBeGreaterThan(before);
  });

  it('counts an idle standby as not behind: no writes, lag 0, reads stay on the standby', async () => {
    await settled(bounded);
    // Longer than the bound: a lag that grew while nothing is written would exceed it.
    await sleep(3 * BOUND_MS);
    const all = await metricsUntil(bounded, 'lag 0 while idle', (samples) => lagOf(samples) === 0, 3_000);
    expect(valueOf(all, LAG, hostLabel())).toBe(0);
    const { id: serviceId } = await given.service(seed);
    await standby.caughtUp();
    const fellBack = valueOf(all, FELL_BACK, { reason: 'lag' });
    const counted = await countedDuring(async () => {
      expectData(await bounded.request(QueueStatisticsDocument, { serviceId }));
    });
    expect(counted.standby.statistics).toBe(1);
    expect(valueOf(await bounded.metrics(), FELL_BACK, { reason: 'lag' })).toBe(fellBack);
  });

  it('reads the primary once the standby is further behind than READ_MAX_LAG_MS, and the answers are fresh', async () => {
    const { id: serviceId } = await given.service(seed, { queueCode: 'L' });
    await enqueue(bounded, serviceId);
    await settled(bounded);
    const screen = bounded.live.subscribe(FollowQueueDocument, { serviceId, first: 10 });
    await screen.until((update) => update.queueChanged.waitingCount === 1);
    const fellBackBefore = valueOf(await bounded.metrics(), FELL_BACK, { reason: 'lag' });

    await standby.pauseReplay();
    try {
      const second = await enqueue(bounded, serviceId);
      expect(second.position).toBe(2);
      // The live screen gets the new state although the standby does not have it.
      await screen.until((update) => update.queueChanged.waitingCount === 2, 3_000);
      const lagging = await metricsUntil(
        bounded,
        'the lag exceeds the bound',
        (all) => (lagOf(all) ?? 0) * 1000 > BOUND_MS,
        5_000,
      );
      expect(valueOf(lagging, LAG, hostLabel())).toBeGreaterThan(BOUND_MS / 1000);
      // The standby really is behind: it has one case of this service.
      const [onStandby] = await rows<{ waiting: number }>(
        standby.url,
        'SELECT count(*)::int AS waiting FROM cases WHERE service_id = $1',
        [serviceId],
      );
      expect(onStandby?.waiting).toBe(1);

      const counted = await countedDuring(async () => {
        const { service } = expectData(await bounded.request(QueueDocument, { serviceId, first: 10 }));
        expect(service?.queue.totalCount).toBe(2);
        expect(service?.queue.edges.map((edge) => edge.node.id).at(-1)).toBe(second.caseId);
        const statistics = expectData(await bounded.request(QueueStatisticsDocument, { serviceId }));
        expect(statistics.service?.statistics.waitingCount).toBe(2);
      });
      expect(counted.primary.queuePage).toBeGreaterThanOrEqual(1);
      expect(counted.primary.statistics).toBe(1);
      expect(counted.standby.queuePage).toBe(0);
      expect(counted.standby.statistics).toBe(0);
      expect(valueOf(await bounded.metrics(), FELL_BACK, { reason: 'lag' })).toBeGreaterThanOrEqual(fellBackBefore + 2);
    } finally {
      await standby.resumeReplay();
      screen.stop();
    }

    // Caught up again: back on the standby.
    await settled(bounded);
    const counted = await countedDuring(async () => {
      const statistics = expectData(await bounded.request(QueueStatisticsDocument, { serviceId }));
      expect(statistics.service?.statistics.waitingCount).toBe(2);
    });
    expect(counted.standby.statistics).toBe(1);
    expect(counted.primary.statistics).toBe(0);
  });

  it("never answers a kiosk's own enqueue, nor a transition's result, from a standby behind", async () => {
    const { id: serviceId } = await given.service(seed, { queueCode: 'K' });
    await enqueue(lenient, serviceId);
    await enqueue(lenient, serviceId);
    await settled(lenient, 600_000);

    await standby.pauseReplay();
    try {
      // The gateway reads this standby however far behind: READ_MAX_LAG_MS is 10 minutes.
      const mine = [];
      for (let index = 0; index < 3; index += 1) mine.push(await enqueue(lenient, serviceId));
      expect(mine.map((each) => each.position)).toEqual([3, 4, 5]);

      // A screen's page is read on the standby, which has not replayed the kiosk's cases:
      // that is the staleness READ_MAX_LAG_MS allows...
      const { service } = expectData(await lenient.request(QueueDocument, { serviceId, first: 10 }));
      expect(service?.queue.totalCount).toBe(2);
      // ...but a case's own position is read on the primary when the standby does not have it,
      expect(expectData(await lenient.request(CaseDocument, { id: mine[2]!.caseId })).case?.position).toBe(5);
      // and its live state is read where its enqueue is (the standby could not catch up).
      const kiosk = lenient.live.subscribe(FollowCaseDocument, { caseId: mine[2]!.caseId });
      expect((await kiosk.until((update) => update.caseChanged.position !== null, 3_000)).caseChanged.position).toBe(5);
      kiosk.stop();

      // A transition's answer reads the primary: called, then sent back, the first case is last of five.
      const called = expectData(
        await lenient.request(CallNextDocument, { input: { serviceIds: [serviceId], agent: 'desk-1' } }),
      ).callNext;
      expect(called?.status).toBe('IN_SERVICE');
      const returned = expectData(
        await lenient.request(ReturnToQueueDocument, {
          input: { caseId: called!.id, agent: 'desk-1', placement: 'BACK', reason: 'forgot the form' },
        }),
      ).returnToQueue;
      expect(returned.status).toBe('WAITING');
      expect(returned.position).toBe(5);
    } finally {
      await standby.resumeReplay();
    }
    await standby.caughtUp();
  });

  it('reads the primary when the standby does not answer', async () => {
    const { id: serviceId } = await given.service(seed);
    await enqueue(bounded, serviceId);
    await settled(bounded);
    const before = valueOf(await bounded.metrics(), FELL_BACK, { reason: 'unreachable' });
    await standby.kill();
    // Found out by the next lag question (every 250 ms).
    await sleep(1_000);
    const statistics = expectData(await bounded.request(QueueStatisticsDocument, { serviceId }));
    expect(statistics.service?.statistics.waitingCount).toBe(1);
    const all = await bounded.metrics();
    expect(valueOf(all, FELL_BACK, { reason: 'unreachable' })).toBe(before + 1);
  });
});
