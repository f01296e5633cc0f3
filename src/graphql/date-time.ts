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

/** The Date that `value` names, or what is wrong with it. */
function read(value: unknown): Date | string {
  const match = typeof value === 'string' ? ISO_8601.exec(value) : null;
  if (!match) return NOT_ISO_8601;
  const date = new Date(match[0]);
  // Out-of-range months, hours and offsets do not parse at all: the same rule as a day that does not exist.
  if (Number.isNaN(date.getTime())) return NO_SUCH_TIME;
  const [sign, offsetHours = '00', offsetMinutes = '00'] = match.slice(8);
  const offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59 || !exists(match.slice(1, 7).map(Number), offset, date))
    return NO_SUCH_TIME;
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
    throw new GraphQLError('DateTime cannot represent a value that is not a valid Date');
  },
  // A variable: graphql-js names it in front of this message ('Variable "$since" got invalid value ...').
  parseValue(value) {
    const date = read(value);
    if (typeof date === 'string') throw graphqlError(date, 'BAD_USER_INPUT');
    return date;
  },
  // A literal in the query: a plain error, which graphql-js wraps with the value and its place in
  // the query ('Expected value of type "DateTime!", found ...'); a GraphQLError it would pass on bare.
  parseLiteral(ast) {
    const date = ast.kind === Kind.STRING ? read(ast.value) : 'DateTime must be a string';
    if (typeof date === 'string') throw new TypeError(date);
    return date;
  },
});
