// Enqueues racing each other: none lost, none doubled, and each service's
// FIFO order total and consistent with the ids handed back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData } from '../helpers/graphql-client.js';
import { lockWaiters } from '../helpers/locks.js';
import { raceWhileWatchingQueue } from '../helpers/queue-watch.js';
import { gatewayGroup, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
const ENQUEUES = 200;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

describe('200 enqueues fired at once into two services', () => {
  it('stores every one exactly once, in a FIFO order that agrees with the ids', async () => {
    const services = await Promise.all(
      ['Race A', 'Race B'].map(async (name) => (await given.service(t.db, { name })).id),
    );
    const requests = Array.from({ length: ENQUEUES }, (_, index) => ({
      serviceId: services[index % 2]!,
      subject: `request ${index}`,
      customProperties: [{ key: 'request', value: String(index) }],
    }));

    // While the enqueues race, cases may only ever join one service's queue at the back.
    const responses = await raceWhileWatchingQueue(t.sql, services[0]!, () =>
      Promise.all(requests.map((input) => t.request(EnqueueCaseDocument, { input }))),
    );

    const returned = responses.map((response, index) => {
      const { enqueueCase: result } = expectData(response);
      expect(result.subject).toBe(requests[index]!.subject);
      expect(result.serviceId).toBe(requests[index]!.serviceId);
      return result;
    });
    const ids = returned.map((result) => result.caseId);
    expect(new Set(ids).size).toBe(ENQUEUES);

    const stored = await t.sql.query<{ id: number; service_id: number; subject: string; value: string }>(
      `SELECT c.id, c.service_id, c.subject, p.value
         FROM cases c JOIN case_properties p ON p.case_id = c.id AND p.key = 'request'
        WHERE c.service_id = ANY($1)`,
      [services],
    );
    expect(stored.rows).toHaveLength(ENQUEUES);
    expect(stored.rows.map((row) => row.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
    for (const row of stored.rows) expect(row.subject).toBe(`request ${row.value}`);

    for (const service of services) {
      // The queue in queue order, as call next serves it.
      const queue = await t.sql.query<{ id: number }>(
        `SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING' ORDER BY queued_at, queue_seq`,
        [service],
      );
      const queueIds = queue.rows.map((row) => row.id);
      expect(queueIds).toHaveLength(ENQUEUES / 2);
      // Total and consistent: FIFO order is exactly ascending id order...
      expect(queueIds).toEqual([...queueIds].sort((a, b) => a - b));
      // ...and the times the clients were told agree with it.
      const told = new Map(returned.map((result) => [result.caseId, Date.parse(result.enqueuedAt)]));
      const times = queueIds.map((id) => told.get(id)!);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });
});

describe('the per-service enqueue lock', () => {
  it('makes an enqueue wait for one in progress on its service, and only on its service', async () => {
    const [held, free] = await Promise.all(
      ['Held', 'Free'].map(async (name) => (await given.service(t.db, { name })).id),
    );
    // Stand in for a slow enqueue: hold the lock every enqueue into `held` takes.
    const blocker = await t.sql.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM services WHERE id = $1 FOR NO KEY UPDATE', [held]);
      let waitingDone = false;
      const waiting = t
        .request(EnqueueCaseDocument, { input: { serviceId: held, subject: 'waits' } })
        .then((response) => {
          waitingDone = true;
          return response;
        });
      // Another service is not held up...
      const other = expectData(await t.request(EnqueueCaseDocument, { input: { serviceId: free, subject: 'passes' } }));
      expect(other.enqueueCase.subject).toBe('passes');
      // ...but the held service's enqueue waits for the lock, and is not yet visible.
      await lockWaiters(t.sql, 1);
      expect(waitingDone).toBe(false);
      const visible = await t.sql.query(`SELECT id FROM cases WHERE service_id = $1`, [held]);
      expect(visible.rows).toEqual([]);
      const { rows } = await blocker.query<{ at: Date }>('SELECT clock_timestamp() AS at');
      await blocker.query('COMMIT');
      const { enqueueCase: result } = expectData(await waiting);
      expect(result.serviceId).toBe(held);
      // It read the clock after the lock was released, not before.
      expect(Date.parse(result.enqueuedAt)).toBeGreaterThanOrEqual(rows[0]!.at.getTime());
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
  });
});

describe('three gateways enqueueing into one service at once', () => {
  it('keep one FIFO order: their batches never commit a case ahead of one already visible', async () => {
    // Each gateway gathers its own batches; a batch that finds the service
    // held by another gateway passes its requests to lanes that wait for it,
    // one per way of naming the service. Only the service lock orders them all.
    const group = await gatewayGroup(t, 2);
    try {
      const { clients } = group;
      const serviceId = (await given.service(t.db, { name: 'Shared', queueCode: 'S', extRef: 'SHARED' })).id;
      const namings = [{ serviceId }, { serviceIdExtRef: 'SHARED' }, { serviceId, serviceIdExtRef: 'SHARED' }];
      const responses = await raceWhileWatchingQueue(t.sql, serviceId, () =>
        Promise.all(
          Array.from({ length: 450 }, (_, index) =>
            clients[index % 3]!(EnqueueCaseDocument, {
              input: { ...namings[Math.floor(index / 3) % 3]!, subject: `request ${index}` },
            }),
          ),
        ),
      );
      const answers = responses.map((response) => expectData(response).enqueueCase);
      const { rows } = await t.sql.query<{ id: number; ticket_number: number }>(
        `SELECT id, ticket_number FROM cases WHERE service_id = $1 ORDER BY queued_at, queue_seq`,
        [serviceId],
      );
      // Every case once; tickets unique and in queue order.
      expect(rows.map((row) => row.id).sort((a, b) => a - b)).toEqual(
        answers.map((answer) => answer.caseId).sort((a, b) => a - b),
      );
      expect(rows.map((row) => row.ticket_number)).toEqual(Array.from({ length: 450 }, (_, index) => index + 1));
    } finally {
      await group.stop();
    }
  });
});
