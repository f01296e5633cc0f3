// Tickets across midnight: numbering starts again from 1 on a service's
// first enqueue of a new day, unless a case numbered on an earlier day is
// still waiting or in service; then it goes on, so no two open cases of one
// queue ever share a ticket (a screen calling "Q001" must mean one person).
//
// Days pass here without waiting for midnight: every ticket day of the
// service, and its counter's, is moved one day back, which is what the
// enqueue statement sees when the clock moves one day on.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createEnqueuer, type Enqueuer } from '../../src/queue/enqueue-case.js';
import { callCase, cancelCase, completeCase } from '../../src/queue/transitions.js';
import * as given from '../helpers/given.js';
import { lockWaiters } from '../helpers/locks.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

let t: TestDatabaseClient;
let queue: Enqueuer;
const agent = 'desk-tickets';

beforeAll(async () => {
  t = await startTestDatabaseClient();
  queue = createEnqueuer(t.db);
});

afterAll(async () => {
  await t.stop();
});

const newService = async (): Promise<number> => (await given.service(t.db, { queueCode: 'Q' })).id;

/** Enqueues `count` cases at once; their tickets in enqueue order. */
async function enqueue(serviceId: number, count: number): Promise<{ id: number; ticket: string }[]> {
  const cases = await Promise.all(
    Array.from({ length: count }, () => queue.enqueue({ serviceId, subject: 'ticket' }, OPEN_ACTOR)),
  );
  return cases.map(({ id, ticket }) => ({ id, ticket })).sort((a, b) => a.id - b.id);
}

/** One day passes for the service: its ticket days move one day into the past (in two steps: they are unique). */
async function aDayPasses(serviceId: number): Promise<void> {
  for (const days of [-10_000, 9_999]) {
    await t.sql.query(`UPDATE cases SET ticket_day = ticket_day + $2::int WHERE service_id = $1`, [serviceId, days]);
    await t.sql.query(
      `UPDATE ticket_counters SET day = day + $2::int, started_on = started_on + $2::int WHERE service_id = $1`,
      [serviceId, days],
    );
  }
}

/** The tickets of the service's open (waiting or in service) cases. */
async function openTickets(serviceId: number): Promise<string[]> {
  const { rows } = await t.sql.query<{ ticket: string }>(
    `SELECT ticket FROM cases WHERE service_id = $1 AND status IN ('WAITING', 'IN_SERVICE') ORDER BY id`,
    [serviceId],
  );
  return rows.map((row) => row.ticket);
}

const tickets = (cases: readonly { ticket: string }[]): string[] => cases.map((c) => c.ticket);

