// The HTTP edge: routes requests by path and never lets an exception become
// a dropped connection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { sendJson } from './respond.js';

export const GRAPHQL_PATH = '/graphql';

type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>;

export interface Routes {
  readonly graphql: Route;
  readonly health: Route;
}

export function createHttpServer(routes: Routes, log: Logger, limits: Config['http']): Server {
  const table = new Map<string, Route>([
    [GRAPHQL_PATH, routes.graphql],
    ['/health', routes.health],
  ]);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    const route = table.get(url.pathname);
    if (!route) return sendJson(response, 404, { error: `nothing at ${url.pathname}; GraphQL is at ${GRAPHQL_PATH}` });
    route(request, response, url).catch((error: unknown) => {
      log.error(`unhandled error on ${request.method} ${url.pathname}`, error);
      if (!response.headersSent)
        sendJson(response, 500, {
          errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        });
      else response.destroy();
    });
  });
  // A client gets this long to send a whole request (headers and body).
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}
