// Assembles the gateway: database, GraphQL, HTTP. Used by main.ts and by the
// tests, which start real gateways on free ports.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { openDatabaseServer } from './db/database-server.js';
import { createDatabaseClient, type QueryListener } from './db/prisma-client.js';
import { createApolloServer } from './graphql/apollo.js';
import { contextFactory } from './graphql/context.js';
import { graphqlRoute } from './http/graphql-route.js';
import { healthRoute } from './http/health-route.js';
import { createHttpServer, GRAPHQL_PATH } from './http/server.js';
import type { Logger } from './log.js';

export interface Gateway {
  /** Full URL of the GraphQL endpoint. */
  readonly url: string;
  /** The database the gateway uses (embedded or external). */
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

export interface GatewayHooks {
  /** Told of every statement the gateway sends to the database. */
  readonly onQuery?: QueryListener;
}

export async function startGateway(config: Config, log: Logger, hooks: GatewayHooks = {}): Promise<Gateway> {
  const databaseServer = await openDatabaseServer(config, log);
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
  const apollo = createApolloServer(log);
  await apollo.start();
  const http = createHttpServer(
    {
      graphql: graphqlRoute(
        apollo,
        contextFactory({ db, hot, maxWaiting: Math.max(1, Math.floor(config.databasePoolSize / 2)) }),
      ),
      health: healthRoute(db, config.timeouts.healthMs),
    },
    log,
    config.http,
  );
  http.listen(config.port, config.host);
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}${GRAPHQL_PATH}`,
    databaseUrl: databaseServer.url,
    async stop() {
      // Stop taking requests and let the ones in flight finish, for a while:
      // a stalled client must not hold the gateway up for ever.
      const closed = new Promise<void>((resolveClose) => http.close(() => resolveClose()));
      http.closeIdleConnections();
      const grace = setTimeout(() => http.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await apollo.stop();
      await Promise.all([db.$disconnect(), hot.$disconnect()]);
      await databaseServer.stop();
    },
  };
}
