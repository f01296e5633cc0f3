// The input rules on their own: no HTTP, no database.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/queue/errors.js';
import { caseEnqueueRules, codePoints, createServiceRules, LIMITS, parseInput } from '../../src/queue/input-rules.js';

function rejection(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('case enqueue rules', () => {
  it('fills defaults: absent and null mean not given', () => {
    expect(parseInput(caseEnqueueRules, { serviceId: 3, notes: null })).toEqual({
      serviceId: 3,
      serviceIdExtRef: null,
      customerId: null,
      extRef: null,
      notes: null,
      subject: null,
      classificationCode: null,
      autoClose: false,
      customProperties: [],
      procedureExtRef: null,
      procedureOptionExtRef: null,
      idempotencyKey: null,
    });
  });

  it('names the nested field and the rule', () => {
    const error = rejection(() =>
      parseInput(caseEnqueueRules, { serviceId: 1, customProperties: [{ key: '', value: 'v' }] }),
    );
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.issue).toMatchObject({ field: 'customProperties[0].key', rule: 'minLength' });
    expect(error.message).toBe('customProperties[0].key: must be at least 1 character');
  });

  it('requires a service by id or external reference', () => {
    expect(rejection(() => parseInput(caseEnqueueRules, {})).issue).toMatchObject({
      field: 'serviceId',
      rule: 'required',
    });
    expect(parseInput(caseEnqueueRules, { serviceIdExtRef: 'X' }).serviceIdExtRef).toBe('X');
  });

  it('rejects a value of the wrong type with the type rule', () => {
    expect(rejection(() => parseInput(caseEnqueueRules, { serviceId: 1.5 })).issue).toMatchObject({
      field: 'serviceId',
      rule: 'type',
    });
  });

  it('counts code points, not UTF-16 units', () => {
    expect(codePoints('😀😀')).toBe(2);
    expect('😀😀'.length).toBe(4);
    expect(
      parseInput(caseEnqueueRules, { serviceId: 1, subject: '😀'.repeat(LIMITS.case.subject) }).subject,
    ).toHaveLength(2 * LIMITS.case.subject);
  });
});

describe('service rules', () => {
  it('accepts a well-formed service', () => {
    expect(parseInput(createServiceRules, { name: 'Desk', queueCode: 'B7' })).toEqual({
      name: 'Desk',
      extRef: null,
      queueCode: 'B7',
      timeZone: 'UTC',
    });
  });

  it('rejects a lower-case queue code', () => {
    expect(rejection(() => parseInput(createServiceRules, { name: 'Desk', queueCode: 'b' })).issue).toMatchObject({
      field: 'queueCode',
      rule: 'pattern',
    });
  });
});
