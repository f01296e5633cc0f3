// How errors look to clients. Queue rule violations keep their code, field
// and rule; an unavailable database is a coded, retryable error; anything
// unexpected is logged and answered without internals (no SQL, no Prisma
// messages, no stack). No message quotes more than a bounded part of the input.
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { databaseUnavailable } from '../db/prisma-errors.js';
import { rateLimitedFailures, type Logger } from '../log.js';
import {
  DATABASE_UNAVAILABLE,
  INTERNAL_SERVER_ERROR,
  RETRY_AFTER_SECONDS,
  type GatewayErrorCode,
  type GraphQLErrorCode,
} from '../queue/error-codes.js';
import { GatewayError } from '../queue/errors.js';
import { OutcomeUnknownError } from '../queue/unknown-outcome.js';
import { boundedMessage } from './bounded-message.js';

const TOO_MANY_VARIABLE_ERRORS = 'Too many errors processing variables';
const BAD_USER_INPUT: GatewayErrorCode = 'BAD_USER_INPUT';

/** Extensions besides the code, which may not override it unchecked. */
export type OtherExtensions = Readonly<Record<string, unknown>> & { readonly code?: never };

/**
 * An error meant for the client, with a code the compiler checks: the one way
 * the gateway writes `extensions.code` (the other extensions follow it).
 */
export function graphqlError(message: string, code: GraphQLErrorCode, extensions: OtherExtensions = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

function unbounded(
  log: Logger,
  failures: (kind: string) => void,
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof GatewayError) {
    const { code, issue, issues } = original;
    return {
      ...formatted,
      message: original.message,
      extensions: {
        code,
        field: issue.field,
        rule: issue.rule,
        issues: issues.map((each) => ({ ...each, message: boundedMessage(each.message) })),
      },
    };
  }
  // Not from a resolver: parse, validation and variable errors, safe to show.
  if (original === error) {
    // graphql-js stops after 50 variable errors with an error of no code,
    // which Apollo would present as INTERNAL_SERVER_ERROR: it is still bad input.
    if (formatted.message.startsWith(TOO_MANY_VARIABLE_ERRORS))
      return { ...formatted, extensions: { ...formatted.extensions, code: BAD_USER_INPUT } };
    return formatted;
  }
  // A resolver chose to throw a GraphQLError: it is meant for the client.
  if (original instanceof GraphQLError) return formatted;
  const path = formatted.path ? { path: formatted.path } : {};
  const reason = databaseUnavailable(original);
  if (reason !== undefined) {
    // Expected during an outage, and one per request: a rate-limited line, no stack.
    failures(`database unavailable (${reason})`);
    // A write whose commit could not be confirmed: the client must know it may have been done.
    const unknown = original instanceof OutcomeUnknownError;
    return {
      message: unknown ? original.message : 'The database is unavailable or did not answer in time; try again later',
      extensions: {
        code: DATABASE_UNAVAILABLE,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
        ...(unknown ? { outcome: 'UNKNOWN' } : {}),
      },
      ...path,
    };
  }
  // A bug: its stack is worth a line each time.
  log.error('unexpected error while resolving', original);
  return { message: 'Internal server error', extensions: { code: INTERNAL_SERVER_ERROR }, ...path };
}

export function errorFormatter(
  log: Logger,
): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  const failures = rateLimitedFailures(log);
  return (formatted, error) => {
    const shown = unbounded(log, failures, formatted, error);
    return { ...shown, message: boundedMessage(shown.message) };
  };
}
