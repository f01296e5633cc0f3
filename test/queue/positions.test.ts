// Positions and counts from the queue's blocks (src/queue/queue-positions.ts,
// migration flat_counts) against plain counts over `cases`, on randomised
// histories: enqueues one at a time and racing, bulk inserts anywhere in the
// queue order (blocks split in the middle), hand-outs racing, out-of-turn
// calls, returns to the back, the front and the original place,
// cancellations one at a time and in bulk (blocks merge), completions. After
// every few steps every waiting case's position, the queue's length, the live
// state's positions, a cursor page's positions and the day's tallies must
// equal what a count says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createCaller, type Caller } from '../../src/queue/call-next.js';
import { createEnqueuer, type Enqueuer } from '../../src/queue/enqueue-case.js';
import { readServiceState } from '../../src/queue/live-reads.js';
import { queuePage, queueStatistics, standings } from '../../src/queue/queue-reads.js';
import { callCase, cancelCase, completeCase, returnToQueue } from '../../src/queue/transitions.js';
import * as given from '../helpers/given.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

let t: TestDatabaseClient;
let queue: Enqueuer;
let desk: Caller;

beforeAll(async () => {
  t = await startTestDatabaseClient();
  queue = createEnqueuer(t.db);
  desk = createCaller(t.db);
});

afterAll(async () => {
  await t.stop();
});

/** mulberry32: a small seeded generator, so that a failing history can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

interface Truth {
  /** Waiting case ids in queue order. */
  readonly waiting: number[];
  readonly inService: number[];
  readonly enqueuedToday: number;
  readonly closedToday: number;
  readonly autoClosedToday: number;
}

async function truth(serviceId: number): Promise<Truth> {
  const ids = async (status: string, order: string) =>
    (
      await t.sql.query<{ id: number }>(
        `SELECT id FROM cases WHERE service_id = $1 AND status = $2 ORDER BY ${order}`,
        [serviceId, status],
      )
    ).rows.map((row) => row.id);
  const { rows } = await t.sql.query<{ enqueued: number; closed: number; auto: number }>(
    `WITH s AS (SELECT (date_trunc('day', clock_timestamp() AT TIME ZONE time_zone) AT TIME ZONE time_zone) AS today
                  FROM services WHERE id = $1)
     SELECT (SELECT count(*)::int FROM cases, s WHERE service_id = $1 AND enqueued_at >= s.today) AS enqueued,
            (SELECT count(*)::int FROM cases, s WHERE service_id = $1 AND closed_at >= s.today) AS closed,
            (SELECT count(*)::int FROM cases, s WHERE service_id = $1 AND closed_at >= s.today AND auto_close) AS auto`,
    [serviceId],
  );
  const [day] = rows;
  return {
    waiting: await ids('WAITING', 'queued_at, queue_seq'),
    inService: await ids('IN_SERVICE', 'id'),
    enqueuedToday: day?.enqueued ?? -1,
    closedToday: day?.closed ?? -1,
    autoClosedToday: day?.auto ?? -1,
  };
}

/** Every block's count against a count of its range, and no block above the split bound. */
interface BlockError {
  readonly first_at: Date;
  readonly first_seq: string;
  readonly waiting: number;
  readonly n: number;
}

async function blockErrors(serviceId: number): Promise<BlockError[]> {
  const { rows } = await t.sql.query<BlockError>(
    `SELECT b.first_at, b.first_seq, b.waiting, counted.n
       FROM (SELECT *, lead(first_at) OVER w AS next_at, lead(first_seq) OVER w AS next_seq
               FROM queue_blocks WHERE service_id = $1 WINDOW w AS (ORDER BY first_at, first_seq)) b
      CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM cases c
                           WHERE c.service_id = $1 AND c.status = 'WAITING'
                             AND (c.queued_at, c.queue_seq) >= (b.first_at, b.first_seq)
                             AND (b.next_at IS NULL OR (c.queued_at, c.queue_seq) < (b.next_at, b.next_seq))) counted
      WHERE b.waiting <> counted.n OR b.waiting > 512`,
    [serviceId],
  );
  return rows;
}

