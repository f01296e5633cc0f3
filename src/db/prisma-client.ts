// One Prisma client per process, over node-postgres through Prisma's driver
// adapter (Prisma 7 has no native query engine to download).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Database = PrismaClient;

/** Told of every statement sent to the database (for logging, and for tests that count them). */
export type QueryListener = (query: { readonly sql: string; readonly durationMs: number }) => void;

export function createDatabaseClient(databaseUrl: string, poolSize: number, onQuery?: QueryListener): Database {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
  client.$on('query', (event) => onQuery({ sql: event.query, durationMs: event.duration }));
  return client;
}
