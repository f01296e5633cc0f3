// Rows that enter through SQL written by hand must be the rows the query
// builder would return: every statement that returns cases is checked here,
// field by field, against Prisma's own read of the same case. A column added
// to the model and missed by a statement fails this test (and the type check
// of src/queue/case-columns.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma, type Case } from '../../src/generated/prisma/client.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createCaller } from '../../src/queue/call-next.js';
import { CASE_EVENT_FIELDS, CASE_FIELDS, caseColumns } from '../../src/queue/case-columns.js';
import { historyByCase } from '../../src/queue/case-reads.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { queuePage } from '../../src/queue/queue-reads.js';
import { createService } from '../../src/queue/services.js';
import { callCase, cancelCase, completeCase, returnToQueue } from '../../src/queue/transitions.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

let t: TestDatabaseClient;
const agent = 'row-shapes';

beforeAll(async () => {
  t = await startTestDatabaseClient();
});

afterAll(async () => {
  await t.stop();
});

const MODEL_FIELDS = Object.values(Prisma.CaseScalarFieldEnum).sort();

/** The model's fields of `row`, after checking it carries every one of them. */
function caseFieldsOf(row: object): Record<string, unknown> {
  const fields = Object.keys(row).filter((key) => key in CASE_FIELDS);
  expect(fields.sort()).toEqual(MODEL_FIELDS);
  return Object.fromEntries(fields.map((key) => [key, (row as Record<string, unknown>)[key]]));
}

/** Checks a statement's case against the query builder's read of it, value and type. */
async function expectSameAsPrisma(row: Case | null): Promise<void> {
  expect(row).not.toBeNull();
  const stored = await t.db.case.findUniqueOrThrow({ where: { id: row!.id } });
  expect(caseFieldsOf(row!)).toStrictEqual(caseFieldsOf(stored));
}

/** A case alone in a service of its own, with every optional column set. */
async function enqueueOne(subject: string) {
  const { id: serviceId } = await createService(t.db, { name: `Row shapes: ${subject}`, queueCode: 'R' }, OPEN_ACTOR);
  return createEnqueuer(t.db).enqueue(
    { serviceId, subject, extRef: `${subject}-ref`, notes: 'every column set', idempotencyKey: `${subject}-key` },
    OPEN_ACTOR,
  );
}

describe('the column list', () => {
  it('names every scalar field of the Case model, and nothing else', () => {
    expect(Object.keys(CASE_FIELDS).sort()).toEqual(MODEL_FIELDS);
  });

  it('reads a row exactly as the query builder does', async () => {
    const { id } = await enqueueOne('plain-select');
    const [row] = await t.db.$queryRaw<Case[]>`SELECT ${caseColumns('c')} FROM cases c WHERE c.id = ${id}`;
    await expectSameAsPrisma(row ?? null);
  });
});

describe('every statement that returns cases', () => {
  it('enqueue', async () => {
    await expectSameAsPrisma(await enqueueOne('enqueue'));
  });

  it("enqueue's custom properties, built from the request rather than read back", async () => {
    const { id: serviceId } = await createService(t.db, { name: 'Row shapes: properties', queueCode: 'R' }, OPEN_ACTOR);
    const customProperties = [
      { key: 'channel', value: 'kiosk' },
      { key: 'language', value: 'fi' },
    ];
    const enqueued = await createEnqueuer(t.db).enqueue({ serviceId, customProperties }, OPEN_ACTOR);
    const stored = await t.db.caseProperty.findMany({ where: { caseId: enqueued.id }, orderBy: { position: 'asc' } });
    expect(stored).toHaveLength(2);
    expect(enqueued.customProperties).toStrictEqual(stored);
  });

  it('call next', async () => {
    const { id, serviceId } = await enqueueOne('call-next');
    const called = await createCaller(t.db).callNext({ serviceIds: [serviceId], agent }, OPEN_ACTOR);
    expect(called?.id).toBe(id);
    await expectSameAsPrisma(called);
  });

  it('the queue page', async () => {
    const { id, serviceId } = await enqueueOne('queue-page');
    const page = await queuePage(t.db, serviceId, { first: 100 }, OPEN_ACTOR);
    const edge = page.edges.find((candidate) => candidate.node.id === id);
    await expectSameAsPrisma(edge?.node ?? null);
  });

  it('the life-cycle transitions', async () => {
    const returned = await enqueueOne('transitions');
    await expectSameAsPrisma(await callCase(t.db, { caseId: returned.id, agent }, OPEN_ACTOR));
    await expectSameAsPrisma(
      await returnToQueue(t.db, { caseId: returned.id, agent, placement: 'FRONT', reason: 'row shapes' }, OPEN_ACTOR),
    );
    await expectSameAsPrisma(await cancelCase(t.db, { caseId: returned.id, agent, reason: 'row shapes' }, OPEN_ACTOR));
    const completed = await enqueueOne('completed');
    await callCase(t.db, { caseId: completed.id, agent }, OPEN_ACTOR);
    await expectSameAsPrisma(await completeCase(t.db, { caseId: completed.id, agent }, OPEN_ACTOR));
  });
});

describe('the history read', () => {
  it('names every scalar field of the CaseEvent model, and returns the events as the query builder does', async () => {
    expect(Object.keys(CASE_EVENT_FIELDS).sort()).toEqual(Object.values(Prisma.CaseEventScalarFieldEnum).sort());
    const { id } = await enqueueOne('history');
    await callCase(t.db, { caseId: id, agent }, OPEN_ACTOR);
    await returnToQueue(t.db, { caseId: id, agent, placement: 'BACK', reason: 'history' }, OPEN_ACTOR);
    const [events] = await historyByCase(t.db, [id]);
    const stored = await t.db.caseEvent.findMany({ where: { caseId: id }, orderBy: { id: 'asc' } });
    expect(stored).toHaveLength(3);
    expect(events).toStrictEqual(stored);
  });
});