async function expectCountsAgree(serviceId: number, random: () => number, step: string): Promise<void> {
  const expected = await truth(serviceId);
  const place = new Map(expected.waiting.map((id, index) => [id, index + 1]));
  expect(await blockErrors(serviceId), `blocks after ${step}`).toEqual([]);

  // Every waiting case, and some that do not wait, through the standings kiosks read.
  const asked = [...expected.waiting, ...expected.inService.slice(0, 5)];
  const found = await standings(t.db, asked);
  expect(
    asked.filter((id, index) => found[index]?.position !== (place.get(id) ?? null)),
    `positions after ${step}`,
  ).toEqual([]);

  const statistics = await queueStatistics(t.db, serviceId, {}, OPEN_ACTOR);
  expect(
    {
      waitingCount: statistics.waitingCount,
      enqueuedToday: statistics.enqueuedToday,
      closedToday: statistics.closedToday,
      autoClosedToday: statistics.autoClosedToday,
    },
    `statistics after ${step}`,
  ).toEqual({
    waitingCount: expected.waiting.length,
    enqueuedToday: expected.enqueuedToday,
    closedToday: expected.closedToday,
    autoClosedToday: expected.autoClosedToday,
  });

  // A few cases per block, each counted from the nearer end of its block
  // rather than the block numbered once: a dozen anywhere (the blocks ahead
  // summed per block) and one in every 150 (one running sum over the blocks).
  const offset = Math.floor(random() * 150);
  for (const sparse of [
    Array.from({ length: 12 }, () => pick(random, expected.waiting) ?? 0),
    expected.waiting.filter((_, index) => index % 150 === offset),
  ]) {
    const sparseFound = await standings(t.db, sparse);
    expect(
      sparse.filter((id, index) => sparseFound[index]?.position !== place.get(id)),
      `sparse positions after ${step}`,
    ).toEqual([]);
    const sparseState = await readServiceState(t.db, serviceId, 0, sparse);
    expect(
      sparse.filter((id) => sparseState?.cases.get(id)?.position !== place.get(id)),
      `sparse live positions after ${step}`,
    ).toEqual([]);
  }

  // The live state of a sample of followed cases, waiting or not.
  const followed = [...expected.waiting, ...expected.inService].filter(() => random() < 0.2);
  const state = await readServiceState(t.db, serviceId, 3, followed);
  expect(state?.waitingCount, `live waiting count after ${step}`).toBe(expected.waiting.length);
  expect(
    followed.filter((id) => (state?.cases.get(id)?.position ?? null) !== (place.get(id) ?? null)),
    `live positions after ${step}`,
  ).toEqual([]);

  // A page after a cursor somewhere in the queue, and the queue's total.
  const skip = Math.floor(random() * Math.min(100, expected.waiting.length + 1));
  const before = skip === 0 ? null : await queuePage(t.db, serviceId, { first: skip }, OPEN_ACTOR);
  const after = before?.edges.at(-1)?.cursor ?? null;
  const page = await queuePage(t.db, serviceId, { first: 5, after }, OPEN_ACTOR);
  expect(await page.totalCount(), `totalCount after ${step}`).toBe(expected.waiting.length);
  const pagePlaces = await Promise.all(page.edges.map(async (edge) => [edge.node.id, await edge.position()]));
  expect(pagePlaces, `page positions after ${step}`).toEqual(
    page.edges.map((edge) => [edge.node.id, place.get(edge.node.id)]),
  );
}

const agents = ['desk-1', 'desk-2', 'desk-3', 'desk-4', 'desk-5', 'desk-6', 'desk-7', 'desk-8'];

/** Inserts `count` waiting cases straight into `cases` (as another tool would), queued within the last `spreadSeconds`. */
async function bulkInsert(serviceId: number, count: number, spreadSeconds: number, salt: number): Promise<void> {
  await t.sql.query(
    `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket, enqueued_at, queued_at)
     SELECT $1, 'bulk', DATE '2000-01-01' + $4::int, g, 'B' || g,
            clock_timestamp() - make_interval(secs => $3 * random()), clock_timestamp() - make_interval(secs => $3 * random())
       FROM generate_series(1, $2::int) AS g`,
    [serviceId, count, spreadSeconds, salt],
  );
}

const pick = <T>(random: () => number, items: readonly T[]): T | undefined =>
  items[Math.floor(random() * items.length)];

