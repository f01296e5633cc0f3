// What every resolver receives. Built fresh for each request from the
// long-lived pieces created once at start-up.
import type { Database } from '../db/prisma-client.js';
import { createCaller, type Caller } from '../queue/call-next.js';
import { createEnqueuer, type Enqueuer } from '../queue/enqueue-case.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphQLContext {
  readonly db: Database;
  /** Long-lived, like `caller`: it gathers concurrent enqueues into shared commits. */
  readonly enqueuer: Enqueuer;
  readonly caller: Caller;
  readonly load: Loaders;
}

export interface ContextParts {
  readonly db: Database;
  /** The pool for the hot statements (`createDatabaseClient(..., { planOnce: true })`). */
  readonly hot: Database;
  /** Enqueue writes that may wait for held services at once. */
  readonly maxWaiting: number;
}

export function contextFactory({ db, hot, maxWaiting }: ContextParts): () => Promise<GraphQLContext> {
  const enqueuer = createEnqueuer(db, hot, { maxWaiting });
  const caller = createCaller(db, hot);
  return () => Promise.resolve({ db, enqueuer, caller, load: createLoaders(db) });
}
