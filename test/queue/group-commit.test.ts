// Group commit on its own: lanes per key, batch limits, idle lanes dropped;
// and, against PostgreSQL without HTTP, a batch the database refuses written
// again request by request, so only the request at fault fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedByDatabase } from '../../src/db/prisma-errors.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { GroupCommit } from '../../src/queue/group-commit.js';
import * as given from '../helpers/given.js';
import { lockWaiters } from '../helpers/locks.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

/** A write that records its batches and can be held open. */
function recorder() {
  const batches: string[][] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  return {
    batches,
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
    write: async (items: readonly string[]) => {
      batches.push([...items]);
      await gate;
      return items.map((item) => (item.startsWith('bad') ? new Error(`refused ${item}`) : item.toUpperCase()));
    },
  };
}

describe('GroupCommit', () => {
  it('writes a lone item at once, and gathers the items that arrive while a write is in flight', async () => {
    const r = recorder();
    const lanes = new GroupCommit(r.write, 3);
    r.hold();
    const first = lanes.submit('a', 'one');
    const rest = ['two', 'three', 'four', 'five'].map((item) => lanes.submit('a', item));
    expect(r.batches).toEqual([['one']]);
    r.release();
    expect(await Promise.all([first, ...rest])).toEqual(['ONE', 'TWO', 'THREE', 'FOUR', 'FIVE']);
    // At most three per write, in arrival order.
    expect(r.batches).toEqual([['one'], ['two', 'three', 'four'], ['five']]);
    expect(lanes.activeLanes).toBe(0);
  });

  it('keeps keys apart, and fails only the item the write refused', async () => {
    const r = recorder();
    const lanes = new GroupCommit(r.write, 10);
    r.hold();
    const a = lanes.submit('a', 'a1');
    const b = lanes.submit('b', 'b1');
    expect(r.batches).toEqual([['a1'], ['b1']]);
    const gathered = [lanes.submit('a', 'a2'), lanes.submit('a', 'bad a3'), lanes.submit('a', 'a4')];
    r.release();
    expect(await Promise.all([a, b])).toEqual(['A1', 'B1']);
    const settled = await Promise.allSettled(gathered);
    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(r.batches[2]).toEqual(['a2', 'bad a3', 'a4']);
  });

  it('fails every item of a write that throws, and goes on with the next', async () => {
    let calls = 0;
    const lanes = new GroupCommit((items: readonly number[]) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('connection lost'));
      return Promise.resolve(items.map((item) => item * 2));
    }, 10);
    const outcomes = await Promise.allSettled([lanes.submit('k', 1), lanes.submit('k', 2)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    expect(await lanes.submit('k', 5)).toBe(10);
  });
});

