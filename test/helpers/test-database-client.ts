// A Prisma client on a database of its own, for testing the queue's rules
// directly, without HTTP or GraphQL.
import { inject } from 'vitest';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { createTestDatabase } from './databases.js';

export interface TestDatabaseClient {
  readonly db: Database;
  stop(): Promise<void>;
}

export async function startTestDatabaseClient(): Promise<TestDatabaseClient> {
  const database = await createTestDatabase(inject('serverUrl'));
  const db = createDatabaseClient(database.url, 10);
  return {
    db,
    async stop() {
      await db.$disconnect();
      await database.drop();
    },
  };
}
