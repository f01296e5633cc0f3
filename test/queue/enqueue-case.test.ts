// enqueueCase over HTTP: the seed's sample, service resolution, customers,
// custom properties and autoClose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueCaseDocument, type CaseEnqueueInput } from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let serviceId: number;
let otherServiceId: number;
let customerId: number;

beforeAll(async () => {
  t = await startTestGateway();
  serviceId = (await given.service(t.db, { name: 'Enrolments', extRef: 'sample string 3', queueCode: 'E' })).id;
  otherServiceId = (await given.service(t.db, { name: 'IT help desk', extRef: 'IT' })).id;
  customerId = (await given.customer(t.db, { name: 'Ada' })).id;
  // The reference data the seed's sample names.
  await given.classification(t.db, { code: 'sample string 8', name: 'Sample' });
  await given.procedure(t.db, {
    extRef: 'sample string 10',
    name: 'Sample',
    options: { create: [{ extRef: 'sample string 11', name: 'Option' }] },
  });
  await given.procedure(t.db, { extRef: 'p', name: 'P' });
});

afterAll(async () => {
  await t.stop();
});

const enqueue = (input: CaseEnqueueInput) => t.request(EnqueueCaseDocument, { input });

describe('the seed sample request', () => {
  it('round-trips every field, as returned and as stored', async () => {
    // The seed's request body, in camelCase, with ids that exist here.
    const input = {
      serviceId,
      serviceIdExtRef: 'sample string 3',
      customerId,
      extRef: 'sample string 5',
      notes: 'sample string 6',
      subject: 'sample string 7',
      classificationCode: 'sample string 8',
      autoClose: true,
      customProperties: [
        { key: 'sample string 1', value: 'sample string 2' },
        { key: 'sample string 3', value: 'sample string 4' },
      ],
      procedureExtRef: 'sample string 10',
      procedureOptionExtRef: 'sample string 11',
    };
    const before = Date.now();
    const { enqueueCase: result } = expectData(await enqueue(input));
    const {
      caseId,
      enqueuedAt,
      closedAt,
      status,
      ticket,
      position,
      estimatedWaitSeconds,
      estimatedWaitRange,
      ...echoed
    } = result;
    expect(echoed).toEqual(input);
    expect(caseId).toBeGreaterThan(0);
    expect(ticket).toMatch(/^E\d{3}$/);
    expect(position).toBeNull();
    expect(estimatedWaitSeconds).toBeNull();
    expect(estimatedWaitRange).toBeNull();
    expect(status).toBe('COMPLETED');
    expect(closedAt).toBe(enqueuedAt);
    expect(Math.abs(Date.parse(enqueuedAt) - before)).toBeLessThan(60_000);

    const { rows } = await t.sql.query('SELECT * FROM cases WHERE id = $1', [caseId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      service_id: serviceId,
      customer_id: customerId,
      ext_ref: input.extRef,
      notes: input.notes,
      subject: input.subject,
      classification_code: input.classificationCode,
      auto_close: true,
      procedure_ext_ref: input.procedureExtRef,
      procedure_option_ext_ref: input.procedureOptionExtRef,
      status: 'COMPLETED',
    });
    expect((rows[0] as { enqueued_at: Date }).enqueued_at.toISOString()).toBe(enqueuedAt);
    const properties = await t.sql.query('SELECT key, value FROM case_properties WHERE case_id = $1 ORDER BY key', [
      caseId,
    ]);
    expect(properties.rows).toEqual(input.customProperties);
  });

  it('stores a minimal case as waiting, with optional fields null', async () => {
    const { enqueueCase: result } = expectData(await enqueue({ serviceId }));
    expect(result).toMatchObject({
      serviceId,
      serviceIdExtRef: 'sample string 3',
      customerId: null,
      extRef: null,
      notes: null,
      subject: null,
      autoClose: false,
      customProperties: [],
      status: 'WAITING',
      closedAt: null,
    });
  });
});

