// A Prisma client on a database of its own, for testing the queue's rules
// directly, without HTTP or GraphQL.
import type pg from 'pg';
import { inject } from 'vitest';
import { createDatabaseClient, type Database, type QueryListener } from '../../src/db/prisma-client.js';
import { createTestDatabase, testPool } from './databases.js';

export interface TestDatabaseClient {
  readonly db: Database;
  /** Direct SQL on the same database, for holding locks and checking what was stored. */
  readonly sql: pg.Pool;
  stop(): Promise<void>;
}

export interface TestDatabaseClientOptions {
  /** Connections of `db`. */
  readonly poolSize?: number;
  /** Told of every statement `db` sends. */
  readonly onQuery?: QueryListener;
}

export async function startTestDatabaseClient({
  poolSize = 10,
  onQuery,
}: TestDatabaseClientOptions = {}): Promise<TestDatabaseClient> {
  const database = await createTestDatabase(inject('serverUrl'));
  const db = createDatabaseClient(database.url, poolSize, { onQuery });
  const sql = testPool(database.url, 4);
  return {
    db,
    sql,
    async stop() {
      await sql.end();
      await db.$disconnect();
      await database.drop();
    },
  };
}
