// The DateTime scalar: a JavaScript Date inside, an ISO 8601 UTC string on the wire.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { graphqlError } from './errors.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parse(value: unknown): Date {
  const date = typeof value === 'string' && ISO_8601.test(value) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw graphqlError(
      'DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-28T09:30:00.000Z',
      'BAD_USER_INPUT',
    );
  }
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