describe('a batch the database refuses', () => {
  let t: TestDatabaseClient;
  const enqueueStatements: string[] = [];
  /** Waits until `count` enqueue statements that skip held services have finished. */
  const sharedWrites = async (count: number) => {
    for (let tries = 0; enqueueStatements.filter((text) => text.includes('skip-held')).length < count; tries += 1) {
      if (tries === 500) throw new Error(`never saw ${count} shared enqueue statements`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  beforeAll(async () => {
    t = await startTestDatabaseClient({
      onQuery: ({ sql: text }) => {
        if (text.includes('INSERT INTO ticket_counters')) enqueueStatements.push(text);
      },
    });
  });

  afterAll(async () => {
    await t.stop();
  });

  it('is written again request by request: the one whose customer was deleted fails, its neighbour is written', async () => {
    const service = await given.service(t.db, { name: 'Refused batch' });
    const customer = await given.customer(t.db, { name: 'Leaving' });
    const queue = createEnqueuer(t.db);
    const [first, second] = [await t.sql.connect(), await t.sql.connect()];
    try {
      // A write into the service waits on a held lock; two more requests queue up behind it as one batch.
      await first.query('BEGIN');
      await first.query('SELECT id FROM services WHERE id = $1 FOR NO KEY UPDATE', [service.id]);
      const leader = queue.enqueue({ serviceId: service.id, subject: 'leader' }, OPEN_ACTOR);
      await lockWaiters(t.sql, 1);
      const withCustomer = queue.enqueue(
        { serviceId: service.id, subject: 'with customer', customerId: customer.id },
        OPEN_ACTOR,
      );
      const plain = queue.enqueue({ serviceId: service.id, subject: 'plain' }, OPEN_ACTOR);
      // Both found the service held (as the leader did), one shared statement
      // each, and now queue for it behind the leader's waiting write.
      await sharedWrites(3);
      expect(enqueueStatements.filter((text) => text.includes('skip-held'))).toHaveLength(3);
      // A second transaction holds the customer's row: the batch's foreign-key
      // check will wait for it, after the batch has taken its snapshot (in
      // which the customer exists). The leader names no customer.
      await second.query('BEGIN');
      await second.query('SELECT id FROM customers WHERE id = $1 FOR UPDATE', [customer.id]);
      await first.query('COMMIT');
      expect((await leader).subject).toBe('leader');
      await lockWaiters(t.sql, 1);
      await second.query('DELETE FROM customers WHERE id = $1', [customer.id]);
      await second.query('COMMIT');

      await expect(withCustomer).rejects.toMatchObject({ code: 'NOT_FOUND', issue: { field: 'customerId' } });
      expect((await plain).subject).toBe('plain');
      // Waiting writes: the leader, then each of the two alone. Prisma logs
      // only statements that succeed, so the refused batch of two is not
      // counted; two requests written apart from the start would make two.
      expect(enqueueStatements.filter((text) => !text.includes('skip-held'))).toHaveLength(3);
      const { rows } = await t.sql.query<{ subject: string }>(
        'SELECT subject FROM cases WHERE service_id = $1 ORDER BY queued_at, queue_seq',
        [service.id],
      );
      expect(rows.map((row) => row.subject)).toEqual(['leader', 'plain']);
    } finally {
      for (const client of [first, second]) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
      }
    }
  });
  it('tells an error PostgreSQL raised (nothing committed) from one that may have come after a commit', async () => {
    const raised = await t.db.$queryRaw`SELECT 1 / 0`.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusedByDatabase(raised)).toBe(true);
    expect(refusedByDatabase(new Error('connection lost'))).toBe(false);
  });

  it('lets at most maxWaiting writes wait for held services at once', async () => {
    const [first, second] = [
      await given.service(t.db, { name: 'Held one' }),
      await given.service(t.db, { name: 'Held two' }),
    ];
    const queue = createEnqueuer(t.db, t.db, { maxWaiting: 1 });
    const holders = [await t.sql.connect(), await t.sql.connect()];
    try {
      for (const [index, service] of [first, second].entries()) {
        await holders[index]!.query('BEGIN');
        await holders[index]!.query('SELECT id FROM services WHERE id = $1 FOR NO KEY UPDATE', [service.id]);
      }
      const one = queue.enqueue({ serviceId: first.id, subject: 'one' }, OPEN_ACTOR);
      await lockWaiters(t.sql, 1);
      const before = enqueueStatements.length;
      const two = queue.enqueue({ serviceId: second.id, subject: 'two' }, OPEN_ACTOR);
      // Its shared write found the service held; its waiting write has no slot yet.
      for (let tries = 0; enqueueStatements.length === before; tries += 1) {
        if (tries === 500) throw new Error('the second request never reached the database');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { rows } = await t.sql.query<{ waiting: number }>(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      expect(rows[0]?.waiting).toBe(1);
      // Its service is free now, but the slot is still taken by the first.
      await holders[1]!.query('COMMIT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await t.sql.query('SELECT id FROM cases WHERE service_id = $1', [second.id])).rows).toEqual([]);
      await holders[0]!.query('COMMIT');
      expect([(await one).subject, (await two).subject]).toEqual(['one', 'two']);
    } finally {
      for (const holder of holders) {
        await holder.query('ROLLBACK').catch(() => undefined);
        holder.release();
      }
    }
  });
});
