// A real gateway on a free port over a database of its own.
import type pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { startGateway, type Gateway, type GatewayHooks } from '../../src/gateway.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { createTestDatabase, testPool, type TestDatabaseOptions } from './databases.js';
import { graphqlClient, type Client } from './graphql-client.js';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly request: Client;
  /** Direct SQL on the gateway's database, for checking what was stored. */
  readonly sql: pg.Pool;
  /** A Prisma client of the test's own on the gateway's database, for seeding it (see given.ts). */
  readonly db: Database;
  stop(): Promise<void>;
}

/**
 * Every test client connects from 127.0.0.1, and tests race hundreds of
 * requests at once (fetch opens a connection for each): as many as the
 * gateway takes in all, rather than one client's share.
 * test/http/connections.test.ts sets the per-address cap it tests.
 */
export const TEST_CLIENTS = { HTTP_MAX_CONNECTIONS_PER_ADDRESS: '1024' } as const;

/** Test gateways send no webhooks unless a test turns delivery on: endpoints made by other tests name hosts nobody may look up. */
export const NO_WEBHOOK_DELIVERY = { WEBHOOK_DELIVERY: 'off' } as const;

/**
 * `env` adds or overrides settings, e.g. `{ HTTP_HEADERS_TIMEOUT_MS: '1000' }` for short deadlines;
 * `log` receives the gateway's log (nothing is written unless given); `databaseOptions` says how
 * its database is made, e.g. `{ settings: { timezone: 'America/St_Johns' } }` for a server's defaults.
 */
export async function startTestGateway(
  hooks: GatewayHooks = {},
  env: Readonly<Record<string, string>> = {},
  log: Logger = silentLogger,
  databaseOptions: Pick<TestDatabaseOptions, 'settings'> = {},
): Promise<TestGateway> {
  const database = await createTestDatabase(inject('serverUrl'), databaseOptions);
  // Open unless a test asks otherwise: tests create keys in open gateways, which in
  // the default mode (auto) would start requiring credentials within seconds.
  const config = loadConfig({
    DATABASE_URL: database.url,
    PORT: '0',
    DATABASE_POOL_SIZE: '20',
    AUTH_MODE: 'open',
    ...TEST_CLIENTS,
    ...NO_WEBHOOK_DELIVERY,
    ...env,
  });
  const gateway = await startGateway(config, log, hooks);
  const sql = testPool(database.url, 2);
  const db = createDatabaseClient(database.url, 4);
  return {
    gateway,
    request: graphqlClient(gateway.url),
    sql,
    db,
    async stop() {
      await sql.end();
      await db.$disconnect();
      await gateway.stop();
      await database.drop();
    },
  };
}

/** Rows in the tables a case writes, to show a rejected request wrote nothing. */
export async function rowCounts(sql: pg.Pool): Promise<{ cases: number; properties: number }> {
  const { rows } = await sql.query<{ cases: number; properties: number }>(
    'SELECT (SELECT count(*)::int FROM cases) AS cases, (SELECT count(*)::int FROM case_properties) AS properties',
  );
  const [counts] = rows;
  if (!counts) throw new Error('count query returned no row');
  return counts;
}

export interface GatewayGroup {
  /** A client per gateway, the first one `t`'s own. */
  readonly clients: readonly Client[];
  /** Each gateway's GraphQL URL, in the order of `clients`. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/** `t` and `more` gateways beside it on the same database, as separate processes would be. */
export async function gatewayGroup(t: TestGateway, more: number): Promise<GatewayGroup> {
  const config = loadConfig({
    DATABASE_URL: t.gateway.databaseUrl,
    PORT: '0',
    DATABASE_POOL_SIZE: '10',
    AUTH_MODE: 'open',
    ...TEST_CLIENTS,
    ...NO_WEBHOOK_DELIVERY,
  });
  const others = await Promise.all(Array.from({ length: more }, () => startGateway(config, silentLogger)));
  return {
    clients: [t.request, ...others.map((other) => graphqlClient(other.url))],
    urls: [t.gateway.url, ...others.map((other) => other.url)],
    stop: async () => {
      await Promise.all(others.map((other) => other.stop()));
    },
  };
}
