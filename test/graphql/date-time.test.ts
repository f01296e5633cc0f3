// The DateTime scalar's refusals: bad input, coded BAD_USER_INPUT, with the same words.
import { GraphQLError, Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DateTime } from '../../src/graphql/date-time.js';

const refusalOf = (read: () => unknown): unknown => {
  try {
    read();
  } catch (error) {
    if (error instanceof GraphQLError) return error.toJSON();
    throw error;
  }
  return 'accepted';
};

describe('the DateTime scalar', () => {
  it('reads an ISO 8601 string with a time zone', () => {
    expect(DateTime.parseValue('2026-11-28T09:30:00.000Z')).toEqual(new Date('2026-11-28T09:30:00.000Z'));
  });

  it('refuses a string without a time zone, or not a date, as BAD_USER_INPUT', () => {
    const refusal = {
      message: 'DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-28T09:30:00.000Z',
      extensions: { code: 'BAD_USER_INPUT' },
    };
    expect(refusalOf(() => DateTime.parseValue('2026-11-28T09:30:00'))).toEqual(refusal);
    expect(refusalOf(() => DateTime.parseValue('2026-13-01T09:30:00Z'))).toEqual(refusal);
  });

  it('refuses a literal that is not a string as BAD_USER_INPUT', () => {
    expect(refusalOf(() => DateTime.parseLiteral({ kind: Kind.INT, value: '1' }))).toEqual({
      message: 'DateTime must be a string',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});
