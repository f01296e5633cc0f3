// Reference data over HTTP: admin mutations, and every reference a case can
// name checked on enqueue (unknown, inactive, not allowed, not of its procedure).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddProcedureOptionDocument,
  ClassificationsDocument,
  CreateClassificationDocument,
  CreateCustomerDocument,
  CreateProcedureDocument,
  CreateServiceDocument,
  CustomerDocument,
  EnqueueCaseDocument,
  ProceduresDocument,
  UpdateClassificationDocument,
  UpdateCustomerDocument,
  UpdateProcedureDocument,
  UpdateServiceDocument,
  type CaseEnqueueInput,
} from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let serviceId: number;
let otherServiceId: number;
let customerId: number;
let inactiveCustomerId: number;

beforeAll(async () => {
  t = await startTestGateway();
  serviceId = (await given.service(t.db, { name: 'Desk', extRef: 'DESK' })).id;
  otherServiceId = (await given.service(t.db, { name: 'Other' })).id;
  // The reference data is made through the admin mutations this file tests.
  customerId = expectData(await t.request(CreateCustomerDocument, { input: { name: 'Grace', extRef: 'C-1' } }))
    .createCustomer.id;
  inactiveCustomerId = expectData(await t.request(CreateCustomerDocument, { input: { name: 'Gone', active: false } }))
    .createCustomer.id;
  expectData(await t.request(CreateClassificationDocument, { input: { code: 'GEN', name: 'General' } }));
  expectData(
    await t.request(CreateClassificationDocument, {
      input: { code: 'OTHER-ONLY', name: 'Only other', serviceIds: [otherServiceId] },
    }),
  );
  expectData(await t.request(CreateClassificationDocument, { input: { code: 'OLD', name: 'Old' } }));
  expectData(await t.request(UpdateClassificationDocument, { code: 'OLD', input: { active: false } }));
  expectData(
    await t.request(CreateProcedureDocument, {
      input: { extRef: 'ENROL', name: 'Enrolment', options: [{ extRef: 'NEW', name: 'New student' }] },
    }),
  );
  expectData(
    await t.request(CreateProcedureDocument, {
      input: { extRef: 'REFUND', name: 'Refund', options: [{ extRef: 'CASH', name: 'Cash' }] },
    }),
  );
  expectData(await t.request(CreateProcedureDocument, { input: { extRef: 'RETIRED', name: 'Retired' } }));
  expectData(await t.request(UpdateProcedureDocument, { extRef: 'RETIRED', input: { active: false } }));
});

afterAll(async () => {
  await t.stop();
});

const enqueue = (input: Omit<CaseEnqueueInput, 'serviceId'>) =>
  t.request(EnqueueCaseDocument, { input: { serviceId, ...input } });

describe('references on enqueue', () => {
  it('accepts every reference when it is right', async () => {
    const { enqueueCase } = expectData(
      await enqueue({ customerId, classificationCode: 'GEN', procedureExtRef: 'ENROL', procedureOptionExtRef: 'NEW' }),
    );
    expect(enqueueCase).toMatchObject({
      customerId,
      classificationCode: 'GEN',
      procedureExtRef: 'ENROL',
      procedureOptionExtRef: 'NEW',
    });
  });

  it.each([
    ['an unknown customer', { customerId: 999_999 }, { code: 'NOT_FOUND', field: 'customerId' }],
    ['an inactive customer', 'inactive-customer', { code: 'BAD_USER_INPUT', field: 'customerId', rule: 'active' }],
    ['an unknown classification', { classificationCode: 'NOPE' }, { code: 'NOT_FOUND', field: 'classificationCode' }],
    [
      'an inactive classification',
      { classificationCode: 'OLD' },
      { code: 'BAD_USER_INPUT', field: 'classificationCode', rule: 'active' },
    ],
    [
      'a classification of other services only',
      { classificationCode: 'OTHER-ONLY' },
      { code: 'BAD_USER_INPUT', field: 'classificationCode', rule: 'allowedForService' },
    ],
    ['an unknown procedure', { procedureExtRef: 'NOPE' }, { code: 'NOT_FOUND', field: 'procedureExtRef' }],
    [
      'an inactive procedure',
      { procedureExtRef: 'RETIRED' },
      { code: 'BAD_USER_INPUT', field: 'procedureExtRef', rule: 'active' },
    ],
    [
      'an option of another procedure',
      { procedureExtRef: 'ENROL', procedureOptionExtRef: 'CASH' },
      { code: 'BAD_USER_INPUT', field: 'procedureOptionExtRef', rule: 'belongsToProcedure' },
    ],
    [
      'an unknown option',
      { procedureExtRef: 'ENROL', procedureOptionExtRef: 'NOPE' },
      { code: 'BAD_USER_INPUT', field: 'procedureOptionExtRef', rule: 'belongsToProcedure' },
    ],
  ] as const)('rejects %s, writing nothing', async (_name, input, expected) => {
    const before = await rowCounts(t.sql);
    const error = expectError(
      await enqueue(input === 'inactive-customer' ? { customerId: inactiveCustomerId } : input),
    );
    expect(error.extensions).toMatchObject(expected);
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('reports an unknown service as such, even with a limited classification', async () => {
    const error = expectError(
      await t.request(EnqueueCaseDocument, { input: { serviceId: 987_654, classificationCode: 'OTHER-ONLY' } }),
    );
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceId' });
  });

  it('allows a limited classification for the services it names', async () => {
    const { enqueueCase } = expectData(
      await t.request(EnqueueCaseDocument, { input: { serviceId: otherServiceId, classificationCode: 'OTHER-ONLY' } }),
    );
    expect(enqueueCase.classificationCode).toBe('OTHER-ONLY');
  });

  it('stops enqueues into a deactivated service, by id or external reference', async () => {
    const closing = (await given.service(t.db, { name: 'Closing', extRef: 'CLOSING' })).id;
    expect(
      expectData(await t.request(UpdateServiceDocument, { id: closing, input: { active: false } })).updateService
        .active,
    ).toBe(false);
    const byId = expectError(await t.request(EnqueueCaseDocument, { input: { serviceId: closing } }));
    expect(byId.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'serviceId', rule: 'active' });
    const byExtRef = expectError(await t.request(EnqueueCaseDocument, { input: { serviceIdExtRef: 'CLOSING' } }));
    expect(byExtRef.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'serviceIdExtRef', rule: 'active' });
  });
});

