// The case life cycle on its own (no HTTP): every action from every status,
// legal or not, and where returned cases go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseStatus } from '../../src/generated/prisma/client.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createCaller, type Caller } from '../../src/queue/call-next.js';
import { createEnqueuer, type Enqueuer } from '../../src/queue/enqueue-case.js';
import { GatewayError } from '../../src/queue/errors.js';
import { updateService } from '../../src/queue/services.js';
import { callCase, cancelCase, completeCase, returnToQueue, TRANSITIONS } from '../../src/queue/transitions.js';
import * as given from '../helpers/given.js';
import { lockWaiters } from '../helpers/locks.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

let t: TestDatabaseClient;
let serviceId: number;
let queue: Enqueuer;
let desk: Caller;
const agent = 'desk-1';

beforeAll(async () => {
  t = await startTestDatabaseClient();
  queue = createEnqueuer(t.db);
  desk = createCaller(t.db);
  serviceId = (await given.service(t.db, { name: 'Life cycle', queueCode: 'L' })).id;
});

afterAll(async () => {
  await t.stop();
});

const actions = {
  CALL_CASE: (caseId: number) => callCase(t.db, { caseId, agent }, OPEN_ACTOR),
  COMPLETE: (caseId: number) => completeCase(t.db, { caseId, agent }, OPEN_ACTOR),
  RETURN_TO_QUEUE: (caseId: number) =>
    returnToQueue(t.db, { caseId, agent, placement: 'BACK', reason: 'not ready' }, OPEN_ACTOR),
  CANCEL: (caseId: number) => cancelCase(t.db, { caseId, agent, reason: 'left' }, OPEN_ACTOR),
} as const;

/** A fresh case brought to `status` by legal actions. */
const caseIn = async (status: CaseStatus): Promise<number> =>
  (await given.caseIn(t.db, status, { serviceId, subject: `to be ${status}` }, agent)).id;

/** The waiting cases of a service, in the order call next takes them. */
async function waitingOrder(service: number): Promise<number[]> {
  const rows = await t.db.case.findMany({
    where: { serviceId: service, status: 'WAITING' },
    orderBy: [{ queuedAt: 'asc' }, { queueSeq: 'asc' }],
    select: { id: true },
  });
  return rows.map((row) => row.id);
}

const eventCount = async (caseId: number): Promise<number> => t.db.caseEvent.count({ where: { caseId } });

const STATUSES: CaseStatus[] = ['WAITING', 'IN_SERVICE', 'COMPLETED', 'CANCELLED'];
const matrix = STATUSES.flatMap((status) =>
  (Object.keys(actions) as (keyof typeof actions)[]).map((action) => ({
    status,
    action,
    legal: TRANSITIONS[action].from.includes(status),
  })),
);

describe('every action from every status', () => {
  it.each(matrix)('$action on a $status case: legal $legal', async ({ status, action, legal }) => {
    const caseId = await caseIn(status);
    const eventsBefore = await eventCount(caseId);
    if (legal) {
      const changed = await actions[action](caseId);
      expect(changed.status).toBe(TRANSITIONS[action].to);
      expect(changed.lastAction).toBe(action);
      expect(changed.lastAgent).toBe(agent);
      expect(await eventCount(caseId)).toBe(eventsBefore + 1);
      const [event] = await t.db.caseEvent.findMany({ where: { caseId }, orderBy: { id: 'desc' }, take: 1 });
      expect(event).toMatchObject({ action, agent, fromStatus: status, toStatus: TRANSITIONS[action].to });
      return;
    }
    const error = await actions[action](caseId).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: 'ILLEGAL_TRANSITION', issue: { field: 'caseId', rule: 'transition' } });
    expect((error as GatewayError).message).toContain(status);
    // Nothing changed.
    expect((await t.db.case.findUniqueOrThrow({ where: { id: caseId } })).status).toBe(status);
    expect(await eventCount(caseId)).toBe(eventsBefore);
  });

  it('answers NOT_FOUND for a case that does not exist', async () => {
    await expect(completeCase(t.db, { caseId: 987_654, agent }, OPEN_ACTOR)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'caseId' },
    });
  });

  it('closes completed and cancelled cases with a time', async () => {
    const completed = await t.db.case.findUniqueOrThrow({ where: { id: await caseIn('COMPLETED') } });
    const cancelled = await t.db.case.findUniqueOrThrow({ where: { id: await caseIn('CANCELLED') } });
    expect(completed.closedAt).toBeInstanceOf(Date);
    expect(cancelled.closedAt).toBeInstanceOf(Date);
  });
});

