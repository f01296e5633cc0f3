// The DateTime scalar: a JavaScript Date inside, an ISO 8601 UTC string on the wire.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { graphqlError } from './errors.js';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

const NOT_ISO_8601 = 'DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-28T09:30:00.000Z';
const NO_SUCH_TIME =
  'DateTime must name a day and time that exist: month 01-12, a day the month has, hours 00-23, ' +
  'minutes and seconds 00-59, an offset of at most ±23:59';

/**
 * JavaScript's Date rolls over what does not exist (February 30 becomes
 * March 2, 24:00 the next day): read back in the string's own offset, a
 * time that exists gives the very fields it was written with.
 */
function exists(fields: readonly number[], offsetMinutes: number, date: Date): boolean {
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const [year, month, day, hours, minutes, seconds] = fields;
  return (
    local.getUTCFullYear() === year &&
    local.getUTCMonth() + 1 === month &&
    local.getUTCDate() === day &&
    local.getUTCHours() === hours &&
    local.getUTCMinutes() === minutes &&
    local.getUTCSeconds() === seconds
  );
}

function parse(value: unknown): Date {
  const match = typeof value === 'string' ? ISO_8601.exec(value) : null;
  const date = match ? new Date(match[0]) : undefined;
  if (!match || !date || Number.isNaN(date.getTime())) {
    // Out-of-range months, hours and offsets do not parse at all: the same rule as a day that does not exist.
    if (match) throw graphqlError(NO_SUCH_TIME, 'BAD_USER_INPUT');
    throw graphqlError(NOT_ISO_8601, 'BAD_USER_INPUT');
  }
  const [sign, offsetHours = '00', offsetMinutes = '00'] = match.slice(8);
  const offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59 || !exists(match.slice(1, 7).map(Number), offset, date))
    throw graphqlError(NO_SUCH_TIME, 'BAD_USER_INPUT');
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
    throw new GraphQLError('DateTime cannot represent a value that is not a valid Date');
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw graphqlError('DateTime must be a string', 'BAD_USER_INPUT');
    return parse(ast.value);
  },
});
