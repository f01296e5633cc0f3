// Databases for tests: each one a copy of the migrated template, so tests in
// different files never see each other's rows and can run concurrently.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sessionOptions } from '../../src/db/session-settings.js';

export const TEMPLATE_DATABASE = 'gateway_test_template';
// Copying a template fails while another copy of it is being made, so
// copies are made one at a time across all test workers.
const CREATE_LOCK = 7_310_001;

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(serverUrl: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabaseOptions {
  /** A copy of the migrated template (the default), or an empty database with `false`. */
  readonly migrated?: boolean;
  /**
   * Defaults of every session on the database (`ALTER DATABASE ... SET`), set
   * before anyone connects, e.g. `{ timezone: 'America/St_Johns' }`.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/i;

/** A new database: a copy of the migrated template, or empty with `migrated: false`. */
export async function createTestDatabase(
  serverUrl: string,
  { migrated = true, settings = {} }: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  const name = `gateway_test_${randomBytes(6).toString('hex')}`;
  await asAdmin(serverUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [CREATE_LOCK]);
    try {
      await client.query(`CREATE DATABASE ${name} TEMPLATE ${migrated ? TEMPLATE_DATABASE : 'template0'}`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [CREATE_LOCK]);
    }
    for (const [setting, value] of Object.entries(settings)) {
      if (!SETTING_NAME.test(setting)) throw new Error(`not a setting name: ${JSON.stringify(setting)}`);
      await client.query(`ALTER DATABASE ${name} SET ${setting} = ${client.escapeLiteral(value)}`);
    }
  });
  return {
    url: databaseUrl(serverUrl, name),
    drop: () =>
      asAdmin(serverUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
      ),
  };
}

/**
 * A plain pg pool for a test's own SQL, its sessions set as the gateway's
 * (in UTC, so `current_date` is a UTC service's day whatever the server's
 * zone). `pool.end()` resolves before its connections have closed, so the
 * `DROP DATABASE ... WITH (FORCE)` that follows may terminate one still
 * closing; without a listener that error would surface as an uncaught
 * exception of the run.
 */
export function testPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, options: sessionOptions() });
  pool.on('error', () => undefined);
  return pool;
}

/** The rows of one statement on a connection of its own (for servers a test starts itself). */
export async function queryRows(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url, options: sessionOptions() });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}