describe('naming the service', () => {
  it('accepts the id alone', async () => {
    const { enqueueCase: result } = expectData(await enqueue({ serviceId: otherServiceId }));
    expect(result.serviceId).toBe(otherServiceId);
    expect(result.serviceIdExtRef).toBe('IT');
  });

  it('accepts the external reference alone', async () => {
    const { enqueueCase: result } = expectData(await enqueue({ serviceIdExtRef: 'IT' }));
    expect(result.serviceId).toBe(otherServiceId);
  });

  it('accepts both when they agree', async () => {
    const { enqueueCase: result } = expectData(await enqueue({ serviceId: otherServiceId, serviceIdExtRef: 'IT' }));
    expect(result.serviceId).toBe(otherServiceId);
  });

  it('rejects both when they disagree, writing nothing', async () => {
    const before = await rowCounts(t.sql);
    const error = expectError(await enqueue({ serviceId, serviceIdExtRef: 'IT' }));
    expect(error.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'serviceIdExtRef',
      rule: 'matchesServiceId',
    });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('rejects neither', async () => {
    const before = await rowCounts(t.sql);
    const error = expectError(await enqueue({ subject: 'lost' }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'serviceId', rule: 'required' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    const error = expectError(await enqueue({ serviceId: 999_999 }));
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceId' });
    expect(error.message).toContain('999999');
  });

  it('answers NOT_FOUND for an unknown external reference', async () => {
    const error = expectError(await enqueue({ serviceIdExtRef: 'NOPE' }));
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceIdExtRef' });
  });

  it('rejects a non-positive id as input, not as a lookup', async () => {
    const error = expectError(await enqueue({ serviceId: 0 }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'serviceId', rule: 'positive' });
  });
});

describe('customers, properties and autoClose', () => {
  it('answers NOT_FOUND for an unknown customer, writing nothing', async () => {
    const before = await rowCounts(t.sql);
    const error = expectError(
      await enqueue({ serviceId, customerId: 424_242, customProperties: [{ key: 'k', value: 'v' }] }),
    );
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'customerId' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('rejects duplicate property keys, naming the duplicate', async () => {
    const before = await rowCounts(t.sql);
    const error = expectError(
      await enqueue({
        serviceId,
        customProperties: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
          { key: 'a', value: '3' },
        ],
      }),
    );
    expect(error.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'customProperties[2].key',
      rule: 'uniqueKey',
    });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('returns properties in the order given and stores one row per key', async () => {
    const { enqueueCase: result } = expectData(
      await enqueue({
        serviceId,
        customProperties: [
          { key: 'zeta', value: '' },
          { key: 'Alpha', value: 'x' },
          { key: 'mid', value: 'y' },
        ],
      }),
    );
    expect(result.customProperties.map((property) => property.key)).toEqual(['zeta', 'Alpha', 'mid']);
    const { rows } = await t.sql.query('SELECT count(*)::int AS n FROM case_properties WHERE case_id = $1', [
      result.caseId,
    ]);
    expect(rows[0]).toEqual({ n: 3 });
  });

  it('stores an autoClose case closed, outside the waiting queue', async () => {
    const { enqueueCase: result } = expectData(await enqueue({ serviceId: otherServiceId, autoClose: true }));
    expect(result.status).toBe('COMPLETED');
    expect(result.closedAt).toBe(result.enqueuedAt);
    const { rows } = await t.sql.query(`SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING'`, [
      otherServiceId,
    ]);
    expect(rows.map((row: { id: number }) => row.id)).not.toContain(result.caseId);
  });

  it('treats autoClose: null as false', async () => {
    const { enqueueCase: result } = expectData(await enqueue({ serviceId, autoClose: null }));
    expect(result).toMatchObject({ autoClose: false, status: 'WAITING', closedAt: null });
  });

  it('requires the procedure when a procedure option is given', async () => {
    const error = expectError(await enqueue({ serviceId, procedureOptionExtRef: 'sample string 11' }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'procedureExtRef', rule: 'required' });
  });
});
