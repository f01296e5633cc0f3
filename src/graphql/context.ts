// What every resolver receives. Built fresh for each request from the
// long-lived pieces created once at start-up: the queue runtime every edge
// shares (src/queue/runtime.ts) and the identity stores.
import { OperationTypeNode } from 'graphql';
import type { ApiKeyStore } from '../auth/api-keys.js';
import { OPEN_PRINCIPAL, type Principal } from '../auth/principal.js';
import type { Receipts } from '../auth/receipts.js';
import type { Database } from '../db/prisma-client.js';
import type { Caller } from '../queue/call-next.js';
import type { Outcome } from '../http/request-report.js';
import type { LiveHub } from '../live/live-hub.js';
import type { Enqueuer } from '../queue/enqueue-case.js';
import type { QueueRuntime } from '../queue/runtime.js';
import type { WebhookEndpointStore } from '../queue/webhook-endpoints.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphQLContext {
  /** The primary: writes, and every read that must include them. */
  readonly db: Database;
  /**
   * Where this request reads what screens poll (queue pages, statistics,
   * positions): in a query, a standby within READ_MAX_LAG_MS when there is
   * one (chosen on first use, then kept for the request); in a mutation, or
   * when the operation is not known, the primary, so an answer includes the
   * caller's own write.
   */
  readonly reads: () => Database;
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
  /** Webhook endpoints (admins manage them). */
  readonly webhooks: WebhookEndpointStore;
  /** Signs and checks the receipts kiosks follow their cases with. */
  readonly receipts: Receipts;
  /** Over HTTP: where the request's outcome is told to the request log and the metrics. */
  readonly outcome?: Outcome | undefined;
}

/**
 * A request's context, for the principal the edge verified and the kind of
 * its operation (`query` reads what screens poll on a standby; anything
 * else, or none given, on the primary); over HTTP, with where its outcome is told.
 */
export type ContextFactory = (
  principal?: Principal,
  operation?: OperationTypeNode,
  outcome?: Outcome,
) => Promise<GraphQLContext>;

/** The long-lived identity pieces resolvers need besides the queue runtime. */
export interface IdentityParts {
  readonly keys: ApiKeyStore;
  readonly receipts: Receipts;
  /** Webhook endpoints, made with the gateway's settings: `createWebhookEndpointStore(db, config.webhooks)`. */
  readonly webhooks: WebhookEndpointStore;
}

export function contextFactory(
  { db, enqueuer, caller, live, reads: router }: QueueRuntime,
  { keys, receipts, webhooks }: IdentityParts,
): ContextFactory {
  return (principal = OPEN_PRINCIPAL, operation, outcome) => {
    let chosen: Database | undefined;
    const reads = operation === OperationTypeNode.QUERY ? () => (chosen ??= router.reads()) : () => db;
    return Promise.resolve({
      db,
      reads,
      enqueuer,
      caller,
      live,
      // A mutation's answer shows what it wrote: its reads wait out a failover rather than fail.
      load: createLoaders(db, reads, operation !== OperationTypeNode.QUERY),
      principal,
      keys,
      webhooks,
      receipts,
      outcome,
    });
  };
}
