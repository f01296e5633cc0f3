// One Prisma client per process, over node-postgres through Prisma's driver
// adapter (Prisma 7 has no native query engine to download).
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlQuery } from '@prisma/driver-adapter-utils';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PoolConfig } from 'pg';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { PostgresPool } from './postgres-pool.js';
import { sessionOptions } from './session-settings.js';

export type Database = PrismaClient;

/** Told of every statement sent to the database (for logging, and for tests that count them). */
export type QueryListener = (query: { readonly sql: string; readonly durationMs: number }) => void;

// A statement that starts with `/* hot: <what> */` runs on every request of a
// hot path: it is prepared once per connection (named after a hash of its
// text) instead of parsed and planned on every call. Others stay unnamed, so
// the set of prepared statements stays as small as the set of hot ones.
const HOT = /^\/\* hot: [\w -]+ \*\//;
const names = new Map<string, string>();

function statementName(query: SqlQuery): string {
  if (!HOT.test(query.sql)) return '';
  let name = names.get(query.sql);
  if (name === undefined) {
    name = `hot_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`;
    names.set(query.sql, name);
  }
  return name;
}

export interface DatabaseClientOptions {
  /** Told of every statement sent to the database. */
  readonly onQuery?: QueryListener | undefined;
  /**
   * Plan prepared statements once per connection (plan_cache_mode =
   * force_generic_plan), for a client that runs only the hot statements: their
   * plans do not depend on their parameters' values (a batch's arrays, ids),
   * and planning them is otherwise a third of their cost.
   */
  readonly planOnce?: boolean;
  /**
   * Statement, lock and connection timeouts (config.ts `timeouts`);
   * PostgreSQL's defaults when absent. `outcomeMs`: see writeTimeouts.
   */
  readonly timeouts?:
    | (Pick<Config['timeouts'], 'statementMs' | 'lockMs' | 'acquireMs'> &
        Partial<Pick<Config['timeouts'], 'outcomeMs'>>)
    | undefined;
}

/** How much longer than the server's own statement timeout the client waits for an answer. */
export const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

/** The pool's settings: server-side timeouts for each connection, client-side ones for a server that hangs. */
export function poolConfig(
  poolSize: number,
  { planOnce = false, timeouts }: Pick<DatabaseClientOptions, 'planOnce' | 'timeouts'> = {},
): PoolConfig {
  return {
    max: poolSize,
    options: sessionOptions({
      ...(timeouts ? { statement_timeout: timeouts.statementMs, lock_timeout: timeouts.lockMs } : {}),
      ...(planOnce ? { plan_cache_mode: 'force_generic_plan' } : {}),
    }),
    ...(timeouts
      ? {
          // A frozen or unreachable server cannot enforce its own timeout: the
          // client gives up a little after it would have. pg-pool discards a
          // connection whose query failed, so a timed-out one is never reused.
          query_timeout: timeouts.statementMs + CLIENT_TIMEOUT_MARGIN_MS,
          // Waiting for a free connection of a full pool, or for a new one to open.
          connectionTimeoutMillis: timeouts.acquireMs,
        }
      : {}),
  };
}

/** How busy a client's connection pool is, for the metrics. */
export interface PoolUse {
  /** Connections open, in use or idle. */
  readonly total: number;
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
  /** The most connections the pool opens. */
  readonly max: number;
}

const pools = new WeakMap<Database, pg.Pool>();
const writeTimeoutsOf = new WeakMap<Database, WriteTimeouts>();

/** How long a write on a client may run, and how long its lost commit is looked for (queue/unknown-outcome.ts). */
export interface WriteTimeouts {
  readonly statementMs: number;
  readonly outcomeMs: number;
}

/** The settings' defaults (config.ts DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_OUTCOME_TIMEOUT_MS). */
export const DEFAULT_WRITE_TIMEOUTS: WriteTimeouts = { statementMs: 10_000, outcomeMs: 30_000 };

/** The write timeouts a client was made with (the defaults when it was given none). */
export function writeTimeouts(db: Database): WriteTimeouts {
  return writeTimeoutsOf.get(db) ?? DEFAULT_WRITE_TIMEOUTS;
}

function withPool<T extends Database>(client: T, pool: pg.Pool, timeouts: DatabaseClientOptions['timeouts']): T {
  pools.set(client, pool);
  if (timeouts)
    writeTimeoutsOf.set(client, {
      statementMs: timeouts.statementMs,
      outcomeMs: timeouts.outcomeMs ?? DEFAULT_WRITE_TIMEOUTS.outcomeMs,
    });
  return client;
}

/**
 * Ends the server sessions of `db`'s connections that ended at or after
 * `since` (performance.now()) and are still there, and waits (up to 5 s each)
 * until they have gone: a statement they were running is then rolled back,
 * and a commit waiting for a synchronous standby becomes visible. On another
 * server (after a failover) there is nothing of theirs to end. Needs the
 * same role as those sessions (the gateway's own), or pg_signal_backend.
 */
export async function fenceEndedSessions(db: Database, since: number): Promise<void> {
  const pool = pools.get(db);
  const names = pool instanceof PostgresPool ? pool.endedConnections.since(since) : [];
  if (names.length === 0) return;
  await db.$queryRaw`
    SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
     WHERE application_name = ANY(${names}::text[]) AND pid <> pg_backend_pid()`;
}

/** The pool use of a client made by `createDatabaseClient`. */
export function poolUse(db: Database): PoolUse | undefined {
  const pool = pools.get(db);
  return pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max };
}

export function createDatabaseClient(
  databaseUrl: string,
  poolSize: number,
  { onQuery, planOnce = false, timeouts }: DatabaseClientOptions = {},
): Database {
  // The pool is made here rather than by the adapter so that its counts can
  // be read; the adapter still ends it on $disconnect.
  // Over every host DATABASE_URL names, on the one target_session_attrs picks (postgres-pool.ts).
  const pool = new PostgresPool(databaseUrl, poolConfig(poolSize, { planOnce, timeouts }));
  const adapter = new PrismaPg(pool, { statementNameGenerator: statementName, disposeExternalPool: true });
  if (!onQuery) return withPool(new PrismaClient({ adapter }), pool, timeouts);
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery({ sql: event.query, durationMs: event.duration }));
  return withPool(client, pool, timeouts);
}
