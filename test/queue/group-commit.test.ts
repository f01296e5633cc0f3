// Group commit (src/queue/group-commit.ts), from the inside out. On its own:
// lanes per key, batch limits, idle lanes dropped. Against PostgreSQL without
// HTTP: a batch the database refuses written again request by request, so only
// the request at fault fails. Over real HTTP: enqueues that arrive while a
// write into their service is in flight go together in one statement, in
// arrival order, each answered after that statement's commit; a bad request in
// such a batch fails alone; calls gather behind a hand-out in flight the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedByDatabase } from '../../src/db/prisma-errors.js';
import {
  CallNextDocument,
  EnqueueCaseDocument,
  type CaseEnqueueInput,
} from '../../src/generated/operations/graphql.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { GroupCommit } from '../../src/queue/group-commit.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { lockWaiters, whileHolding } from '../helpers/locks.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

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

describe('over HTTP', () => {
  let t: TestGateway;
  const sent: string[] = [];

  beforeAll(async () => {
    t = await startTestGateway({ onQuery: ({ sql }) => sent.push(sql) });
  });

  afterAll(async () => {
    await t.stop();
  });

  const isEnqueueStatement = (sql: string) => sql.includes('INSERT INTO ticket_counters');
  const isStandingsRead = (sql: string) => sql.includes('WITH asked AS');

  /** A service whose tickets read G001, G002, ... */
  const newService = async (name: string): Promise<number> => (await given.service(t.db, { name, queueCode: 'G' })).id;

  /**
   * Holds the shared write of `first` in flight (it cannot draw its ticket
   * while the counters are locked), sends `rest` one by one (so they arrive in
   * that order and queue up behind it), then lets go. Returns the responses in
   * the order sent.
   */
  async function behindAWriteInFlight(first: CaseEnqueueInput, rest: readonly CaseEnqueueInput[]) {
    return whileHolding(t.sql, 'LOCK TABLE ticket_counters IN SHARE MODE', [], async (release) => {
      const leader = t.request(EnqueueCaseDocument, { input: first });
      await lockWaiters(t.sql, 1);
      const followers = [];
      for (const input of rest) {
        followers.push(t.request(EnqueueCaseDocument, { input }));
        // Let each request reach the gateway before the next is sent.
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      const statementsBefore = sent.filter(isEnqueueStatement).length;
      await release();
      const responses = await Promise.all([leader, ...followers]);
      return { responses, statementsAfterRelease: sent.filter(isEnqueueStatement).length - statementsBefore };
    });
  }

  describe('enqueues arriving while a write into their service is in flight', () => {
    it('are written by one statement, in arrival order, with one position read for them all', async () => {
      const serviceId = await newService('Gathered');
      const inputs = Array.from({ length: 20 }, (_, index) => ({
        serviceId,
        subject: `arrival ${index}`,
        customProperties: [{ key: 'arrival', value: String(index) }],
      }));
      const standingsBefore = sent.filter(isStandingsRead).length;
      const { responses, statementsAfterRelease } = await behindAWriteInFlight(
        { serviceId, subject: 'leader' },
        inputs,
      );
      const answers = responses.map((response) => expectData(response).enqueueCase);

      // (Statements are logged when they finish.) The leader's statement, and
      // one more for all 20 followers.
      expect(statementsAfterRelease).toBe(2);
      // One position read per batch, however many answers asked for a position.
      expect(sent.filter(isStandingsRead).length - standingsBefore).toBe(2);
      expect(answers.map((answer) => answer.subject)).toEqual(['leader', ...inputs.map((input) => input.subject)]);
      expect(answers.map((answer) => answer.position)).toEqual(Array.from({ length: 21 }, (_, index) => index + 1));
      expect(answers.map((answer) => answer.ticket)).toEqual(
        Array.from({ length: 21 }, (_, index) => `G${String(index + 1).padStart(3, '0')}`),
      );
      expect(answers.slice(1).map((answer) => answer.customProperties)).toEqual(
        inputs.map((input) => input.customProperties),
      );

      // Stored as answered: queue order is arrival order, and ids follow it.
      const { rows } = await t.sql.query<{ id: number; subject: string; properties: string[] }>(
        `SELECT c.id, c.subject, array(SELECT value FROM case_properties p WHERE p.case_id = c.id) AS properties
           FROM cases c WHERE c.service_id = $1 AND c.status = 'WAITING' ORDER BY c.queued_at, c.queue_seq`,
        [serviceId],
      );
      expect(rows.map((row) => row.subject)).toEqual(answers.map((answer) => answer.subject));
      expect(rows.map((row) => row.id)).toEqual(answers.map((answer) => answer.caseId));
      expect(rows.map((row) => row.id)).toEqual([...rows.map((row) => row.id)].sort((a, b) => a - b));
      expect(rows.slice(1).map((row) => row.properties)).toEqual(
        inputs.map((input) => [input.customProperties[0]!.value]),
      );
    });

    it('are written by one statement whatever services they name, each service numbering its own tickets', async () => {
      const services = [await newService('Spread 1'), await newService('Spread 2'), await newService('Spread 3')];
      const inputs = Array.from({ length: 12 }, (_, index) => ({
        serviceId: services[index % 3]!,
        subject: `spread ${index}`,
      }));
      const { responses, statementsAfterRelease } = await behindAWriteInFlight(
        { serviceId: services[0]!, subject: 'leader' },
        inputs,
      );
      const answers = responses.map((response) => expectData(response).enqueueCase);
      expect(statementsAfterRelease).toBe(2);
      const [leader, ...rest] = answers;
      expect(leader?.ticket).toBe('G001');
      // Per service, tickets and positions follow arrival order.
      services.forEach((serviceId, index) => {
        const mine = rest.filter((answer) => answer.serviceId === serviceId);
        const offset = index === 0 ? 1 : 0;
        expect(mine.map((answer) => answer.ticket)).toEqual(
          [1, 2, 3, 4].map((n) => `G${String(n + offset).padStart(3, '0')}`),
        );
        expect(mine.map((answer) => answer.position)).toEqual([1, 2, 3, 4].map((n) => n + offset));
      });
    });

    it('fail only the requests at fault, each with its own error, and write nothing for them', async () => {
      const serviceId = await newService('Mixed');
      const inactive = (await given.customer(t.db, { name: 'Gone away', active: false })).id;
      const regular = (await given.customer(t.db, { name: 'Regular' })).id;
      const earlier = await given.waitingCase(t.db, { serviceId, subject: 'first try', idempotencyKey: 'mixed-key' });

      const batch: CaseEnqueueInput[] = [
        { serviceId, subject: 'fine 1' },
        { serviceId, subject: 'inactive customer', customerId: inactive },
        { serviceId, subject: 'fine 2', customerId: regular },
        { serviceId, subject: 'unknown customer', customerId: 999_999 },
        { serviceId, subject: 'first try', idempotencyKey: 'mixed-key' },
        { serviceId, subject: 'another request', idempotencyKey: 'mixed-key' },
        { serviceId, subject: 'fine 3', idempotencyKey: 'fresh-key' },
      ];
      const { responses, statementsAfterRelease } = await behindAWriteInFlight({ serviceId, subject: 'leader' }, batch);
      expect(statementsAfterRelease).toBe(2);
      const [leader, fine1, inactiveCustomer, fine2, unknownCustomer, retry, reused, fine3] = responses;

      expect(expectError(inactiveCustomer!).extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'customerId',
        rule: 'active',
      });
      expect(expectError(unknownCustomer!).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
      expect(expectError(reused!).extensions).toMatchObject({ code: 'CONFLICT', field: 'idempotencyKey' });
      expect(expectData(retry!).enqueueCase).toMatchObject({
        caseId: earlier.id,
        ticket: earlier.ticket,
        position: 1,
      });
      const written = [leader, fine1, fine2, fine3].map((response) => expectData(response!).enqueueCase);
      expect(written.map((answer) => answer.subject)).toEqual(['leader', 'fine 1', 'fine 2', 'fine 3']);
      expect(written.map((answer) => answer.position)).toEqual([2, 3, 4, 5]);

      const { rows } = await t.sql.query<{ subject: string }>(
        `SELECT subject FROM cases WHERE service_id = $1 ORDER BY queued_at, queue_seq`,
        [serviceId],
      );
      expect(rows.map((row) => row.subject)).toEqual(['first try', 'leader', 'fine 1', 'fine 2', 'fine 3']);
    });

    it('that name no service, or an inactive one, are answered without waiting for any lock', async () => {
      const inactive = (await given.service(t.db, { name: 'Closed lane', active: false })).id;
      const before = sent.length;
      const [unknownId, unknownRef, closed] = await Promise.all([
        t.request(EnqueueCaseDocument, { input: { serviceId: 987_654, subject: 'nowhere' } }),
        t.request(EnqueueCaseDocument, { input: { serviceIdExtRef: 'NO-SUCH-SERVICE', subject: 'nowhere' } }),
        t.request(EnqueueCaseDocument, { input: { serviceId: inactive, subject: 'closed' } }),
      ]);
      expect(expectError(unknownId).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceId' });
      expect(expectError(unknownRef).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceIdExtRef' });
      expect(expectError(closed).extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'serviceId',
        rule: 'active',
      });
      expect(sent.slice(before).filter((sql) => sql.includes('hot: enqueue wait'))).toEqual([]);
    });

    it('wait for their own service when another transaction holds it, and only for it', async () => {
      const [held, free] = await Promise.all([newService('Held lane'), newService('Free lane')]);
      await whileHolding(t.sql, 'SELECT id FROM services WHERE id = $1 FOR NO KEY UPDATE', [held], async (release) => {
        const waiting = [];
        for (let index = 0; index < 3; index += 1) {
          waiting.push(t.request(EnqueueCaseDocument, { input: { serviceId: held, subject: `waits ${index}` } }));
          if (index === 0) await lockWaiters(t.sql, 1);
          else await new Promise((resolve) => setTimeout(resolve, 40));
        }
        const passing = await Promise.all(
          Array.from({ length: 5 }, (_, index) =>
            t.request(EnqueueCaseDocument, { input: { serviceId: free, subject: `passes ${index}` } }),
          ),
        );
        expect(passing.map((response) => expectData(response).enqueueCase.subject)).toEqual(
          Array.from({ length: 5 }, (_, index) => `passes ${index}`),
        );
        const { rows } = await t.sql.query('SELECT id FROM cases WHERE service_id = $1', [held]);
        expect(rows).toEqual([]);
        await release();
        const written = (await Promise.all(waiting)).map((response) => expectData(response).enqueueCase);
        expect(written.map((answer) => [answer.subject, answer.ticket])).toEqual(
          [0, 1, 2].map((index) => [`waits ${index}`, `G00${index + 1}`]),
        );
      });
    });
  });

  describe('calls for the same services arriving while a hand-out is in flight', () => {
    it('are answered together by one statement: the oldest case to the call that arrived first', async () => {
      const serviceId = await newService('Desks');
      const enqueued: number[] = [];
      for (let index = 0; index < 12; index += 1)
        enqueued.push((await given.waitingCase(t.db, { serviceId, subject: `case ${index}` })).id);
      const isCallStatement = (sql: string) => sql.includes('FOR UPDATE SKIP LOCKED');
      // Hold the first hand-out in flight: it cannot write its history event yet.
      await whileHolding(t.sql, 'LOCK TABLE case_events IN SHARE MODE', [], async (release) => {
        const first = t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent: 'desk-0' } });
        await lockWaiters(t.sql, 1);
        const rest = [];
        for (let desk = 1; desk <= 10; desk += 1) {
          rest.push(t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent: `desk-${desk}` } }));
          await new Promise((resolve) => setTimeout(resolve, 40));
        }
        const before = sent.filter(isCallStatement).length;
        await release();
        const answers = (await Promise.all([first, ...rest])).map((response) => expectData(response).callNext);
        // The first call's statement, and one for the ten that gathered behind it.
        expect(sent.filter(isCallStatement).length - before).toBe(2);
        expect(answers.map((answer) => answer?.id)).toEqual(enqueued.slice(0, 11));
        expect(answers.map((answer) => answer?.lastAgent)).toEqual(
          Array.from({ length: 11 }, (_, desk) => `desk-${desk}`),
        );
        const { rows } = await t.sql.query<{ case_id: number; agent: string }>(
          `SELECT e.case_id, e.agent FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.service_id = $1 AND e.action = 'CALL_NEXT' ORDER BY e.case_id`,
          [serviceId],
        );
        expect(rows).toEqual(answers.map((answer) => ({ case_id: answer?.id, agent: answer?.lastAgent })));
      });
    });
  });
});
