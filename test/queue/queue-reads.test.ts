// What screens see after a mix of enqueues, calls, completions, cancellations
// and returns: positions, the queue page by page, and the statistics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallNextDocument,
  CancelCaseDocument,
  CaseDocument,
  CompleteCaseDocument,
  EnqueueCaseDocument,
  QueueDocument,
  QueueStatisticsDocument,
  ReturnToQueueDocument,
} from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let serviceId: number;
const ids: number[] = [];
const agent = 'desk-7';

beforeAll(async () => {
  t = await startTestGateway();
  serviceId = (await given.service(t.db, { name: 'Screens', queueCode: 'S' })).id;
  for (let index = 0; index < 6; index += 1)
    ids.push((await given.waitingCase(t.db, { serviceId, subject: `case ${index}` })).id);
  // The mix: 0 is served; 1 is called and sent to the back; 3 is cancelled
  // while waiting; one auto-closed case is recorded.
  const call = async () =>
    expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent } })).callNext;
  expect((await call())?.id).toBe(ids[0]);
  expectData(await t.request(CompleteCaseDocument, { input: { caseId: ids[0]!, agent } }));
  expect((await call())?.id).toBe(ids[1]);
  expectData(
    await t.request(ReturnToQueueDocument, {
      input: { caseId: ids[1]!, agent, placement: 'BACK', reason: 'forgot the form' },
    }),
  );
  expectData(await t.request(CancelCaseDocument, { input: { caseId: ids[3]!, agent, reason: 'left' } }));
  expectData(await t.request(EnqueueCaseDocument, { input: { serviceId, autoClose: true } }));
});

afterAll(async () => {
  await t.stop();
});

describe('after a mix of actions', () => {
  it('gives each waiting case its place, and none to the others', async () => {
    // Waiting, in order: 2, 4, 5, then 1 (returned to the back).
    const expected = new Map([
      [ids[2], 1],
      [ids[4], 2],
      [ids[5], 3],
      [ids[1], 4],
      [ids[0], null],
      [ids[3], null],
    ]);
    for (const [id, position] of expected) {
      const { case: detail } = expectData(await t.request(CaseDocument, { id: id! }));
      expect(detail?.position, `case ${id}`).toBe(position);
      // One case served and two called: too little to estimate from (test/queue/wait-estimates.test.ts
      // estimates on a service with a past).
      expect([detail?.estimatedWaitSeconds, detail?.estimatedWaitRange]).toEqual([null, null]);
    }
  });

  it('pages through the queue oldest first with cursors', async () => {
    const first = expectData(await t.request(QueueDocument, { serviceId, first: 3 })).service!.queue;
    expect(first.totalCount).toBe(4);
    expect(first.edges.map((edge) => [edge.node.id, edge.position])).toEqual([
      [ids[2], 1],
      [ids[4], 2],
      [ids[5], 3],
    ]);
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[2]!.cursor });
    const second = expectData(await t.request(QueueDocument, { serviceId, first: 3, after: first.pageInfo.endCursor }))
      .service!.queue;
    expect(second.edges.map((edge) => [edge.node.id, edge.position])).toEqual([[ids[1], 4]]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it('rejects a cursor it did not make, and a page size out of range', async () => {
    expect(
      expectError(await t.request(QueueDocument, { serviceId, after: 'bm90IGEgY3Vyc29y' })).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after', rule: 'cursor' });
    expect(expectError(await t.request(QueueDocument, { serviceId, first: 101 })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
      rule: 'range',
    });
  });

  it('counts it all in the statistics', async () => {
    const statistics = expectData(await t.request(QueueStatisticsDocument, { serviceId, windowMinutes: 30 })).service!
      .statistics;
    expect(statistics).toMatchObject({
      waitingCount: 4,
      inServiceCount: 0,
      servedInWindow: 2,
      enqueuedToday: 7,
      closedToday: 3,
      autoClosedToday: 1,
      // No enqueue here was answered with an estimate (they were made by the domain, not asked).
      estimateAccuracy: { estimatesRealised: 0, meanAbsoluteErrorSeconds: null, withinRangeShare: null },
      windowMinutes: 30,
    });
    expect(statistics.longestWaitSeconds).toBeGreaterThanOrEqual(0);
    expect(statistics.averageWaitSeconds).toBeGreaterThanOrEqual(0);
  });

  it('reports an empty queue plainly', async () => {
    const empty = (await given.service(t.db, { name: 'Quiet' })).id;
    const statistics = expectData(await t.request(QueueStatisticsDocument, { serviceId: empty })).service!.statistics;
    expect(statistics).toEqual({
      waitingCount: 0,
      inServiceCount: 0,
      longestWaitSeconds: null,
      averageWaitSeconds: null,
      servedInWindow: 0,
      enqueuedToday: 0,
      closedToday: 0,
      autoClosedToday: 0,
      estimateAccuracy: { estimatesRealised: 0, meanAbsoluteErrorSeconds: null, withinRangeShare: null },
      windowMinutes: 60,
    });
  });
});
