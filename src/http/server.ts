// The HTTP edge: routes requests by path, keeps every connection within its
// deadlines and each client address within its share of connections, answers
// only to its own host names where that matters, answers every malformed
// request with a coded JSON 4xx, and never lets an exception become a
// dropped connection or a crash.
import { randomUUID } from 'node:crypto';
import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { trustedProxy } from '../limits/client-address.js';
import type { Logger } from '../log.js';
import { collapsedCount } from './collapsed-count.js';
import { limitConnections } from './connection-limits.js';
import { webSocketOriginAllowed, type CorsPolicy } from './cors.js';
import type { HostCheck } from './host-check.js';
import {
  clientRequestId,
  outcomeFromStatus,
  outcomeOf,
  type RequestObserver,
  type RequestReport,
} from './request-report.js';
import { quote, rawErrorResponse, sendError } from './respond.js';

export const GRAPHQL_PATH = '/graphql';

/** Node keeps an idle kept-alive socket open this long past `keepAliveTimeout` (its own margin). */
const NODE_KEEP_ALIVE_MARGIN_MS = 1_000;

/** Refused connections are logged at most once per this long, with their count. */
const DROP_LOG_INTERVAL_MS = 10_000;

export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>;

/** Takes over a WebSocket upgrade request (the socket is then the route's). */
export type UpgradeRoute = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface Routes {
  readonly graphql: Route;
  readonly health: Route;
  /**
   * Further routes by path: a key ending in `/` takes every path below it
   * (the longest such key wins), any other key that path exactly.
   */
  readonly more?: Readonly<Record<string, Route>>;
  /** WebSocket upgrade requests on the GraphQL path (subscriptions). */
  readonly upgrade?: UpgradeRoute;
  /** Which other origins' pages may read answers and open WebSockets; none when absent. */
  readonly cors?: CorsPolicy;
  /** Which Host names are answered (against DNS rebinding); any when absent. */
  readonly hosts?: HostCheck;
}

// The idle timeout is the backstop for what the request deadlines do not
// cover, such as a client that stops reading its response; it must be longer
// than any request's database work may take.
export type HttpLimits = Config['http'] & {
  /** Proxies in front of the gateway (TRUST_PROXY): all clients share them, so no per-address cap. */
  readonly trustProxy?: readonly string[];
};

/**
 * How often Node compares open requests with their header and request
 * deadlines. Its default, 30 s, let a 30 s deadline stretch to 60 s; a tenth
 * of the shorter deadline, at most 1 s, keeps each within a second.
 */
export function deadlineCheckIntervalMs(limits: Config['http']): number {
  return Math.max(10, Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10)));
}

/** The target of a request as a URL, or undefined when it is not one (`GET http://[ HTTP/1.1`). */
function requestUrl(target: string): URL | undefined {
  try {
    return new URL(target, 'http://gateway.invalid');
  } catch {
    return undefined;
  }
}

/** What the request handler keeps on each response for its `close` listener. */
interface Exchange {
  readonly started: number;
  readonly id: string;
  readonly method: string;
  /** The key of the route that answered (what reports name, never the path itself), `none` until one is found. */
  route: string;
  readonly socket: Duplex;
}