describe('admin mutations', () => {
  it('updates customers and refuses duplicate external references', async () => {
    const updated = expectData(
      await t.request(UpdateCustomerDocument, { id: customerId, input: { name: 'Grace H.' } }),
    ).updateCustomer;
    expect(updated).toMatchObject({ id: customerId, name: 'Grace H.', extRef: 'C-1', active: true });
    expect(expectData(await t.request(CustomerDocument, { id: customerId })).customer).toEqual(updated);
    expect(expectError(await t.request(CreateCustomerDocument, { input: { extRef: 'C-1' } })).extensions).toMatchObject(
      { code: 'CONFLICT', field: 'extRef' },
    );
    expect(
      expectError(await t.request(UpdateCustomerDocument, { id: 999_999, input: { name: 'x' } })).extensions,
    ).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('limits a classification to services and lifts the limit again', async () => {
    const limited = expectData(
      await t.request(UpdateClassificationDocument, { code: 'GEN', input: { serviceIds: [otherServiceId] } }),
    ).updateClassification;
    expect(limited.services.map((service) => service.id)).toEqual([otherServiceId]);
    expect(expectError(await enqueue({ classificationCode: 'GEN' })).extensions).toMatchObject({
      rule: 'allowedForService',
    });
    expectData(await t.request(UpdateClassificationDocument, { code: 'GEN', input: { serviceIds: [] } }));
    expectData(await enqueue({ classificationCode: 'GEN' }));
    const all = expectData(await t.request(ClassificationsDocument, {})).classifications;
    expect(all.map((classification) => classification.code)).toEqual(['GEN', 'OLD', 'OTHER-ONLY']);
  });

  it('refuses a classification for a service that does not exist, or a duplicate code', async () => {
    expect(
      expectError(
        await t.request(CreateClassificationDocument, { input: { code: 'X', name: 'X', serviceIds: [999_999] } }),
      ).extensions,
    ).toMatchObject({ code: 'NOT_FOUND', field: 'serviceIds' });
    expect(
      expectError(await t.request(CreateClassificationDocument, { input: { code: 'GEN', name: 'Again' } })).extensions,
    ).toMatchObject({ code: 'CONFLICT', field: 'code' });
  });

  it('adds procedure options, refusing duplicates', async () => {
    const procedure = expectData(
      await t.request(AddProcedureOptionDocument, {
        procedureExtRef: 'REFUND',
        input: { extRef: 'CARD', name: 'Card' },
      }),
    ).addProcedureOption;
    expect(procedure.options.map((option) => option.extRef)).toEqual(['CARD', 'CASH']);
    expect(
      expectError(
        await t.request(AddProcedureOptionDocument, {
          procedureExtRef: 'REFUND',
          input: { extRef: 'CARD', name: 'Again' },
        }),
      ).extensions,
    ).toMatchObject({ code: 'CONFLICT' });
    expect(
      expectError(
        await t.request(CreateProcedureDocument, {
          input: {
            extRef: 'X',
            name: 'X',
            options: [
              { extRef: 'A', name: 'A' },
              { extRef: 'A', name: 'B' },
            ],
          },
        }),
      ).extensions,
    ).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'options[1].extRef',
      rule: 'unique',
    });
    const procedures = expectData(await t.request(ProceduresDocument, {})).procedures;
    expect(procedures.map((each) => [each.extRef, each.active])).toEqual([
      ['ENROL', true],
      ['REFUND', true],
      ['RETIRED', false],
    ]);
  });

  it.each([
    [
      'updateClassification',
      () => t.request(UpdateClassificationDocument, { code: 'a\u0000b', input: { name: 'x' } }),
      'code',
    ],
    [
      'updateProcedure',
      () => t.request(UpdateProcedureDocument, { extRef: 'a\u0000b', input: { name: 'x' } }),
      'extRef',
    ],
    [
      'addProcedureOption',
      () => t.request(AddProcedureOptionDocument, { procedureExtRef: 'a\u0000b', input: { extRef: 'x', name: 'x' } }),
      'procedureExtRef',
    ],
  ] as const)('checks the key argument of %s like any input', async (_name, send, field) => {
    expect(expectError(await send()).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field, rule: 'storableText' });
  });

  it('refuses a time zone the database does not know', async () => {
    const error = expectError(
      await t.request(CreateServiceDocument, { input: { name: 'Mars', timeZone: 'Mars/Olympus_Mons' } }),
    );
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'timeZone', rule: 'timeZone' });
  });
});
