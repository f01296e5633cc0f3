// The webhook outbox (migration `webhooks`): the triggers on cases and
// services record each committed change in webhook_events, in the changing
// statement, for the types some endpoint that is not disabled wants. Checked
// against what the queue's own writes did: racing enqueues in one group
// commit, auto-closes, hand-outs, returns, completions, cancellations, a
// rolled-back change, service filters, disabled endpoints, service updates
// and case.approaching (once per case and position, also when several cases
// move at once).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createCaller, type Caller } from '../../src/queue/call-next.js';
import { createEnqueuer, type Enqueuer } from '../../src/queue/enqueue-case.js';
import { updateService } from '../../src/queue/services.js';
import { cancelCase, completeCase, returnToQueue } from '../../src/queue/transitions.js';
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

beforeEach(async () => {
  await t.sql.query('DELETE FROM webhook_endpoints');
  await t.sql.query('DELETE FROM webhook_events');
});

const EVERY_EVENT = [
  'case.enqueued',
  'case.called',
  'case.returned',
  'case.completed',
  'case.cancelled',
  'case.approaching',
  'service.updated',
];

interface EndpointOptions {
  readonly events?: readonly string[];
  readonly serviceIds?: readonly number[];
  readonly status?: 'ENABLED' | 'DISABLED' | 'FAILING';
  readonly approachPosition?: number;
}

async function endpoint({
  events = EVERY_EVENT,
  serviceIds = [],
  status = 'ENABLED',
  approachPosition = 2,
}: EndpointOptions = {}): Promise<number> {
  const { rows } = await t.sql.query<{ id: number }>(
    `INSERT INTO webhook_endpoints (url, events, service_ids, status, approach_position, secret, created_by)
     VALUES ('https://receiver.example/hook', $1::webhook_event_type[], $2::int[], $3, $4, 'whsec_test', 'test')
     RETURNING id`,
    [events, serviceIds, status, approachPosition],
  );
  return rows[0]?.id ?? 0;
}

interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  readonly service_id: number;
  readonly case_id: number | null;
  readonly threshold: number | null;
  readonly data: Record<string, unknown>;
}

async function events(serviceId?: number): Promise<RecordedEvent[]> {
  const { rows } = await t.sql.query<RecordedEvent>(
    `SELECT e.id::text AS id, e.type::text AS type, e.service_id, e.case_id, e.threshold, webhook_event_data(e) AS data
       FROM webhook_events e
      WHERE $1::int IS NULL OR e.service_id = $1 ORDER BY e.id`,
    [serviceId ?? null],
  );
  return rows;
}

/** Waiting case ids of a service in queue order, by a plain query. */
async function waiting(serviceId: number): Promise<number[]> {
  const { rows } = await t.sql.query<{ id: number }>(
    `SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING' ORDER BY queued_at, queue_seq`,
    [serviceId],
  );
  return rows.map((row) => row.id);
}

