// Assembles the gateway: database, GraphQL, HTTP. Used by main.ts and by the
// tests, which start real gateways on free ports.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MIGRATIONS_DIR, type Config } from './config.js';
import { startChangeListener } from './db/change-listener.js';
import { openDatabaseServer, type DatabaseServer } from './db/database-server.js';
import { createDatabaseClient, type QueryListener } from './db/prisma-client.js';
import { createReadRouter } from './db/read-replica.js';
import { createApiKeyStore, principalIdOfKey } from './auth/api-keys.js';
import { createAuthenticator } from './auth/authenticate.js';
import { decideAuthMode, type AuthDecision } from './auth/auth-mode.js';
import { createJwtVerifier, type JwtVerifier } from './auth/jwt.js';
import { loadReceipts } from './auth/receipts.js';
import { createWebhookEndpointStore } from './queue/webhook-endpoints.js';
import { wakeEndpointLanes } from './webhooks/wake.js';
import { startWebhookDelivery } from './webhooks/delivery.js';
import { createApolloServer } from './graphql/apollo.js';
import { operationAccess } from './graphql/operation-access.js';
import { createOperationPreparer } from './graphql/prepare-operation.js';
import { contextFactory } from './graphql/context.js';
import { createQueueRuntime } from './queue/runtime.js';
import { errorFormatter } from './graphql/errors.js';
import { createSchema } from './graphql/schema.js';
import { EXPLORER_ASSETS_PREFIX, explorerAssetsRoute, explorerPageRoute } from './http/explorer-route.js';
import { graphqlRoute } from './http/graphql-route.js';
import { healthRoute } from './http/health-route.js';
import { LIVE_PATH, liveRoute, READY_PATH, readinessCheck, readyRoute } from './http/health-probes.js';
import { METRICS_PATH, metricsRoute } from './http/metrics-route.js';
import { requestLog } from './http/request-log.js';
import { createHttpServer, GRAPHQL_PATH } from './http/server.js';
import { subscriptionsRoute } from './http/subscriptions-route.js';
import { corsPolicy } from './http/cors.js';
import { hostCheck } from './http/host-check.js';
import { createAdmission } from './http/admission.js';
import { createSocketCredentials } from './http/socket-credentials.js';
import { clientAddressResolver } from './limits/client-address.js';
import { createRateLimiter } from './limits/rate-limiter.js';
import { createLiveHub } from './live/live-hub.js';
import { rateLimitedFailures, type Logger } from './log.js';
import { createGatewayMetrics } from './metrics/gateway-metrics.js';
import { knownOperations } from './metrics/operation-labels.js';
import { operationNamesIn } from './metrics/operations-folder.js';
import { caseRoute, casesRoute } from './rest/cases-route.js';
import { restAccess } from './rest/rest-access.js';
import { openApiRoute } from './rest/openapi.js';

export interface Gateway {
  /** Full URL of the GraphQL endpoint. */
  readonly url: string;
  /** The database the gateway uses (embedded or external). */
  readonly databaseUrl: string;
  /** How it authenticates as it started (the first API key later ends open mode). */
  readonly auth: AuthDecision;
  stop(): Promise<void>;
}

export interface GatewayHooks {
  /** Told of every statement the gateway sends to the database. */
  readonly onQuery?: QueryListener;
  /** A database server already open and migrated (a cluster worker's, which its primary started and stops). */
  readonly databaseServer?: DatabaseServer;
}

