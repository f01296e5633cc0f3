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
    expect(refusalOf(() => DateTime.parseValue('28/11/2026 09:30Z'))).toEqual(refusal);
  });

  it('refuses a day or time that does not exist, rather than rolling it over', () => {
    const refusal = {
      message:
        'DateTime must name a day and time that exist: month 01-12, a day the month has, hours 00-23, ' +
        'minutes and seconds 00-59, an offset of at most ±23:59',
      extensions: { code: 'BAD_USER_INPUT' },
    };
    for (const value of [
      '2026-02-30T09:30:00Z', // JavaScript's Date reads it as March 2
      '2027-02-29T09:30:00Z', // not a leap year
      '2026-04-31T00:00:00+02:00',
      '2026-13-01T09:30:00Z',
      '2026-00-10T09:30:00Z',
      '2026-11-28T24:00:00Z', // JavaScript's Date reads it as the next midnight
      '2026-11-28T09:60:00Z',
      '2026-11-28T09:30:60Z',
      '2026-11-28T09:30:00+24:00',
      '2026-11-28T09:30:00+05:60',
    ])
      expect(
        refusalOf(() => DateTime.parseValue(value)),
        value,
      ).toEqual(refusal);
  });

  it('reads every day and time that exists, in any offset', () => {
    expect(DateTime.parseValue('2028-02-29T23:59:59.999Z')).toEqual(new Date(Date.UTC(2028, 1, 29, 23, 59, 59, 999)));
    // Kathmandu's quarter-hour offset, and a day that exists only in the writer's offset.
    expect(DateTime.parseValue('2026-11-28T09:30:00+05:45')).toEqual(new Date(Date.UTC(2026, 10, 28, 3, 45)));
    expect(DateTime.parseValue('2026-03-01T01:00:00+03:00')).toEqual(new Date(Date.UTC(2026, 1, 28, 22)));
    expect(DateTime.parseValue('2026-12-31T23:30:00-03:30')).toEqual(new Date(Date.UTC(2027, 0, 1, 3)));
    expect(DateTime.parseValue('2026-11-28T09:30:00.123456789Z')).toEqual(
      new Date(Date.UTC(2026, 10, 28, 9, 30, 0, 123)),
    );
  });

  it('refuses a literal in the query with a plain error, which graphql-js wraps with the value and its place', () => {
    expect(() => DateTime.parseLiteral({ kind: Kind.INT, value: '1' })).toThrow(
      new TypeError('DateTime must be a string'),
    );
    expect(() => DateTime.parseLiteral({ kind: Kind.STRING, value: '2026-02-30T09:30:00Z' })).toThrow(
      /^DateTime must name a day and time that exist/,
    );
    expect(DateTime.parseLiteral({ kind: Kind.STRING, value: '2026-11-28T09:30:00Z' })).toEqual(
      new Date('2026-11-28T09:30:00Z'),
    );
  });
});
