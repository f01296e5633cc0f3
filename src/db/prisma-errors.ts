// Recognises the database errors the domain turns into typed results, so no
// Prisma message ever reaches a client. Errors of the query builder carry
// Prisma's codes; errors of raw SQL (P2010) carry the driver adapter's kind.
import { Prisma } from '../generated/prisma/client.js';

function adapterErrorCause(error: Prisma.PrismaClientKnownRequestError): object | undefined {
  const adapterError = error.meta?.['driverAdapterError'];
  if (typeof adapterError !== 'object' || adapterError === null || !('cause' in adapterError)) return undefined;
  const { cause } = adapterError;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

function adapterErrorKind(error: Prisma.PrismaClientKnownRequestError): unknown {
  const cause = adapterErrorCause(error);
  return cause && 'kind' in cause ? cause.kind : undefined;
}

function isViolation(error: unknown, prismaCode: string, adapterKind: string): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return error.code === prismaCode || (error.code === 'P2010' && adapterErrorKind(error) === adapterKind);
}

/** A unique constraint was violated. */
export const isUniqueViolation = (error: unknown): boolean => isViolation(error, 'P2002', 'UniqueConstraintViolation');

/** A foreign key pointed at a row that does not exist. */
export const isForeignKeyViolation = (error: unknown): boolean =>
  isViolation(error, 'P2003', 'ForeignKeyConstraintViolation');

/**
 * PostgreSQL itself answered the statement with an error (it carries a
 * SQLSTATE: a broken constraint, a deadlock, a cancelled statement): a
 * statement run on its own was then rolled back, and nothing of it is
 * committed. A lost connection carries none, and may have come after a commit.
 * Not when the database is unavailable (see databaseUnavailable).
 */
export function refusedByDatabase(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const cause = adapterErrorCause(error);
  return (
    cause !== undefined &&
    'originalCode' in cause &&
    typeof cause.originalCode === 'string' &&
    // A timeout, a shutdown, no connection left: trying each request of the
    // batch alone would fail the same way, one full timeout after another.
    databaseUnavailable(error) === undefined
  );
}

// SQLSTATEs that say the database cannot serve the request now, though a
// later try may succeed: the request was not at fault.
const UNAVAILABLE_STATES: Readonly<Record<string, string>> = {
  '57014': 'statement timeout (57014)',
  // Another transaction held a lock this one needed for longer than lock_timeout.
  '55P03': 'lock timeout (55P03)',
  '57P01': 'server shutting down (57P01)',
  '57P02': 'server crashed (57P02)',
  '57P03': 'server not accepting connections (57P03)',
  // A write on a server that is (now) read-only: a demoted primary, or a standby behind a proxy.
  '25006': 'read-only server (25006)',
  '53300': 'too many connections (53300)',
  '53400': 'configuration limit exceeded (53400)',
  '08000': 'connection exception (08000)',
  '08003': 'connection does not exist (08003)',
  '08006': 'connection failure (08006)',
  '08001': 'cannot connect (08001)',
  '08004': 'connection rejected (08004)',
  // Prisma's own code for a pool that had no connection in time.
  P2024: 'pool acquire timeout (P2024)',
};

// Driver adapter kinds (Prisma codes P1001, P1008, P1017, P2037) of the same meaning.
const UNAVAILABLE_KINDS: Readonly<Record<string, string>> = {
  DatabaseNotReachable: 'database not reachable (ECONNREFUSED)',
  ConnectionClosed: 'connection closed (ECONNRESET)',
  SocketTimeout: 'socket timeout (ETIMEDOUT)',
  TooManyConnections: 'too many connections (53300)',
};

