// One Prisma client per process, over node-postgres through Prisma's driver
// adapter (Prisma 7 has no native query engine to download).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export type Database = PrismaClient;
/** The client inside an interactive transaction. */
export type Transaction = Prisma.TransactionClient;

export function createDatabaseClient(databaseUrl: string, poolSize: number): Database {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
}
