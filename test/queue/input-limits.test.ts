// Every length and count limit at its boundary, over HTTP: exactly at the
// limit is stored, one over is rejected with the field and rule named, and a
// rejection writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueCaseDocument, type CaseEnqueueInput } from '../../src/generated/operations/graphql.js';
import { LIMITS } from '../../src/queue/input-rules.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let serviceId: number;
const longExtRef = 'S'.repeat(LIMITS.case.serviceIdExtRef);

beforeAll(async () => {
  t = await startTestGateway();
  serviceId = (await given.service(t.db, { name: 'Limits', extRef: longExtRef })).id;
  // References at their longest exist, so that values at the limit are accepted.
  const longest = (length: number) => 'x'.repeat(length);
  await given.classification(t.db, { code: longest(LIMITS.case.classificationCode), name: 'Longest' });
  await given.procedure(t.db, { extRef: longest(LIMITS.case.procedureExtRef), name: 'Longest' });
  await given.procedure(t.db, {
    extRef: 'p',
    name: 'P',
    options: { create: [{ extRef: longest(LIMITS.case.procedureOptionExtRef), name: 'Longest' }] },
  });
});

afterAll(async () => {
  await t.stop();
});

const enqueue = (input: CaseEnqueueInput) => t.request(EnqueueCaseDocument, { input });
const properties = (count: number) =>
  Array.from({ length: count }, (_, index) => ({ key: `key-${index}`, value: `${index}` }));

interface Limit {
  readonly field: string;
  readonly rule: string;
  readonly atLimit: CaseEnqueueInput;
  readonly overLimit: CaseEnqueueInput;
}

const textLimits = (
  ['extRef', 'notes', 'subject', 'classificationCode', 'procedureExtRef', 'procedureOptionExtRef'] as const
).map((field): Limit => ({
  field,
  rule: 'maxLength',
  // A procedure option needs its procedure.
  atLimit: { serviceId: 0, procedureExtRef: 'p', [field]: 'x'.repeat(LIMITS.case[field]) },
  overLimit: { serviceId: 0, procedureExtRef: 'p', [field]: 'x'.repeat(LIMITS.case[field] + 1) },
}));

const limits: Limit[] = [
  ...textLimits,
  {
    field: 'serviceIdExtRef',
    rule: 'maxLength',
    atLimit: { serviceIdExtRef: longExtRef },
    overLimit: { serviceIdExtRef: `${longExtRef}S` },
  },
  {
    field: 'customProperties',
    rule: 'maxItems',
    atLimit: { serviceId: 0, customProperties: properties(LIMITS.case.customProperties) },
    overLimit: { serviceId: 0, customProperties: properties(LIMITS.case.customProperties + 1) },
  },
  {
    field: 'customProperties[0].key',
    rule: 'maxLength',
    atLimit: { serviceId: 0, customProperties: [{ key: 'k'.repeat(LIMITS.case.propertyKey), value: 'v' }] },
    overLimit: { serviceId: 0, customProperties: [{ key: 'k'.repeat(LIMITS.case.propertyKey + 1), value: 'v' }] },
  },
  {
    field: 'customProperties[0].value',
    rule: 'maxLength',
    atLimit: { serviceId: 0, customProperties: [{ key: 'k', value: 'v'.repeat(LIMITS.case.propertyValue) }] },
    overLimit: { serviceId: 0, customProperties: [{ key: 'k', value: 'v'.repeat(LIMITS.case.propertyValue + 1) }] },
  },
];

// serviceId 0 above is a placeholder for the service made in beforeAll.
const withService = (input: CaseEnqueueInput): CaseEnqueueInput =>
  input.serviceId === 0 ? { ...input, serviceId } : input;

describe.each(limits)('$field', ({ field, rule, atLimit, overLimit }) => {
  it('accepts a value exactly at the limit', async () => {
    const before = await rowCounts(t.sql);
    const { enqueueCase: result } = expectData(await enqueue(withService(atLimit)));
    expect(result.caseId).toBeGreaterThan(0);
    expect((await rowCounts(t.sql)).cases).toBe(before.cases + 1);
  });

  it(`rejects one over the limit with ${rule}, writing nothing`, async () => {
    const before = await rowCounts(t.sql);
    const error = expectError(await enqueue(withService(overLimit)));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field, rule });
    expect(error.message).toContain(field);
    expect(await rowCounts(t.sql)).toEqual(before);
  });
});

describe('how characters are counted', () => {
  it('counts a character outside the Basic Multilingual Plane once, as PostgreSQL does', async () => {
    const subject = '😀'.repeat(LIMITS.case.subject);
    const { enqueueCase: result } = expectData(await enqueue({ serviceId, subject }));
    expect(result.subject).toBe(subject);
    const { rows } = await t.sql.query('SELECT char_length(subject) AS length FROM cases WHERE id = $1', [
      result.caseId,
    ]);
    expect(rows[0]).toEqual({ length: LIMITS.case.subject });
  });

  it('rejects one emoji over the limit', async () => {
    const error = expectError(await enqueue({ serviceId, subject: '😀'.repeat(LIMITS.case.subject + 1) }));
    expect(error.extensions).toMatchObject({ field: 'subject', rule: 'maxLength' });
  });

  it.each([
    ['a NUL character', 'a\u0000b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('rejects %s, which PostgreSQL cannot store', async (_name, notes) => {
    const before = await rowCounts(t.sql);
    const error = expectError(await enqueue({ serviceId, notes }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'notes', rule: 'storableText' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('reports every broken rule, the first as the field', async () => {
    const response = await enqueue({ serviceId, subject: 'x'.repeat(101), notes: 'y'.repeat(4001) });
    const error = expectError(response);
    const issues = (response.errors?.[0]?.extensions?.['issues'] ?? []) as { field: string }[];
    expect(issues.map((issue) => issue.field).sort()).toEqual(['notes', 'subject']);
    expect(['notes', 'subject']).toContain(error.extensions.field);
  });
});