// pg and pg-pool throw plain errors, which the driver adapter passes on unchanged.
const UNAVAILABLE_MESSAGES: readonly (readonly [string, string])[] = [
  ['timeout exceeded when trying to connect', 'pool acquire timeout'],
  ['Connection terminated due to connection timeout', 'connect timeout'],
  ['Query read timeout', 'query timeout (client side)'],
  ['Connection terminated unexpectedly', 'connection terminated'],
  ['Connection terminated', 'connection terminated'],
  ['is not queryable', 'connection lost'],
  ['Cannot use a pool after calling end on the pool', 'shutting down'],
  // Prisma's interactive transactions: no connection within maxWait, or over their time limit.
  ['Unable to start a transaction in the given time', 'transaction start timeout (P2028)'],
  ['Transaction already closed', 'transaction timeout (P2028)'],
  // queue/unknown-outcome.ts: a write's commit could not be confirmed in time.
  ['whether it was written is not known', 'commit outcome unknown'],
  // db/postgres-pool.ts: a commit's wait for the synchronous standby was cut short (it may be lost in a failover).
  ['not confirmed by a synchronous standby', 'commit not confirmed by the standby'],
  // db/postgres-pool.ts: every host of DATABASE_URL was down or the wrong kind (a standby) until the acquire timeout.
  ['not what target_session_attrs', 'no suitable database host'],
];

const NODE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && key in value
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** The error and what it wraps (Prisma's `meta.driverAdapterError.cause`, `cause`), outermost first. */
function* layers(error: unknown): Generator {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    yield current;
    const adapterError = fieldOf(fieldOf(current, 'meta'), 'driverAdapterError');
    current = adapterError !== undefined ? fieldOf(adapterError, 'cause') : fieldOf(current, 'cause');
  }
}

function reasonOf(layer: unknown): string | undefined {
  const state = fieldOf(layer, 'originalCode') ?? fieldOf(layer, 'code');
  if (typeof state === 'string') {
    const reason = UNAVAILABLE_STATES[state];
    if (reason) return reason;
    if (NODE_SOCKET_CODES.has(state)) return `connection failed (${state})`;
  }
  const kind = fieldOf(layer, 'kind');
  if (typeof kind === 'string' && UNAVAILABLE_KINDS[kind]) return UNAVAILABLE_KINDS[kind];
  const message = fieldOf(layer, 'message');
  if (typeof message === 'string') {
    return UNAVAILABLE_MESSAGES.find(([text]) => message.includes(text))?.[1];
  }
  return undefined;
}

/**
 * Why the database could not serve a statement now (unreachable, frozen, out
 * of connections, a timeout), or undefined for any other error. A later try
 * may succeed; it is the database's state, not the request, that failed.
 */
export function databaseUnavailable(error: unknown): string | undefined {
  for (const layer of layers(error)) {
    const reason = reasonOf(layer);
    if (reason) return reason;
  }
  return undefined;
}

/** Failures before a statement reached the server: nothing of it can have been committed. */
const NOT_SENT = new Set([
  'pool acquire timeout (P2024)',
  'pool acquire timeout',
  'connect timeout',
  'database not reachable (ECONNREFUSED)',
  'connection failed (ECONNREFUSED)',
  'connection failed (ENOTFOUND)',
  'connection failed (EHOSTUNREACH)',
  'server not accepting connections (57P03)',
  'too many connections (53300)',
  'cannot connect (08001)',
  'connection rejected (08004)',
  'shutting down',
  'transaction start timeout (P2028)',
  'no suitable database host',
]);

/** The server answered the statement with an error of its own (a SQLSTATE): it was rolled back. */
function answeredBySqlState(error: unknown): boolean {
  for (const layer of layers(error)) {
    const state = fieldOf(layer, 'originalCode') ?? fieldOf(layer, 'code');
    if (typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) && !/^E[A-Z]+$/.test(state) && !state.startsWith('P'))
      return true;
  }
  return false;
}

/**
 * The connection was lost after a statement was sent and before its answer
 * came: it may or may not have committed (docs/reliability.md, "Failover").
 * Not when it never reached the server (no connection, a refused connect),
 * nor when the server answered it with an error (then it was rolled back).
 */
export function commitUnknown(error: unknown): boolean {
  const reason = databaseUnavailable(error);
  return reason !== undefined && !NOT_SENT.has(reason) && !answeredBySqlState(error);
}
