// The error codes every edge answers with: GraphQL's `extensions.code`, REST's
// `Code`, the errors of live updates. Their strings are the public contract
// (clients switch on them), so none ever changes.

/** The refusals a `GatewayError` carries: the queue's rules and the edges' own (auth, REST, live). */
export type GatewayErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'ILLEGAL_TRANSITION' | 'FORBIDDEN';

/** The code of the error answered when the database is unreachable, frozen, overloaded or timed out. */
export const DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE';
/** What `Retry-After` says, and the error's `extensions.retryAfterSeconds`. */
export const RETRY_AFTER_SECONDS = 2;
/** No credential, or one that is not accepted (HTTP 401). */
export const UNAUTHENTICATED = 'UNAUTHENTICATED';
/** Over the rate limit (HTTP 429 with Retry-After). */
export const RATE_LIMITED = 'RATE_LIMITED';
/** Anything unexpected, answered without internals. */
export const INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR';

/**
 * The HTTP edge's own refusals, answered before GraphQL or REST reads the
 * request (a bad body, a wrong method, a request too slow or too large, a
 * Host not allowed, metrics not gathered): the README's errors table.
 */
export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_HEADER_FIELDS_TOO_LARGE'
  | 'EXPECTATION_FAILED'
  | 'HOST_NOT_ALLOWED'
  | 'METRICS_UNAVAILABLE';

/** A code an HTTP or REST error body may carry: checked by the compiler wherever one is written. */
export type ErrorCode =
  | GatewayErrorCode
  | HttpErrorCode
  | typeof DATABASE_UNAVAILABLE
  | typeof UNAUTHENTICATED
  | typeof RATE_LIMITED
  | typeof INTERNAL_SERVER_ERROR;

/**
 * A code the gateway writes into a GraphQL error's `extensions.code`, over
 * HTTP or in a WebSocket subscription's error: every `ErrorCode`, and the
 * codes only GraphQL answers with. Checked wherever one is written
 * (`graphqlError`, graphql/errors.ts).
 */
export type GraphQLErrorCode =
  | ErrorCode
  /** The query text does not parse, or has over 10,000 tokens (HTTP 400; coded as Apollo codes it). */
  | 'GRAPHQL_PARSE_FAILED'
  /** The document breaks a GraphQL validation rule or an operation limit (HTTP 400; coded as Apollo codes it). */
  | 'GRAPHQL_VALIDATION_FAILED'
  /** `operationName` names no operation of the document, or is missing with several (HTTP 400). */
  | 'OPERATION_RESOLUTION_FAILURE'
  /** A query's answer would pass 4 MiB (HTTP 400). */
  | 'RESPONSE_TOO_LARGE'
  /** A subscribe past LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION on one WebSocket: an error for that subscription, the socket stays open. */
  | 'TOO_MANY_SUBSCRIPTIONS';
