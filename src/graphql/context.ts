// What every resolver receives. Built fresh for each request from the
// long-lived pieces created once at start-up.
import type { Database } from '../db/prisma-client.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphQLContext {
  readonly db: Database;
  readonly load: Loaders;
}

export function contextFactory(db: Database): () => Promise<GraphQLContext> {
  return async () => ({ db, load: createLoaders(db) });
}