/** The answer to a request Node refused before any route saw it. */
function clientErrorResponse(code: string | undefined, message: string, limits: Config['http']): Buffer {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawErrorResponse(
        408,
        'REQUEST_TIMEOUT',
        `Request not received in time: its headers are due within ${limits.headersTimeoutMs} ms ` +
          `and the whole request within ${limits.requestTimeoutMs} ms`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return rawErrorResponse(
        431,
        'REQUEST_HEADER_FIELDS_TOO_LARGE',
        `Request headers are too large: the limit is ${maxHeaderSize} bytes`,
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return rawErrorResponse(413, 'PAYLOAD_TOO_LARGE', 'Request chunk extensions are too large');
    default:
      return rawErrorResponse(400, 'BAD_REQUEST', `Malformed HTTP request: ${quote(message)}`);
  }
}

/** Told of every request once it is answered (or abandoned): the request log, the metrics. */
export function createHttpServer(
  routes: Routes,
  log: Logger,
  limits: HttpLimits,
  observers: readonly RequestObserver[] = [],
): Server {
  const more = Object.entries(routes.more ?? {});
  const table = new Map<string, Route>([
    [GRAPHQL_PATH, routes.graphql],
    ['/health', routes.health],
    ...more.filter(([path]) => !path.endsWith('/')),
  ]);
  const prefixes = more.filter(([path]) => path.endsWith('/')).sort(([a], [b]) => b.length - a.length);
  /** The route for a path, with the key it is listed under (what reports name, never the path itself). */
  const routeFor = (pathname: string): [string, Route] | undefined => {
    const exact = table.get(pathname);
    return exact ? [pathname, exact] : prefixes.find(([prefix]) => pathname.startsWith(prefix));
  };
  // The response each socket is answering, so a client error arriving
  // meanwhile (a body that stalls) knows whether an answer has begun. Kept
  // beside Node's objects, not on them (see request-report.ts).
  const answering = new WeakMap<Duplex, ServerResponse>();
  const exchanges = new WeakMap<ServerResponse, Exchange>();

  // Targets that are exactly a route's path (`/graphql`, the usual POST) are
  // parsed once: routes only read the URL they are given.
  const parsedTargets = new Map<string, URL>();
  for (const path of table.keys()) {
    const url = requestUrl(path);
    if (url?.pathname === path && url.search === '') parsedTargets.set(path, url);
  }
  const targetUrl = (request: IncomingMessage): URL | undefined =>
    parsedTargets.get(request.url ?? '/') ?? requestUrl(request.url ?? '/');

  /**
   * Once the request is answered (or abandoned): the socket no longer
   * answers it, and the observers are told. One listener, shared by every
   * response, reading what the request handler kept on the response.
   */
  function answered(this: ServerResponse): void {
    const exchange = exchanges.get(this);
    if (!exchange) return;
    if (answering.get(exchange.socket) === this) answering.delete(exchange.socket);
    if (observers.length === 0) return;
    const told = outcomeOf(this);
    const report: RequestReport = {
      id: exchange.id,
      method: exchange.method,
      route: exchange.route,
      status: this.statusCode,
      durationMs: performance.now() - exchange.started,
      operation: told.operation ?? null,
      fields: told.fields ?? null,
      outcome: told.outcome ?? outcomeFromStatus(this.statusCode),
      principal: told.principal ?? 'anonymous',
      aborted: !this.writableFinished,
    };
    for (const observe of observers) observe(report);
  }

  const server = createServer(
    {
      // Node throws when the headers deadline exceeds the request deadline.
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: deadlineCheckIntervalMs(limits),
      // Node closes an idle kept-alive socket a margin after this and
      // advertises this (Keep-Alive: timeout=N): taking the margin off closes
      // it when configured, while clients stop reusing it a second before.
      keepAliveTimeout: Math.max(1, limits.keepAliveTimeoutMs - NODE_KEEP_ALIVE_MARGIN_MS),
      // Checked below, to answer with a JSON body like every other refusal.
      requireHostHeader: false,
    },
    (request, response) => {
      const started = performance.now();
      const id = clientRequestId(request.headers['x-request-id']) ?? randomUUID();
      response.setHeader('x-request-id', id);
      const socket = request.socket;
      answering.set(socket, response);
      const exchange: Exchange = { started, id, method: request.method ?? 'GET', route: 'none', socket };
      exchanges.set(response, exchange);
      response.on('close', answered);

      const url = targetUrl(request);
      if (!url) {
        sendError(response, 400, 'BAD_REQUEST', `Request target is not a valid URL: "${quote(request.url ?? '')}"`);
        return;
      }
      if (request.httpVersion === '1.1' && request.headers.host === undefined) {
        sendError(response, 400, 'BAD_REQUEST', 'An HTTP/1.1 request must have a Host header');
        return;
      }
      // Before anything else is revealed: not even whether the path exists.
      if (routes.hosts && !routes.hosts.request(request, url.pathname)) {
        routes.hosts.refuse(response);
        return;
      }
      const found = routeFor(url.pathname);
      if (!found) {
        sendError(response, 404, 'NOT_FOUND', `Nothing at "${quote(url.pathname)}": GraphQL is at ${GRAPHQL_PATH}`);
        return;
      }
      const [name, route] = found;
      exchange.route = name;
      // A preflight from an allowed origin is answered here, for every route alike.
      if (routes.cors?.apply(request, response)) return;
      route(request, response, url).catch((error: unknown) => {
        log.error(`unhandled error on ${request.method} ${name}`, error);
        if (!response.headersSent) sendError(response, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        else response.destroy();
      });
    },
  );
  server.timeout = limits.idleTimeoutMs;

  // Malformed requests, oversized headers and missed deadlines: Node would
  // answer with an empty body; this answers with a coded JSON one.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const begun = answering.get(socket)?.headersSent ?? false;
    const gone = error.code === 'ECONNRESET' || error.code === 'EPIPE';
    if (socket.writable && !begun && !gone) socket.write(clientErrorResponse(error.code, error.message, limits));
    socket.destroy();
  });

  // Node would answer these with an empty body, or (CONNECT) none at all.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    sendError(
      response,
      417,
      'EXPECTATION_FAILED',
      `Unsupported Expect header: "${quote(String(request.headers.expect))}"; only 100-continue is supported`,
      { connection: 'close' },
    );
  });
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    // Node no longer watches this socket: close it once the answer is out.
    socket.end(rawErrorResponse(405, 'METHOD_NOT_ALLOWED', 'CONNECT is not supported: this is not a proxy'), () =>
      socket.destroy(),
    );
  });

  // WebSocket upgrades: on the GraphQL path when subscriptions are served,
  // anywhere else a coded refusal (Node would leave the socket hanging).
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (routes.hosts && !routes.hosts.upgrade(request)) {
      socket.end(routes.hosts.refusal(), () => socket.destroy());
      return;
    }
    const url = requestUrl(request.url ?? '/');
    if (url?.pathname === GRAPHQL_PATH && routes.upgrade) {
      if (routes.cors && !webSocketOriginAllowed(request, routes.cors)) {
        socket.end(
          rawErrorResponse(403, 'FORBIDDEN', 'WebSockets from this origin are not allowed (CORS_ORIGINS)'),
          () => socket.destroy(),
        );
        return;
      }
      routes.upgrade(request, socket, head);
      return;
    }
    socket.end(
      rawErrorResponse(404, 'NOT_FOUND', `No WebSocket endpoint here: subscriptions are at ${GRAPHQL_PATH}`),
      () => socket.destroy(),
    );
  });

  // Beyond the cap Node closes new connections at once, before reading
  // anything: the client sees the connection reset, with no response.
  server.maxConnections = limits.maxConnections;
  server.on(
    'drop',
    collapsedCount(DROP_LOG_INTERVAL_MS, (dropped) =>
      log.error(
        `refused ${dropped} connection(s) since the last report: ${limits.maxConnections} were open (HTTP_MAX_CONNECTIONS)`,
      ),
    ),
  );
  // Below that, each client address gets its share, and every connection a first-byte deadline.
  limitConnections(server, limits, trustedProxy(limits.trustProxy ?? []), log);
  return server;
}
