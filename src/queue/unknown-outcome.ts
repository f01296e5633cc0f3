// Writes whose commit was not confirmed. When the connection is lost after a
// statement was sent (the primary killed, a failover, a network cut) and
// before its answer came, the write may have committed or not. Answering
// "unavailable, try again" would make a client without an idempotency key
// enqueue twice, and an agent's retry of call next take a second case; so the
// gateway finds out itself, on whichever server is writable now, before it
// answers anyone.
//
// Every hot write stamps the rows it writes with a token of its own
// (cases.write_token; one per request of a batch). The caller's `find` reads
// the rows that carry its tokens: any row means the statement committed
// (a statement is atomic), and the requests without a row were left out by
// it and may be written again; no row means nothing was written, but only
// once the statement can no longer commit: on a server that only lost our
// connection it may still run, and statement_timeout bounds it, so an empty
// answer is trusted only `statementMs` after the statement was sent (a dead
// or demoted primary never commits it on the new one: synchronous
// replication, and a rejoining node is rewound). While no server answers,
// `find` is retried with backoff for `outcomeMs`; after that the request is
// answered DATABASE_UNAVAILABLE, saying the outcome is not known.
//
// Rows found are trusted only once the server has them on its synchronous
// standby too: an old primary that has not yet stopped after a switchover
// still takes connections and shows its own commits, which its standby,
// promoted meanwhile, never received. So the read runs in a transaction that
// writes to the WAL itself (a transactional logical message, which touches no
// table); its commit is confirmed only once the standby has every record
// before it, the found rows' commit included. (An xid alone writes no WAL, and
// such a commit waits for nobody.) A commit that does not come back, or comes
// back unconfirmed (CommitUnconfirmedError, db/postgres-pool.ts), fails the
// read, which is tried again on whichever server then takes writes.
import type { Prisma } from '../generated/prisma/client.js';
import { CLIENT_TIMEOUT_MARGIN_MS, fenceEndedSessions, writeTimeouts, type Database } from '../db/prisma-client.js';
import { databaseUnavailable } from '../db/prisma-errors.js';

/** A write's outcome stayed unknown for `outcomeMs` (databaseUnavailable() knows this message). */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError';
  constructor(cause: unknown) {
    super(
      'The database was lost while this write was being committed, and whether it was written is not known: send it again with the same idempotency key, or look for it before sending it again without one',
      { cause },
    );
  }
}

const BACKOFF_FIRST_MS = 100;
/** Connections that ended a little before the write was sent may have carried it (the pool hands out idle ones). */
const FENCE_MARGIN_MS = 1_000;
const BACKOFF_MAX_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How far back (seconds) the rows of a write whose commit was lost on `db` can be: time predicates for `find`. */
export function settleWindowSeconds(db: Database): number {
  const { statementMs, outcomeMs } = writeTimeouts(db);
  return Math.ceil((statementMs + outcomeMs) / 1_000) + 60;
}

/**
 * What `read` reads, once the synchronous standby (if any) has every commit
 * it shows, when `found` says it shows one. Also for a retry that gets what
 * its first try wrote (an idempotency key's case). Nothing found costs one
 * plain read; something found is read again in the confirming transaction
 * (on the server whose commit confirms it).
 */
export async function readConfirmed<T>(
  db: Database,
  read: (client: Prisma.TransactionClient) => Promise<T>,
  found: (value: T) => boolean,
): Promise<T> {
  const first = await read(db);
  if (!found(first)) return first;
  return db.$transaction(async (tx) => {
    const value = await read(tx);
    if (found(value)) await tx.$queryRaw`SELECT pg_logical_emit_message(true, 'fifo-gateway', 'settle')::text`;
    return value;
  });
}

/**
 * What a write sent on `db` at `sentAt` (performance.now()) committed, as
 * `query` reads it (the rows carrying the write's tokens): a non-empty list
 * (it committed), or an empty one once nothing can commit any more (it did not).
 */
export async function settleOutcome<Row>(db: Database, query: Prisma.Sql, sentAt: number): Promise<Row[]> {
  const find = () =>
    readConfirmed(
      db,
      (tx) => tx.$queryRaw<Row[]>(query),
      (rows) => rows.length > 0,
    );
  const { statementMs, outcomeMs } = writeTimeouts(db);
  const settledAt = sentAt + statementMs + CLIENT_TIMEOUT_MARGIN_MS;
  const deadline = performance.now() + outcomeMs;
  let backoff = BACKOFF_FIRST_MS;
  for (;;) {
    try {
      const rows = await find();
      if (rows.length > 0) return rows;
      const wait = settledAt - performance.now();
      if (wait > 0) await sleep(wait);
      // A session of ours that outlived its connection (a commit waiting for
      // a synchronous standby outlasts statement_timeout) is ended first: its
      // commit then shows, or it is rolled back.
      await fenceEndedSessions(db, sentAt - FENCE_MARGIN_MS);
      return await find();
    } catch (error) {
      if (databaseUnavailable(error) === undefined) throw error;
      if (performance.now() + backoff > deadline) throw new OutcomeUnknownError(error);
      await sleep(backoff);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    }
  }
}

/**
 * Reads what a committed write's answer shows (its case's service, history,
 * position): a failover right after the commit must not turn the answer into
 * an error, or the client, told nothing was done, does it again. While the
 * database is unavailable the read is tried again, with backoff, for the
 * client's `outcomeMs`; any other error, or one past that, is thrown.
 */
export async function afterWrite<T>(db: Database, read: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + writeTimeouts(db).outcomeMs;
  let backoff = BACKOFF_FIRST_MS;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (databaseUnavailable(error) === undefined || performance.now() + backoff > deadline) throw error;
      await sleep(backoff);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    }
  }
}