async function history(seed: number, timeZone: string): Promise<void> {
  const random = generator(seed);
  const serviceId = (await given.service(t.db, { name: `History ${seed}`, queueCode: 'H', timeZone })).id;
  let salt = 0;
  await bulkInsert(serviceId, 900 + Math.floor(random() * 600), 3600, salt++);
  await expectCountsAgree(serviceId, random, 'the first bulk insert');
  for (let step = 1; step <= 60; step += 1) {
    const { waiting, inService } = await truth(serviceId);
    const roll = random();
    let what: string;
    if (roll < 0.15) {
      const count = 1 + Math.floor(random() * 20);
      what = `${count} racing enqueues`;
      await Promise.all(
        Array.from({ length: count }, (_, k) =>
          queue.enqueue({ serviceId, subject: `e${step}.${k}`, autoClose: random() < 0.1 }, OPEN_ACTOR),
        ),
      );
    } else if (roll < 0.25) {
      const count = 1 + Math.floor(random() * 700);
      what = `a bulk insert of ${count} anywhere in the last 2 hours`;
      await bulkInsert(serviceId, count, 7200, salt++);
    } else if (roll < 0.42) {
      const count = 1 + Math.floor(random() * agents.length);
      what = `${count} racing calls`;
      await Promise.all(
        agents.slice(0, count).map((agent) => desk.callNext({ serviceIds: [serviceId], agent }, OPEN_ACTOR)),
      );
    } else if (roll < 0.5) {
      const caseId = pick(random, waiting);
      what = `an out-of-turn call of ${caseId}`;
      if (caseId !== undefined) await callCase(t.db, { caseId, agent: 'desk-9' }, OPEN_ACTOR);
    } else if (roll < 0.65) {
      const placement = pick(random, ['BACK', 'FRONT', 'ORIGINAL'] as const) ?? 'BACK';
      const caseId = pick(random, inService);
      what = `a return of ${caseId} to ${placement}`;
      if (caseId !== undefined)
        await returnToQueue(t.db, { caseId, agent: 'desk-9', placement, reason: 'back' }, OPEN_ACTOR);
    } else if (roll < 0.75) {
      const caseId = pick(random, waiting);
      what = `a cancellation of ${caseId}`;
      if (caseId !== undefined) await cancelCase(t.db, { caseId, agent: 'desk-9', reason: 'left' }, OPEN_ACTOR);
    } else if (roll < 0.83) {
      const share = random() * 0.5;
      what = `a bulk cancellation of ${Math.round(share * 100)} % of the waiting`;
      await t.sql.query(
        `UPDATE cases SET status = 'CANCELLED', closed_at = clock_timestamp(), last_action = 'CANCEL'
          WHERE service_id = $1 AND status = 'WAITING' AND random() < $2`,
        [serviceId, share],
      );
    } else {
      const done = inService.filter(() => random() < 0.7);
      what = `${done.length} completions`;
      await Promise.all(done.map((caseId) => completeCase(t.db, { caseId, agent: 'desk-9' }, OPEN_ACTOR)));
    }
    if (step % 4 === 0 || step === 60) await expectCountsAgree(serviceId, random, `step ${step}, ${what}`);
  }
}

describe('positions and counts from blocks and tallies', () => {
  // Zones whose midnight is on a quarter of an hour and two that are not (+05:45, -03:30).
  const histories = [
    [1, 'UTC'],
    [2, 'Asia/Kathmandu'],
    [3, 'America/St_Johns'],
    [4, 'Pacific/Kiritimati'],
  ] as const;
  for (const [seed, zone] of histories)
    it(`equal plain counts over a randomised history (seed ${seed}, ${zone})`, async () => {
      await history(seed, zone);
    }, 180_000);

  it('come back exact after a rolled-back change', async () => {
    const serviceId = (await given.service(t.db, { name: 'Rolled back' })).id;
    await bulkInsert(serviceId, 600, 60, 0);
    const client = await t.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE cases SET status = 'CANCELLED', closed_at = now() WHERE service_id = $1`, [serviceId]);
      await client.query(
        `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket)
         SELECT $1, 'rolled back', DATE '1999-01-01', g, 'R' || g FROM generate_series(1, 700) AS g`,
        [serviceId],
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const statistics = await queueStatistics(t.db, serviceId, {}, OPEN_ACTOR);
    expect(statistics.waitingCount).toBe(600);
    expect((await truth(serviceId)).waiting).toHaveLength(600);
    expect(await blockErrors(serviceId)).toEqual([]);
  });
});