describe('call next', () => {
  it('returns null when nothing waits', async () => {
    const empty = await given.service(t.db, { name: 'Empty' });
    expect(await desk.callNext({ serviceIds: [empty.id], agent }, OPEN_ACTOR)).toBeNull();
  });

  it('takes the oldest case across several services', async () => {
    const [first, second] = await Promise.all([
      given.service(t.db, { name: 'One' }),
      given.service(t.db, { name: 'Two' }),
    ]);
    const older = await given.waitingCase(t.db, { serviceId: second.id });
    const newer = await given.waitingCase(t.db, { serviceId: first.id });
    expect((await desk.callNext({ serviceIds: [first.id, second.id], agent }, OPEN_ACTOR))?.id).toBe(older.id);
    expect((await desk.callNext({ serviceIds: [first.id, second.id], agent }, OPEN_ACTOR))?.id).toBe(newer.id);
  });

  it('still serves the waiting cases of a deactivated service', async () => {
    const closing = await given.service(t.db, { name: 'Closing' });
    const waiting = await given.waitingCase(t.db, { serviceId: closing.id });
    await updateService(t.db, closing.id, { active: false }, OPEN_ACTOR);
    await expect(queue.enqueue({ serviceId: closing.id }, OPEN_ACTOR)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      issue: { field: 'serviceId', rule: 'active' },
    });
    expect((await desk.callNext({ serviceIds: [closing.id], agent }, OPEN_ACTOR))?.id).toBe(waiting.id);
  });
});

describe('return to queue', () => {
  it.each([
    ['BACK', (returned: number, others: number[]) => [...others, returned]],
    ['FRONT', (returned: number, others: number[]) => [returned, ...others]],
    ['ORIGINAL', (returned: number, others: number[]) => [returned, ...others]],
  ] as const)('puts the case at %s', async (placement, expected) => {
    const service = await given.service(t.db, { name: `Return ${placement}` });
    const first = await given.waitingCase(t.db, { serviceId: service.id });
    const others = [
      (await given.waitingCase(t.db, { serviceId: service.id })).id,
      (await given.waitingCase(t.db, { serviceId: service.id })).id,
    ];
    expect((await desk.callNext({ serviceIds: [service.id], agent }, OPEN_ACTOR))?.id).toBe(first.id);
    const returned = await returnToQueue(
      t.db,
      { caseId: first.id, agent, placement, reason: 'documents missing' },
      OPEN_ACTOR,
    );
    expect(returned).toMatchObject({ status: 'WAITING', lastAction: 'RETURN_TO_QUEUE' });
    expect(await waitingOrder(service.id)).toEqual(expected(first.id, others));
    const [event] = await t.db.caseEvent.findMany({ where: { caseId: first.id }, orderBy: { id: 'desc' }, take: 1 });
    expect(event).toMatchObject({
      action: 'RETURN_TO_QUEUE',
      reason: 'documents missing',
      fromStatus: 'IN_SERVICE',
      toStatus: 'WAITING',
    });
  });

  it('puts ORIGINAL behind older cases that still wait', async () => {
    const service = await given.service(t.db, { name: 'Original order' });
    const [a, b, c] = [
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
    ];
    await callCase(t.db, { caseId: b.id, agent }, OPEN_ACTOR);
    await returnToQueue(t.db, { caseId: b.id, agent, placement: 'ORIGINAL', reason: 'called out of turn' }, OPEN_ACTOR);
    expect(await waitingOrder(service.id)).toEqual([a.id, b.id, c.id]);
  });
});

describe("a returned case's place, under concurrency", () => {
  it('puts a BACK return behind a case enqueued in the same millisecond', async () => {
    const service = await given.service(t.db, { name: 'Same millisecond' });
    const returned = await given.waitingCase(t.db, { serviceId: service.id });
    for (let round = 0; round < 30; round += 1) {
      await given.waitingCase(t.db, { serviceId: service.id });
      await callCase(t.db, { caseId: returned.id, agent }, OPEN_ACTOR);
      await returnToQueue(t.db, { caseId: returned.id, agent, placement: 'BACK', reason: 'again' }, OPEN_ACTOR);
      expect((await waitingOrder(service.id)).at(-1), `round ${round}`).toBe(returned.id);
    }
  });

  it('puts a FRONT return ahead of a case put at the front while it waited for the service', async () => {
    const service = await given.service(t.db, { name: 'Front race' });
    const [a, b, c] = [
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
      await given.waitingCase(t.db, { serviceId: service.id }),
    ];
    await callCase(t.db, { caseId: b.id, agent }, OPEN_ACTOR);
    await callCase(t.db, { caseId: c.id, agent }, OPEN_ACTOR);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = (): void => undefined;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    // Another agent returns b to the front, holding the service's lock for a while.
    const other = t.db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM services WHERE id = ${service.id} FOR NO KEY UPDATE`;
      await tx.$executeRaw`UPDATE cases SET status = 'WAITING', queued_at = ${a.queuedAt}::timestamptz - interval '1 millisecond',
                                  queue_seq = nextval(pg_get_serial_sequence('cases', 'queue_seq')) WHERE id = ${b.id}`;
      locked();
      await released;
    });
    await Promise.race([holding, other]);
    const returning = returnToQueue(t.db, { caseId: c.id, agent, placement: 'FRONT', reason: 'urgent' }, OPEN_ACTOR);
    // The return waits for the service's lock while the other agent holds it.
    await lockWaiters(t.sql, 1);
    release();
    await other;
    await returning;
    // c was returned last, so it is called next: ahead of b.
    expect(await waitingOrder(service.id)).toEqual([c.id, b.id, a.id]);
  });
});

describe('call next on services that do not exist', () => {
  it('answers NOT_FOUND rather than "nothing waits"', async () => {
    await expect(desk.callNext({ serviceIds: [serviceId, 987_654], agent }, OPEN_ACTOR)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'serviceIds' },
    });
  });
});