export async function startGateway(config: Config, log: Logger, hooks: GatewayHooks = {}): Promise<Gateway> {
  // Operation names a metric label or a log line may hold (others are `other`), read before
  // anything is opened: a broken file in operations/ stops the start here.
  const operationNames = knownOperations([...operationNamesIn(), ...config.metrics.operationNames]);
  const databaseServer = hooks.databaseServer ?? (await openDatabaseServer(config, log));
  const db = createDatabaseClient(databaseServer.url, config.databasePoolSize, {
    onQuery: hooks.onQuery,
    timeouts: config.timeouts,
  });
  // The hot statements (batched enqueues and hand-outs) get connections of
  // their own, never queued behind slow reads, and planned once per connection.
  const hot = createDatabaseClient(databaseServer.url, config.databaseHotPoolSize, {
    onQuery: hooks.onQuery,
    planOnce: true,
    timeouts: config.timeouts,
  });
  // What screens poll is read on hot standbys within READ_MAX_LAG_MS, when
  // read hosts are configured (DATABASE_READ_URL, or DATABASE_URL asking for a
  // standby); each gets a small pool and a lag meter of its own.
  const reads = createReadRouter({
    primary: db,
    primaryUrl: databaseServer.url,
    readUrl: databaseServer.readUrl,
    maxLagMs: config.readMaxLagMs,
    poolSize: Math.max(2, Math.ceil(config.databasePoolSize / 2)),
    client: { onQuery: hooks.onQuery, timeouts: config.timeouts },
    timeoutMs: config.timeouts.healthMs,
  });
  // Identities first: a gateway that may not start (open on an address
  // others can reach, an unusable identity provider setting) stops here,
  // before it holds anything more than its pools.
  // Open WebSockets' credentials, verified again while they live. `admission`
  // (below) is asked only for sockets watched, once the server listens.
  const socketCredentials = createSocketCredentials({
    recheck: (authorization) => admission.recheck(authorization),
    recheckMs: config.auth.keyCacheMs,
    log,
  });
  const keys = createApiKeyStore(db, {
    cacheMs: config.auth.keyCacheMs,
    // Revoked or rotated here: this process's sockets are re-checked at once (the notification follows).
    onChanged: (keyId) => socketCredentials.revoked(principalIdOfKey(keyId)),
  });
  let auth: AuthDecision;
  let tokens: JwtVerifier | undefined;
  try {
    auth = await decideAuthMode(config, keys, log);
    tokens = config.auth.jwt ? createJwtVerifier(config.auth.jwt) : undefined;
  } catch (error) {
    await Promise.all([db.$disconnect(), hot.$disconnect(), reads.stop()]);
    await databaseServer.stop();
    throw error;
  }
  // Live updates: every process hears every committed change from the
  // database, and reads each followed service's state once per change.
  const listener = startChangeListener({
    databaseUrl: databaseServer.url,
    log,
    // Called only once connected, after `live` below exists.
    onNotification: (payload) => live.changed(payload),
    onConnected: () => {
      live.resync();
      // Revocations made while not listening were not heard.
      keys.forgetAll();
      socketCredentials.revokedAny();
    },
    // A key revoked or rotated by any process: refused here, and its sockets closed, within a second.
    onKeyChanged: (keyId) => {
      keys.forget(keyId);
      socketCredentials.revoked(principalIdOfKey(keyId));
    },
    // A follow that stopped waiting for an open writer: once that writer has ended, its change is read.
    onCaughtUp: (serviceId) => live.resync(serviceId),
  });
  const live = createLiveHub({ db, reads, announcements: listener, log, minIntervalMs: config.live.minIntervalMs });
  await listener.ready;
  const metrics = createGatewayMetrics(config, { main: db, hot, reads }, operationNames);
  // A lost measurement, logged once per kind every 5 s: the answers went out regardless.
  const estimatesNotKept = rateLimitedFailures(log);
  const runtime = metrics.instrument(
    createQueueRuntime({
      db,
      hot,
      maxWaiting: Math.max(1, Math.floor(config.databasePoolSize / 2)),
      live,
      reads,
      onEstimatesNotKept: (error) =>
        estimatesNotKept(`wait estimates not kept (${error instanceof Error ? error.name : typeof error})`),
    }),
  );
  // API keys in the database, people's tokens from the identity provider;
  // open (no credentials) only where auth-mode.ts allows it.
  const authenticator = createAuthenticator(
    auth.mode,
    { keys, tokens },
    // Open because nothing was configured: the first API key closes it, on every process.
    config.auth.mode === 'auto' && auth.mode === 'open'
      ? {
          openUntil: () => keys.anyActive(),
          recheckMs: Math.max(1_000, config.auth.keyCacheMs),
          onClosed: () => log.warn('auth: an API key now exists: credentials are required from now on'),
        }
      : {},
  );
  // Idle (no timer, no statements) while nothing is counted, as when open.
  const limiter = createRateLimiter(db, config.rateLimit, log);
  // Behind trusted proxies (TRUST_PROXY) the client is the address they forwarded.
  const admission = createAdmission(authenticator, limiter, log, clientAddressResolver(config.trustProxy));
  const { schema, requirements } = createSchema();
  // The one admission path every channel's operations take (HTTP, REST, WebSocket).
  const preparer = createOperationPreparer(schema, operationAccess(schema, requirements), {
    introspection: config.introspection,
  });
  // One signer for GraphQL's receipts and REST's: a receipt from either opens the case on both.
  const receipts = await loadReceipts(db);
  const rest = restAccess(admission, preparer, receipts);
  const apollo = createApolloServer(schema, log, preparer);
  await apollo.start();
  const context = contextFactory(runtime, {
    keys,
    receipts,
    webhooks: createWebhookEndpointStore(db, { ...config.webhooks, onDeliveriesQueued: wakeEndpointLanes }),
  });
  const formatError = errorFormatter(log);
  const subscriptions = subscriptionsRoute({
    schema,
    context,
    admission,
    preparer,
    credentials: socketCredentials,
    formatError,
    limits: config.live,
    log,
  });
  const http = createHttpServer(
    {
      graphql: graphqlRoute({
        apollo,
        context,
        explorer: explorerPageRoute(config.explorer),
        admission,
        preparer,
        formatError,
      }),
      health: healthRoute(db, config.timeouts.healthMs),
      more: {
        // more routes: one line each
        [METRICS_PATH]: metricsRoute(metrics, authenticator, log),
        [LIVE_PATH]: liveRoute(),
        [READY_PATH]: readyRoute(readinessCheck(db, config.timeouts.healthMs, MIGRATIONS_DIR)),
        [EXPLORER_ASSETS_PREFIX]: explorerAssetsRoute(config.explorer),
        '/api/Cases': casesRoute(runtime, rest, log),
        '/api/Cases/': caseRoute(runtime, rest, log),
        '/api/openapi.json': openApiRoute(),
      },
      upgrade: subscriptions.upgrade,
      cors: corsPolicy(config.corsOrigins),
      // The mode is read on every request: the first API key ends open mode while the gateway runs.
      // Probes are served whatever the Host (orchestrators send the pod's address).
      hosts: hostCheck(config.allowedHosts, () => admission.mode, log, ['/health', LIVE_PATH, READY_PATH]),
    },
    log,
    { ...config.http, trustProxy: config.trustProxy },
    [
      // request observers: one line each
      metrics.observe,
      requestLog(log, operationNames),
    ],
  );
  http.listen(config.port, config.host);
  await once(http, 'listening');
  // Webhooks are sent off the request path, by this process's runner (WEBHOOK_DELIVERY).
  const webhookDelivery = await startWebhookDelivery(databaseServer.url, config.webhooks, log, metrics.webhookAttempt);
  const { port } = http.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}${GRAPHQL_PATH}`,
    databaseUrl: databaseServer.url,
    auth,
    async stop() {
      // Every step runs even when one before it failed, and the database
      // server is stopped last whatever happened: a gateway that exits while
      // its embedded PostgreSQL is still shutting down leaves it to be
      // killed half-way (a container runtime does once the gateway is gone).
      const failures: unknown[] = [];
      const step = async (run: () => unknown): Promise<void> => {
        try {
          await run();
        } catch (error) {
          failures.push(error);
        }
      };
      // A restart on the same data folder meanwhile waits for this one.
      databaseServer.stopping();
      // Stop taking requests and let the ones in flight finish, for a while:
      // a stalled client must not hold the gateway up for ever.
      const closed = new Promise<void>((resolveClose) => http.close(() => resolveClose()));
      http.closeIdleConnections();
      const grace = setTimeout(() => http.closeAllConnections(), config.shutdownGraceMs);
      // Subscriptions never finish by themselves: they end now (their sockets
      // are closed with 1001, going away, so clients reconnect elsewhere).
      await step(() => live.stop());
      await step(() => subscriptions.stop());
      socketCredentials.stop();
      await closed;
      clearTimeout(grace);
      await step(() => listener.stop());
      await step(() => webhookDelivery.stop());
      await step(() => apollo.stop());
      await step(() => limiter.stop());
      await step(() => reads.stop());
      await step(() => Promise.all([db.$disconnect(), hot.$disconnect()]));
      await step(() => databaseServer.stop());
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, 'several steps of stopping the gateway failed');
    },
  };
}
