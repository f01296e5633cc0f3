// The job queue that delivers webhooks: graphile-worker, in its own schema
// (graphile_worker), installed from the SQL its package ships (no network),
// beside the project's migrations and not by them: Prisma never sees it, and
// the triggers that record events never call it (docs/webhooks.md, "Why
// graphile-worker"). graphile-worker installs one migration at a time and
// tolerates no concurrent installer, so every installer first takes one
// advisory lock: gateways starting together install it once.
import { Logger, runMigrations, type LogFunctionFactory } from 'graphile-worker';
import type { Logger as GatewayLogger } from '../log.js';
import { PostgresPool } from './postgres-pool.js';
import { sessionOptions } from './session-settings.js';

/** Advisory lock class of the install ('WHMG'): PostgreSQL 14 and 15 have no hex literals in SQL. */
const INSTALL_LOCK = 0x57484d47;

/** graphile-worker's log lines through the gateway's log: warnings and errors only, and no metadata (it may name jobs' payloads). */
export function jobQueueLogger(log: GatewayLogger): Logger {
  const factory: LogFunctionFactory = (scope) => (level, message) => {
    // A const enum of strings ('error', 'warning', ...), read as its string.
    const name: string = level;
    const where = scope.taskIdentifier ? ` (${scope.taskIdentifier})` : '';
    if (name === 'error') log.error(`job queue${where}: ${message}`);
    else if (name === 'warning') log.warn(`job queue${where}: ${message}`);
  };
  return new Logger(factory);
}

/** A pool for graphile-worker on the hosts of `url` (it follows the primary, like every pool of the gateway). */
export function jobQueuePool(url: string, max: number): PostgresPool {
  const pool = new PostgresPool(url, { max, options: sessionOptions(), connectionTimeoutMillis: 5_000 });
  // A connection that breaks while checked out (its server restarted) fails its query; the error needs a listener.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Installs or upgrades graphile-worker's schema on the database of `url`, once however many gateways start. */
export async function installJobQueue(url: string, log: GatewayLogger): Promise<void> {
  const pool = jobQueuePool(url, 2);
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1, 0)', [INSTALL_LOCK]);
    await runMigrations({ pgPool: pool, logger: jobQueueLogger(log) });
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1, 0)', [INSTALL_LOCK]).catch(() => undefined);
    lock.release();
    await pool.end();
  }
}