describe('the webhook outbox', () => {
  it('records nothing while no endpoint wants anything', async () => {
    const service = await given.service(t.db);
    await queue.enqueue({ serviceId: service.id, subject: 'nobody listens' }, OPEN_ACTOR);
    await endpoint({ status: 'DISABLED' });
    await queue.enqueue({ serviceId: service.id, subject: 'only a disabled endpoint' }, OPEN_ACTOR);
    expect(await events()).toEqual([]);
  });

  it('records one case.enqueued per case of a group commit, in queue order, with exact positions', async () => {
    await endpoint({ events: ['case.enqueued'] });
    const service = await given.service(t.db, { queueCode: 'W' });
    await given.waitingCase(t.db, { serviceId: service.id, subject: 'already there' });
    await t.sql.query('DELETE FROM webhook_events');
    const written = await Promise.all(
      Array.from({ length: 24 }, (_, k) => queue.enqueue({ serviceId: service.id, subject: `racer ${k}` }, OPEN_ACTOR)),
    );
    const order = await waiting(service.id);
    const recorded = await events(service.id);
    expect(recorded.map((event) => event.type)).toEqual(Array(24).fill('case.enqueued'));
    // Event ids follow the queue order, and each position is the case's place when it committed
    // (nothing left the queue since, so its place now).
    expect(recorded.map((event) => event.case_id)).toEqual(order.slice(1));
    expect(recorded.map((event) => event.data['position'])).toEqual(order.slice(1).map((_, index) => index + 2));
    const first = written.find((row) => row.id === order[1]);
    expect(recorded[0]?.data).toMatchObject({
      caseId: order[1],
      ticket: first?.ticket,
      serviceId: service.id,
      status: 'WAITING',
      lastAction: 'ENQUEUE',
      calledAt: null,
    });
    // Nothing personal is ever written to the outbox.
    expect(JSON.stringify(recorded)).not.toMatch(/racer|already there/);
  });

  it('records an auto-closed case as enqueued, then completed', async () => {
    await endpoint();
    const service = await given.service(t.db);
    const auto = await queue.enqueue({ serviceId: service.id, subject: 'walk-in', autoClose: true }, OPEN_ACTOR);
    expect((await events(service.id)).map((event) => [event.type, event.case_id, event.data['position']])).toEqual([
      ['case.enqueued', auto.id, null],
      ['case.completed', auto.id, null],
    ]);
  });

  it('records hand-outs, returns, completions and cancellations with the status they left', async () => {
    await endpoint({ events: ['case.called', 'case.returned', 'case.completed', 'case.cancelled'] });
    const service = await given.service(t.db);
    const [a, b, c] = [
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
    ];
    const called = await desk.callNext({ serviceIds: [service.id], agent: 'desk-1' }, OPEN_ACTOR);
    expect(called?.id).toBe(a.id);
    await returnToQueue(t.db, { caseId: a.id, agent: 'desk-1', placement: 'BACK', reason: 'no show' }, OPEN_ACTOR);
    await desk.callNext({ serviceIds: [service.id], agent: 'desk-1' }, OPEN_ACTOR);
    await completeCase(t.db, { caseId: b.id, agent: 'desk-1' }, OPEN_ACTOR);
    await cancelCase(t.db, { caseId: c.id, agent: 'desk-2', reason: 'left' }, OPEN_ACTOR);
    const recorded = await events(service.id);
    expect(
      recorded.map((event) => [event.type, event.case_id, event.data['fromStatus'], event.data['position']]),
    ).toEqual([
      ['case.called', a.id, 'WAITING', null],
      // Back behind b and c: third.
      ['case.returned', a.id, 'IN_SERVICE', 3],
      ['case.called', b.id, 'WAITING', null],
      ['case.completed', b.id, 'IN_SERVICE', null],
      ['case.cancelled', c.id, 'WAITING', null],
    ]);
    expect(recorded[0]?.data).toMatchObject({ agent: 'desk-1', status: 'IN_SERVICE', lastAction: 'CALL_NEXT' });
  });

  it('records nothing of a rolled-back change, and a committed change by any writer', async () => {
    await endpoint({ events: ['case.cancelled'] });
    const service = await given.service(t.db);
    const held = await given.waitingCase(t.db, { serviceId: service.id });
    const client = await t.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE cases SET status = 'CANCELLED', closed_at = now(), last_action = 'CANCEL' WHERE id = $1`,
        [held.id],
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await events(service.id)).toEqual([]);
    // Another tool's plain UPDATE is recorded like the gateway's own.
    await t.sql.query(
      `UPDATE cases SET status = 'CANCELLED', closed_at = now(), last_action = 'CANCEL' WHERE id = $1`,
      [held.id],
    );
    expect((await events(service.id)).map((event) => [event.type, event.case_id])).toEqual([
      ['case.cancelled', held.id],
    ]);
  });

  it('records only the services and types endpoints ask for', async () => {
    const covered = await given.service(t.db);
    const other = await given.service(t.db);
    await endpoint({ events: ['case.enqueued'], serviceIds: [covered.id] });
    await endpoint({ events: ['case.cancelled'], status: 'DISABLED' });
    const mine = await given.waitingCase(t.db, { serviceId: covered.id });
    await given.waitingCase(t.db, { serviceId: other.id });
    await cancelCase(t.db, { caseId: mine.id, agent: 'desk-1', reason: 'left' }, OPEN_ACTOR);
    expect((await events()).map((event) => [event.type, event.service_id])).toEqual([['case.enqueued', covered.id]]);
  });

  it('records the changes that move a case out of its queue and back for an endpoint that wants case.approaching', async () => {
    // The fan-out needs them to tell an approach that is out of date; it routes them only where wanted.
    await endpoint({ events: ['case.approaching'], approachPosition: 1 });
    const service = await given.service(t.db);
    const [a, b] = [
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
    ];
    await desk.callNext({ serviceIds: [service.id], agent: 'desk-1' }, OPEN_ACTOR);
    await returnToQueue(t.db, { caseId: a.id, agent: 'desk-1', placement: 'BACK', reason: 'no show' }, OPEN_ACTOR);
    await cancelCase(t.db, { caseId: a.id, agent: 'desk-1', reason: 'left' }, OPEN_ACTOR);
    expect((await events(service.id)).map((event) => [event.type, event.case_id])).toEqual([
      ['case.approaching', a.id],
      ['case.called', a.id],
      ['case.approaching', b.id],
      ['case.returned', a.id],
      ['case.cancelled', a.id],
    ]);
  });

  it('records counted positions for cases inserted in the middle of a queue by another tool', async () => {
    await endpoint({ events: ['case.enqueued'] });
    const service = await given.service(t.db);
    for (let k = 0; k < 3; k += 1) await given.waitingCase(t.db, { serviceId: service.id });
    await t.sql.query('DELETE FROM webhook_events');
    // Two cases queued an hour ago: ahead of everyone.
    await t.sql.query(
      `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket, enqueued_at, queued_at)
       SELECT $1, 'imported', DATE '2000-01-01', g, 'I' || g, now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 second'
         FROM generate_series(1, 2) AS g`,
      [service.id],
    );
    const order = await waiting(service.id);
    expect((await events(service.id)).map((event) => [event.case_id, event.data['position']])).toEqual([
      [order[0], 1],
      [order[1], 2],
    ]);
  });

  it('records service.updated with the fields that changed', async () => {
    await endpoint({ events: ['service.updated'] });
    const service = await given.service(t.db, { name: 'Before' });
    await updateService(t.db, service.id, { name: 'After', queueCode: 'Q' }, OPEN_ACTOR);
    await updateService(t.db, service.id, { name: 'After' }, OPEN_ACTOR);
    const recorded = await events(service.id);
    expect(recorded.map((event) => [event.type, event.data['name'], event.data['changed']])).toEqual([
      ['service.updated', 'After', ['name', 'queueCode']],
    ]);
  });
});

describe('case.approaching', () => {
  async function approaching(serviceId: number): Promise<[number | null, number | null, unknown][]> {
    return (await events(serviceId))
      .filter((event) => event.type === 'case.approaching')
      .map((event) => [event.case_id, event.threshold, event.data['position']]);
  }

  it('fires once per case and position, also when several cases move at once', async () => {
    await endpoint({ events: ['case.approaching'], approachPosition: 2 });
    await endpoint({ events: ['case.approaching'], approachPosition: 5 });
    const service = await given.service(t.db);
    const cases: number[] = [];
    for (let k = 0; k < 8; k += 1) cases.push((await given.waitingCase(t.db, { serviceId: service.id })).id);
    const [c1, c2, c3, c4, c5, c6, c7, c8] = cases;
    // Enqueued into a short queue: the first five are within 5, the first two within 2.
    expect(await approaching(service.id)).toEqual([
      [c1, 5, 1],
      [c1, 2, 1],
      [c2, 5, 2],
      [c2, 2, 2],
      [c3, 5, 3],
      [c4, 5, 4],
      [c5, 5, 5],
    ]);
    await t.sql.query('DELETE FROM webhook_events');
    // Three hand-outs in one statement: c4 reaches 1, c5 2, c6 3, c7 4, c8 5.
    await t.sql.query(
      `UPDATE cases SET status = 'IN_SERVICE', called_at = now(), last_action = 'CALL_NEXT', last_agent = 'desk-1'
        WHERE id = ANY($1::int[])`,
      [[c1, c2, c3]],
    );
    expect(await approaching(service.id)).toEqual([
      [c4, 2, 1],
      [c5, 2, 2],
      [c6, 5, 3],
      [c7, 5, 4],
      [c8, 5, 5],
    ]);
    await t.sql.query('DELETE FROM webhook_events');
    // Back to the front: c4 and c5 move back a place, and nothing fires twice for a case and position.
    await returnToQueue(t.db, { caseId: c1 ?? 0, agent: 'desk-1', placement: 'FRONT', reason: 'back' }, OPEN_ACTOR);
    expect(await approaching(service.id)).toEqual([]);
    // Two cancelled at once: c6 reaches 2.
    await t.sql.query(
      `UPDATE cases SET status = 'CANCELLED', closed_at = now(), last_action = 'CANCEL' WHERE id = ANY($1::int[])`,
      [[c4, c5]],
    );
    expect(await approaching(service.id)).toEqual([[c6, 2, 2]]);
  });

  it('records the time a case moves up, so an endpoint newer than the case hears it', async () => {
    const service = await given.service(t.db);
    const old = [
      (await given.waitingCase(t.db, { serviceId: service.id })).id,
      (await given.waitingCase(t.db, { serviceId: service.id })).id,
      (await given.waitingCase(t.db, { serviceId: service.id })).id,
    ];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const id = await endpoint({ events: ['case.approaching'], approachPosition: 2 });
    await desk.callNext({ serviceIds: [service.id], agent: 'desk-1' }, OPEN_ACTOR);
    const { rows } = await t.sql.query<{ case_id: number; after: boolean }>(
      `SELECT e.case_id, e.occurred_at >= p.created_at AS after
         FROM webhook_events e, webhook_endpoints p WHERE p.id = $1 AND e.type = 'case.approaching' AND e.service_id = $2`,
      [id, service.id],
    );
    expect(rows).toEqual([
      { case_id: old[1], after: true },
      { case_id: old[2], after: true },
    ]);
  });
});