describe('tickets across midnight', () => {
  it('go on from yesterday while yesterday’s cases still wait', async () => {
    const serviceId = await newService();
    expect(tickets(await enqueue(serviceId, 3))).toEqual(['Q001', 'Q002', 'Q003']);
    await aDayPasses(serviceId);
    expect(tickets(await enqueue(serviceId, 3))).toEqual(['Q004', 'Q005', 'Q006']);
    expect(await openTickets(serviceId)).toEqual(['Q001', 'Q002', 'Q003', 'Q004', 'Q005', 'Q006']);
  });

  it('go on while one of yesterday’s cases is in service, and start from 1 once none is open', async () => {
    const serviceId = await newService();
    const [first, second] = await enqueue(serviceId, 2);
    await callCase(t.db, { caseId: first?.id ?? 0, agent }, OPEN_ACTOR);
    await cancelCase(t.db, { caseId: second?.id ?? 0, agent, reason: 'left' }, OPEN_ACTOR);
    await aDayPasses(serviceId);
    expect(tickets(await enqueue(serviceId, 1))).toEqual(['Q003']);
    await completeCase(t.db, { caseId: first?.id ?? 0, agent }, OPEN_ACTOR);
    // Still the same day: numbering does not start again in the middle of it.
    expect(tickets(await enqueue(serviceId, 1))).toEqual(['Q004']);
    await aDayPasses(serviceId);
    // Q003 and Q004 still wait: they were numbered on an earlier day.
    expect(tickets(await enqueue(serviceId, 1))).toEqual(['Q005']);
    const { rows } = await t.sql.query<{ id: number }>(
      `SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING'`,
      [serviceId],
    );
    for (const { id } of rows) await cancelCase(t.db, { caseId: id, agent, reason: 'closing' }, OPEN_ACTOR);
    await aDayPasses(serviceId);
    expect(tickets(await enqueue(serviceId, 2))).toEqual(['Q001', 'Q002']);
  });

  it('start from 1 on a new day when nothing is open, as before', async () => {
    const serviceId = await newService();
    const cases = await enqueue(serviceId, 2);
    for (const { id } of cases) await cancelCase(t.db, { caseId: id, agent, reason: 'closing' }, OPEN_ACTOR);
    await aDayPasses(serviceId);
    expect(tickets(await enqueue(serviceId, 2))).toEqual(['Q001', 'Q002']);
    const { rows } = await t.sql.query<{ started_on: string; day: string }>(
      `SELECT started_on::text, day::text FROM ticket_counters WHERE service_id = $1`,
      [serviceId],
    );
    expect(rows[0]?.started_on).toBe(rows[0]?.day);
  });

  it('go on when an enqueue of yesterday commits while today’s first one waits for the service', async () => {
    // Yesterday: Q001, completed. An enqueue that read the clock just before
    // midnight (Q002, yesterday's) commits only after today's first enqueue
    // took its snapshot: that snapshot shows no open case of yesterday, and
    // yet Q002 waits. Numbering must go on, not start from 1 again.
    const serviceId = await newService();
    const [early] = await enqueue(serviceId, 1);
    await callCase(t.db, { caseId: early?.id ?? 0, agent }, OPEN_ACTOR);
    await completeCase(t.db, { caseId: early?.id ?? 0, agent }, OPEN_ACTOR);
    await aDayPasses(serviceId);
    const late = await t.sql.connect();
    try {
      // The late enqueue, written as the enqueue statement writes one: under the service's lock.
      await late.query('BEGIN');
      await late.query('SELECT id FROM services WHERE id = $1 FOR NO KEY UPDATE', [serviceId]);
      await late.query(
        `INSERT INTO cases (service_id, status, ticket_day, ticket_number, ticket)
         SELECT service_id, 'WAITING', day, last_number + 1, 'Q' || lpad((last_number + 1)::text, 3, '0')
           FROM ticket_counters WHERE service_id = $1`,
        [serviceId],
      );
      await late.query('UPDATE ticket_counters SET last_number = last_number + 1 WHERE service_id = $1', [serviceId]);
      // Today's enqueues find the service held and wait for it, their snapshot taken.
      const today = enqueue(serviceId, 3);
      await lockWaiters(t.sql, 1);
      await late.query('COMMIT');
      expect(tickets(await today)).toEqual(['Q003', 'Q004', 'Q005']);
    } finally {
      await late.query('ROLLBACK').catch(() => undefined);
      late.release();
    }
    expect(await openTickets(serviceId)).toEqual(['Q002', 'Q003', 'Q004', 'Q005']);
  });
});

/** What the rule says each enqueue's ticket is, step by step. */
class Numbering {
  private today = 0;
  private counterDay = 0;
  private last = 0;
  /** Open cases: id → the day it was numbered. */
  readonly open = new Map<number, number>();

  draw(): number {
    const earlierOpen = [...this.open.values()].some((day) => day < this.today);
    if (this.today > this.counterDay && !earlierOpen) this.last = 0;
    this.counterDay = this.today;
    return (this.last += 1);
  }

  enqueued(id: number): void {
    this.open.set(id, this.counterDay);
  }

  dayPassed(): void {
    this.today += 1;
  }
}

type Step =
  | { readonly kind: 'enqueue'; readonly count: number }
  | { readonly kind: 'close'; readonly pick: number }
  | { readonly kind: 'day' };

describe('tickets over many days', () => {
  it('are what the rule says after any enqueues, closings and midnights, and never shared by open cases', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('enqueue' as const), count: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('close' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('day' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps: Step[]) => {
        const serviceId = await newService();
        const model = new Numbering();
        for (const next of steps) {
          if (next.kind === 'day') {
            await aDayPasses(serviceId);
            model.dayPassed();
          } else if (next.kind === 'close') {
            const ids = [...model.open.keys()];
            const caseId = ids[next.pick % Math.max(1, ids.length)];
            if (caseId === undefined) continue;
            await cancelCase(t.db, { caseId, agent, reason: 'closing' }, OPEN_ACTOR);
            model.open.delete(caseId);
          } else {
            const cases = await enqueue(serviceId, next.count);
            const expected = cases.map(() => `Q${String(model.draw()).padStart(3, '0')}`);
            cases.forEach(({ id }) => model.enqueued(id));
            expect(tickets(cases), JSON.stringify(steps)).toEqual(expected);
          }
          const open = await openTickets(serviceId);
          expect(new Set(open).size, JSON.stringify(steps)).toBe(open.length);
        }
      }),
      { numRuns: 30 },
    );
  });
});
