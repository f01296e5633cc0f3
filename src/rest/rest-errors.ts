// How errors look to REST clients: `{ Message, Code, Field?, Rule?, Issues? }`
// with a status that says who must act (400 the request, 403 the credential,
// 404 the URL names nothing, 409 a conflict with what is stored, 503 try later). The codes are
// every edge's (src/queue/error-codes.ts); fields are named as the client spells them. Anything
// unexpected is logged and answered without internals.
import type { OutgoingHttpHeaders } from 'node:http';
import { databaseUnavailable } from '../db/prisma-errors.js';
import { boundedMessage } from '../graphql/bounded-message.js';
import type { FailureLog, Logger } from '../log.js';
import {
  DATABASE_UNAVAILABLE,
  INTERNAL_SERVER_ERROR,
  RETRY_AFTER_SECONDS,
  type ErrorCode,
  type GatewayErrorCode,
} from '../queue/error-codes.js';
import { GatewayError, type FieldIssue } from '../queue/errors.js';
import { OutcomeUnknownError } from '../queue/unknown-outcome.js';

export type RestIssue = { readonly Field: string; readonly Rule: string; readonly Message: string };

export type RestErrorBody = {
  readonly Message: string;
  readonly Code: string;
  /** The first field at fault, when a field is. */
  readonly Field?: string;
  readonly Rule?: string;
  /** Every field at fault, the first one included. */
  readonly Issues?: readonly RestIssue[];
};

export class RestError extends Error {
  override readonly name = 'RestError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Already in the client's names. */
    readonly issues: readonly FieldIssue[] = [],
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
  }
}

/** A 400 about fields of the request, in the client's names. */
export function badRequest(issues: readonly FieldIssue[]): RestError {
  const [first] = issues;
  if (!first) throw new Error('badRequest needs an issue');
  return new RestError(400, 'BAD_USER_INPUT', `${first.field}: ${first.message}`, issues);
}

/**
 * A reference in the body that names nothing (service, customer,
 * classification, procedure) is the request's fault, so 400 with the code
 * NOT_FOUND; 404 is kept for a URL that names nothing.
 */
const STATUS_OF: Readonly<Record<GatewayErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 400,
  CONFLICT: 409,
  ILLEGAL_TRANSITION: 409,
  // The credential may not do this whatever the ids (a kiosk naming a customer). A service or case
  // outside its limit is not this: it is NOT_FOUND, as a missing one (src/queue/actor-rules.ts).
  FORBIDDEN: 403,
};

export interface Naming {
  /** The client's name of a domain field. */
  field(field: string): string;
  /** The domain's message with the fields it mentions in the client's names. */
  message(message: string): string;
}

const asIs: Naming = { field: (field) => field, message: (message) => message };

/** The domain's error in the client's names. */
export function fromGatewayError(error: GatewayError, naming: Naming = asIs): RestError {
  const issues = error.issues.map((issue) => ({
    field: naming.field(issue.field),
    rule: issue.rule,
    message: naming.message(issue.message),
  }));
  const [first = { field: '', message: error.message }] = issues;
  return new RestError(STATUS_OF[error.code], error.code, `${first.field}: ${first.message}`, issues);
}

/** Turns any error into the answer a client gets, logging what the client cannot be told. */
export function restErrorOf(error: unknown, log: Logger, failures: FailureLog): RestError {
  if (error instanceof RestError) return error;
  if (error instanceof GatewayError) return fromGatewayError(error);
  const reason = databaseUnavailable(error);
  if (reason !== undefined) {
    // Expected during an outage, and one per request: a rate-limited line, no stack.
    failures(`database unavailable (${reason})`);
    return new RestError(
      503,
      DATABASE_UNAVAILABLE,
      // A write whose commit could not be confirmed says so: it may have been done.
      error instanceof OutcomeUnknownError
        ? error.message
        : 'The database is unavailable or did not answer in time; try again later',
      [],
      { 'retry-after': String(RETRY_AFTER_SECONDS) },
    );
  }
  log.error('unexpected error in the REST API', error);
  return new RestError(500, INTERNAL_SERVER_ERROR, 'Internal server error');
}

/** The body of an error; messages quote at most a bounded part of the input. */
export function restErrorBody(error: RestError): RestErrorBody {
  const issues = error.issues.map((issue) => ({
    Field: issue.field,
    Rule: issue.rule,
    Message: boundedMessage(issue.message),
  }));
  const [first] = issues;
  const message = boundedMessage(error.message);
  if (!first) return { Message: message, Code: error.code };
  return { Message: message, Code: error.code, Field: first.Field, Rule: first.Rule, Issues: issues };
}
