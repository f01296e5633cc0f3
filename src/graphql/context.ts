// What every resolver receives. Built fresh for each request from the
// long-lived pieces created once at start-up.
import type { ApiKeyStore } from '../auth/api-keys.js';
import { OPEN_PRINCIPAL, type Principal } from '../auth/principal.js';
import type { Receipts } from '../auth/receipts.js';
import type { Database } from '../db/prisma-client.js';
import { createCaller, type Caller } from '../queue/call-next.js';
import type { Outcome } from '../http/request-report.js';
import type { LiveHub } from '../live/live-hub.js';
import { createEnqueuer, type Enqueuer } from '../queue/enqueue-case.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphQLContext {
  readonly db: Database;
  /** Long-lived, like `caller`: it gathers concurrent enqueues into shared commits. */
  readonly enqueuer: Enqueuer;
  readonly caller: Caller;
  /** Live updates: the subscriptions' source. */
  readonly live: LiveHub;
  readonly load: Loaders;
  /** Who sent the request (verified at the edge); `OPEN_PRINCIPAL` when the gateway runs open. */
  readonly principal: Principal;
  /** API keys of devices and integrations (admins manage them). */
  readonly keys: ApiKeyStore;
  /** Signs and checks the receipts kiosks follow their cases with. */
  readonly receipts: Receipts;
  /** Over HTTP: where the request's outcome is told to the request log and the metrics. */
  readonly outcome?: Outcome;
}

export interface ContextParts {
  readonly db: Database;
  /** The pool for the hot statements (`createDatabaseClient(..., { planOnce: true })`). */
  readonly hot: Database;
  /** Enqueue writes that may wait for held services at once. */
  readonly maxWaiting: number;
  readonly live: LiveHub;
}

/** The long-lived queue machinery every edge (GraphQL, REST) shares, so their enqueues share commits. */
export interface QueueRuntime {
  readonly db: Database;
  readonly enqueuer: Enqueuer;
  readonly caller: Caller;
  readonly live: LiveHub;
}

export function createQueueRuntime({ db, hot, maxWaiting, live }: ContextParts): QueueRuntime {
  return { db, enqueuer: createEnqueuer(db, hot, { maxWaiting }), caller: createCaller(db, hot), live };
}

/** A request's context, for the principal the edge verified. */
export type ContextFactory = (principal?: Principal) => Promise<GraphQLContext>;

/** The long-lived identity pieces resolvers need besides the queue runtime. */
export interface IdentityParts {
  readonly keys: ApiKeyStore;
  readonly receipts: Receipts;
}

export function contextFactory(
  { db, enqueuer, caller, live }: QueueRuntime,
  { keys, receipts }: IdentityParts,
): ContextFactory {
  return (principal = OPEN_PRINCIPAL) =>
    Promise.resolve({ db, enqueuer, caller, live, load: createLoaders(db), principal, keys, receipts });
}
