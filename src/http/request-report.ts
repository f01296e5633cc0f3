// What each request came to, told once it is answered: for the request log
// and the metrics. Routes say what they know (the GraphQL operation, the
// error code); the HTTP edge adds the id, route, status and duration. A
// report never holds a request's content: no query text, no variables, no
// body, no error message (messages may quote input). The operation's name is
// the client's choice: each observer keeps it only when it is a known one
// (src/metrics/operation-labels.ts).
import type { ServerResponse } from 'node:http';

export interface RequestReport {
  /** The `x-request-id` the client sent (when well-formed), or one made here; echoed in the answer. */
  readonly id: string;
  readonly method: string;
  /** The route that answered (`/graphql`, `/api/Cases/`, ...), never the full path, which may hold ids. */
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
  /** The GraphQL operation's name as the client sent it (or `anonymous`), when the request was one. */
  readonly operation: string | null;
  /** The root fields the operation selects (schema names, never aliases), once it was resolved. */
  readonly fields: readonly string[] | null;
  /** `OK`, or the code of the first error (`BAD_USER_INPUT`, `NOT_FOUND`, `DATABASE_UNAVAILABLE`, ...). */
  readonly outcome: string;
  /** Who sent it: `key:<id>`, `user:<subject>`, `open`, or `anonymous` when no credential was accepted. */
  readonly principal: string;
  /** The client closed the connection before the answer was sent whole. */
  readonly aborted: boolean;
}

export type RequestObserver = (report: RequestReport) => void;

/** The report's `operation` for an operation without a name. */
export const ANONYMOUS_OPERATION = 'anonymous';

/** What a route knows of its request's outcome. */
export interface Outcome {
  operation?: string | null | undefined;
  fields?: readonly string[] | null | undefined;
  outcome?: string | undefined;
  /** The principal's id, once the request is admitted. */
  principal?: string | undefined;
}

/** A response's record: every field from the start, so filling it in never changes its shape. */
class OutcomeRecord implements Outcome {
  operation: string | null | undefined = undefined;
  fields: readonly string[] | null | undefined = undefined;
  outcome: string | undefined = undefined;
  principal: string | undefined = undefined;
}

// Kept beside the response rather than on it: a property added to Node's own
// objects changes their shape, and Node's code that handles every response
// would then meet several shapes (measurably slower).
const outcomes = new WeakMap<ServerResponse, OutcomeRecord>();

const NOTHING_TOLD: Outcome = Object.freeze(new OutcomeRecord());

/**
 * The response's record, made on first use, for a route that fills it in as
 * it learns (the GraphQL route hands it to Apollo's plugin, outcome-plugin.ts).
 */
export function outcomeRecord(response: ServerResponse): Outcome {
  let record = outcomes.get(response);
  if (!record) {
    record = new OutcomeRecord();
    outcomes.set(response, record);
  }
  return record;
}

/** Records (merges) what the route knows; the last word on each field wins. */
export function recordOutcome(response: ServerResponse, outcome: Outcome): void {
  Object.assign(outcomeRecord(response), outcome);
}

export function outcomeOf(response: ServerResponse): Outcome {
  return outcomes.get(response) ?? NOTHING_TOLD;
}

/** The outcome from the status alone, when the route said nothing. */
export function outcomeFromStatus(status: number): string {
  if (status < 400) return 'OK';
  if (status === 503) return 'UNAVAILABLE';
  return status >= 500 ? 'INTERNAL_SERVER_ERROR' : `HTTP_${status}`;
}

const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's request id when it is one we can echo and log safely, else none. */
export function clientRequestId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && WELL_FORMED_ID.test(header) ? header : undefined;
}
