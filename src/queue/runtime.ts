// The long-lived queue machinery every edge shares: GraphQL (a context per
// request, src/graphql/context.ts), REST (src/rest/) and live updates. Built
// once at start-up, so enqueues from every edge share commits.
import type { Database } from '../db/prisma-client.js';
import type { ReadRouter } from '../db/read-replica.js';
import type { LiveHub } from '../live/live-hub.js';
import { createCaller, type Caller } from './call-next.js';
import { createEnqueuer, type Enqueuer } from './enqueue-case.js';

export interface RuntimeParts {
  readonly db: Database;
  /** The pool for the hot statements (`createDatabaseClient(..., { planOnce: true })`). */
  readonly hot: Database;
  /** Enqueue writes that may wait for held services at once. */
  readonly maxWaiting: number;
  readonly live: LiveHub;
  /** Where what screens poll is read (src/db/read-replica.ts). */
  readonly reads: ReadRouter;
  /** Told when the estimates enqueues answered with could not be kept (enqueue-case.ts). */
  readonly onEstimatesNotKept?: (error: unknown) => void;
}

/** The long-lived queue machinery every edge (GraphQL, REST, live updates) shares, so their enqueues share commits. */
export interface QueueRuntime {
  readonly db: Database;
  readonly enqueuer: Enqueuer;
  readonly caller: Caller;
  readonly live: LiveHub;
  readonly reads: ReadRouter;
}

export function createQueueRuntime({
  db,
  hot,
  maxWaiting,
  live,
  reads,
  onEstimatesNotKept,
}: RuntimeParts): QueueRuntime {
  const enqueuer = createEnqueuer(db, hot, { maxWaiting, ...(onEstimatesNotKept ? { onEstimatesNotKept } : {}) });
  return { db, enqueuer, caller: createCaller(db, hot), live, reads };
}
