// An agent's round over HTTP, as the README walks through it, and the case
// detail a front end shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallCaseDocument,
  CallNextDocument,
  CaseDocument,
  CompleteCaseDocument,
  EnqueueCaseDocument,
  ReturnToQueueDocument,
} from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let serviceId: number;

beforeAll(async () => {
  t = await startTestGateway();
  serviceId = (await given.service(t.db, { queueCode: 'B', timeZone: 'Pacific/Auckland' })).id;
});

afterAll(async () => {
  await t.stop();
});

describe('an agent serves a case', () => {
  it('enqueue, call next, return, call, complete: all in the history', async () => {
    // A service of its own: the first ticket and position 1 hold whatever order the tests run in.
    const serviceId = (await given.service(t.db, { name: 'Enrolments', queueCode: 'A' })).id;
    const customerId = (await given.customer(t.db, { name: 'Ada' })).id;
    const enqueued = expectData(
      await t.request(EnqueueCaseDocument, {
        input: { serviceId, customerId, subject: 'Transcript', notes: 'needs a copy' },
      }),
    ).enqueueCase;
    expect(enqueued).toMatchObject({ ticket: 'A001', position: 1, status: 'WAITING' });

    const called = expectData(
      await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent: 'desk-1' } }),
    ).callNext;
    expect(called).toMatchObject({
      id: enqueued.caseId,
      status: 'IN_SERVICE',
      lastAction: 'CALL_NEXT',
      lastAgent: 'desk-1',
      position: null,
      ticket: 'A001',
    });

    expect(
      expectError(await t.request(CallCaseDocument, { input: { caseId: enqueued.caseId, agent: 'desk-2' } }))
        .extensions,
    ).toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'caseId' });

    const returned = expectData(
      await t.request(ReturnToQueueDocument, {
        input: { caseId: enqueued.caseId, agent: 'desk-1', placement: 'FRONT', reason: 'fetching ID' },
      }),
    ).returnToQueue;
    expect(returned).toMatchObject({ status: 'WAITING', position: 1 });
    expectData(await t.request(CallCaseDocument, { input: { caseId: enqueued.caseId, agent: 'desk-1' } }));
    const completed = expectData(
      await t.request(CompleteCaseDocument, { input: { caseId: enqueued.caseId, agent: 'desk-1' } }),
    ).completeCase;
    expect(completed).toMatchObject({ status: 'COMPLETED', lastAction: 'COMPLETE' });

    const detail = expectData(await t.request(CaseDocument, { id: enqueued.caseId })).case!;
    expect(detail).toMatchObject({
      id: enqueued.caseId,
      ticket: 'A001',
      service: { id: serviceId, name: 'Enrolments' },
      customer: { id: customerId, name: 'Ada' },
      status: 'COMPLETED',
      lastAction: 'COMPLETE',
      lastAgent: 'desk-1',
      position: null,
      estimatedWaitSeconds: null,
      subject: 'Transcript',
      notes: 'needs a copy',
    });
    expect(detail.closedAt).not.toBeNull();
    expect(
      detail.history.map((event) => [event.action, event.fromStatus, event.toStatus, event.agent, event.reason]),
    ).toEqual([
      ['ENQUEUE', null, 'WAITING', null, null],
      ['CALL_NEXT', 'WAITING', 'IN_SERVICE', 'desk-1', null],
      ['RETURN_TO_QUEUE', 'IN_SERVICE', 'WAITING', 'desk-1', 'fetching ID'],
      ['CALL_CASE', 'WAITING', 'IN_SERVICE', 'desk-1', null],
      ['COMPLETE', 'IN_SERVICE', 'COMPLETED', 'desk-1', null],
    ]);
    const times = detail.history.map((event) => Date.parse(event.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('answers completing a waiting case with ILLEGAL_TRANSITION, and an unknown case with NOT_FOUND', async () => {
    const caseId = (await given.waitingCase(t.db, { serviceId })).id;
    const illegal = expectError(await t.request(CompleteCaseDocument, { input: { caseId, agent: 'desk-1' } }));
    expect(illegal.extensions).toMatchObject({ code: 'ILLEGAL_TRANSITION', field: 'caseId', rule: 'transition' });
    expect(illegal.message).toContain('WAITING');
    expect(
      expectError(await t.request(CompleteCaseDocument, { input: { caseId: 987_654, agent: 'desk-1' } })).extensions,
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(expectData(await t.request(CaseDocument, { id: 987_654 })).case).toBeNull();
  });

  it("numbers tickets by the service's own calendar day", async () => {
    // Its own case, besides any the other tests left in the service.
    await given.waitingCase(t.db, { serviceId });
    const { rows } = await t.sql.query<{ matches: boolean }>(
      `SELECT bool_and(ticket_day = (enqueued_at AT TIME ZONE 'Pacific/Auckland')::date) AS matches FROM cases WHERE service_id = $1`,
      [serviceId],
    );
    expect(rows[0]?.matches).toBe(true);
  });

  it('rejects an agent name that is empty or too long', async () => {
    const caseId = (await given.waitingCase(t.db, { serviceId })).id;
    expect(expectError(await t.request(CallCaseDocument, { input: { caseId, agent: '' } })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'agent',
      rule: 'minLength',
    });
    expect(
      expectError(await t.request(CallCaseDocument, { input: { caseId, agent: 'd'.repeat(101) } })).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'agent', rule: 'maxLength' });
    expect(
      expectError(await t.request(CallNextDocument, { input: { serviceIds: [], agent: 'desk' } })).extensions,
    ).toMatchObject({ field: 'serviceIds', rule: 'minItems' });
  });
});
