// A follow waits for the writers of its service that looked for followers
// before it registered (src/db/change-listener.ts). That wait must hold up
// nothing else: not the notifications of other services, not their follows,
// not the service's own later writers; and when it outlasts its bound, the
// writers' changes must still reach the subscriber once they commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { FOLLOW_LOCK_NAMESPACE, FOLLOW_WAIT_MS, startChangeListener } from '../../src/db/change-listener.js';
import { silentLogger } from '../../src/log.js';
import { FollowCaseDocument, FollowQueueDocument } from '../../src/generated/operations/graphql.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import * as given from '../helpers/given.js';
import { liveClient, type LiveClient } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let live: LiveClient;

beforeAll(async () => {
  t = await startTestGateway();
  live = liveClient(t.gateway.url);
});

afterAll(async () => {
  await live.close();
  await t.stop();
});

/** Requests for a service's follow lock that wait (are not granted). */
async function lockWaits(serviceId: number): Promise<number> {
  const { rows } = await t.sql.query<{ waiting: number }>(
    `SELECT count(*)::int AS waiting FROM pg_locks
      WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND NOT granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [FOLLOW_LOCK_NAMESPACE, serviceId],
  );
  return rows[0]?.waiting ?? 0;
}

// An update that takes a few hundred milliseconds at most; today's stall lasts as long as the writer.
const PROMPTLY_MS = 2_000;

describe('a follow waiting for an open writer of its service', () => {
  it("holds up no other service's updates or follows, and its subscriber still gets the writer's change", async () => {
    const busy = (await given.service(t.db, { queueCode: 'B' })).id;
    const other = (await given.service(t.db, { queueCode: 'O' })).id;
    const third = (await given.service(t.db)).id;
    const mine = await given.waitingCase(t.db, { serviceId: busy });
    const screen = live.subscribe(FollowQueueDocument, { serviceId: other, first: 5 });
    expect((await screen.until(() => true)).queueChanged.waitingCount).toBe(0);

    const writer = await t.sql.connect();
    try {
      // Nobody follows `busy` yet: the writer's trigger announces nothing and holds its shared lock until it ends.
      await writer.query('BEGIN');
      await writer.query(
        `UPDATE cases SET status = 'IN_SERVICE', last_action = 'CALL_NEXT', last_agent = 'desk-late',
                          called_at = clock_timestamp(), updated_at = clock_timestamp()
          WHERE id = $1`,
        [mine.id],
      );
      const kiosk = live.subscribe(FollowCaseDocument, { caseId: mine.id });
      // Its follow waits for the writer.
      await expect.poll(() => lockWaits(busy)).toBe(1);

      // Meanwhile another service's subscriber hears its changes...
      await given.waitingCase(t.db, { serviceId: other });
      const update = await screen.until((data) => data.queueChanged.waitingCount === 1, PROMPTLY_MS);
      expect(update.queueChanged.changes.map((change) => change.action)).toEqual(['ENQUEUE']);
      // ...and a third service is followed, its state sent.
      const newcomer = live.subscribe(FollowQueueDocument, { serviceId: third });
      expect((await newcomer.until(() => true, PROMPTLY_MS)).queueChanged.waitingCount).toBe(0);
      newcomer.stop();

      await writer.query('COMMIT');
      // Whether the follow saw the writer end or gave up waiting first, the kiosk ends on the writer's change.
      const called = await kiosk.until((data) => data.caseChanged.status === 'IN_SERVICE');
      expect(called.caseChanged).toMatchObject({ caseId: mine.id, lastAction: 'CALL_NEXT', lastAgent: 'desk-late' });
      kiosk.stop();
      screen.stop();
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      writer.release();
    }
  });
});

describe('a subscriber whose service has a writer open for longer than the bound', () => {
  it("gets the committed state at the bound, then the writer's change once it ends", async () => {
    const serviceId = (await given.service(t.db)).id;
    const mine = await given.waitingCase(t.db, { serviceId });
    const writer = await t.sql.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        `UPDATE cases SET status = 'CANCELLED', last_action = 'CANCEL', closed_at = clock_timestamp(),
                          updated_at = clock_timestamp()
          WHERE id = $1`,
        [mine.id],
      );
      const kiosk = live.subscribe(FollowCaseDocument, { caseId: mine.id });
      // FOLLOW_WAIT_MS (3 s) and then some: the state as committed, without the open writer's change.
      const first = await kiosk.next(FOLLOW_WAIT_MS + 10_000);
      expect(first.data?.caseChanged).toMatchObject({ status: 'WAITING', position: 1 });
      await writer.query('COMMIT');
      // Never announced (the writer looked before the follow's row): read again once the writer has ended.
      expect((await kiosk.until(() => true)).caseChanged).toMatchObject({ status: 'CANCELLED', lastAction: 'CANCEL' });
      await kiosk.completed;
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      writer.release();
    }
  });
});

describe('a follow whose wait outlasts its bound', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(inject('serverUrl'));
  });

  afterAll(async () => {
    await database.drop();
  });

  it('resolves at the bound, holds up no later writer, and reports the service caught up once the earlier writer ends', async () => {
    const sql = testPool(database.url, 3);
    const heard: string[] = [];
    const caughtUp: number[] = [];
    const listener = startChangeListener({
      databaseUrl: database.url,
      log: silentLogger,
      onNotification: (payload) => heard.push(payload),
      onConnected: () => undefined,
      onCaughtUp: (serviceId) => caughtUp.push(serviceId),
      followWaitMs: 300,
    });
    const writer = await sql.connect();
    try {
      await listener.ready;
      const { rows: services } = await sql.query<{ id: number }>(
        `INSERT INTO services (name) VALUES ('barrier') RETURNING id`,
      );
      const serviceId = services[0]!.id;
      const insertCase = (number: number) =>
        `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket)
         VALUES (${serviceId}, 'barrier', current_date, ${number}, 'T${number}') RETURNING id`;

      // The earlier writer changes a case without moving it in the queue (its notes): it takes the
      // trigger's shared lock but no count's lock, since writers that enter or leave a queue wait for
      // one another on its counts (migration flat_counts), whatever the follow does.
      const early = (await sql.query<{ id: number }>(insertCase(1))).rows[0]!.id;
      await writer.query('BEGIN');
      await writer.query(`UPDATE cases SET notes = 'held open' WHERE id = $1`, [early]);
      let settled = false;
      const followed = listener.follow(serviceId).then(() => (settled = true));
      // The writer stays open: the follow gives up waiting at its bound.
      await expect.poll(() => settled, { timeout: 10_000 }).toBe(true);
      await followed;
      expect(caughtUp).toEqual([]);

      // Writers after it are not queued behind a waiting follow; they see the row and are announced.
      const later = await sql.connect();
      let lateId: number;
      try {
        await later.query('BEGIN');
        await later.query(`SET LOCAL lock_timeout = '5s'`);
        lateId = (await later.query<{ id: number }>(insertCase(2))).rows[0]!.id;
        await later.query('COMMIT');
      } finally {
        later.release();
      }
      await expect.poll(() => heard.some((payload) => payload.includes(`"caseId" : ${lateId}`))).toBe(true);
      expect(caughtUp).toEqual([]);

      await writer.query('COMMIT');
      await expect.poll(() => caughtUp, { timeout: 10_000 }).toEqual([serviceId]);
      // The earlier writer looked before the row existed and announced nothing: the read after catching up shows it.
      expect(heard.some((payload) => payload.includes(`"caseId" : ${early}`))).toBe(false);
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      writer.release();
      await listener.stop();
      await sql.end();
    }
  });
});
