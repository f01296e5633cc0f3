// How errors look to clients. Queue rule violations keep their code, field
// and rule; anything unexpected is logged and answered without internals
// (no SQL, no Prisma messages, no stack).
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../log.js';
import { QueueError } from '../queue/errors.js';

export function errorFormatter(
  log: Logger,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const original = unwrapResolverError(error);
    if (original instanceof QueueError) {
      const { code, issue, issues } = original;
      return {
        ...formatted,
        message: original.message,
        extensions: { code, field: issue.field, rule: issue.rule, issues: issues.map((each) => ({ ...each })) },
      };
    }
    // Not from a resolver: parse, validation and variable errors, safe to show.
    if (original === error) return formatted;
    // A resolver chose to throw a GraphQLError: it is meant for the client.
    if (original instanceof GraphQLError) return formatted;
    log.error('unexpected error while resolving', original);
    return {
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
      ...(formatted.path ? { path: formatted.path } : {}),
    };
  };
}
