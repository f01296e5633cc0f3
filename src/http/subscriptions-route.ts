// Subscriptions over WebSocket with the graphql-ws protocol
// (`graphql-transport-ws`), on the GraphQL path. connection_init is admitted
// like an HTTP request (credential, rate limit); then every subscribe message
// takes the one admission path (prepare-operation.ts): one from the
// principal's rate limit before anything is read, refused messages too; the
// credential checked again (socket-credentials.ts); then the same parse,
// limits, validation and @auth as over HTTP. Queries and mutations go over
// HTTP. A socket that keeps sending once refused by its rate limit is closed
// with 1013; one that stops reading is closed before it holds more than
// LIVE_MAX_BUFFERED_BYTES, and one that stops answering pings at the next ping.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { Principal } from '../auth/principal.js';
import type { ContextFactory } from '../graphql/context.js';
import { graphqlError } from '../graphql/errors.js';
import type { OperationPreparer } from '../graphql/prepare-operation.js';
import type { Logger } from '../log.js';
import { RATE_LIMITED, UNAUTHENTICATED } from '../queue/error-codes.js';
import type { Admission } from './admission.js';
import { MAX_BODY_BYTES } from './body.js';
import { serveGraphqlWs } from './graphql-ws-server.js';
import type { UpgradeRoute } from './server.js';
import { CLOSE_UNAUTHORIZED, type SocketCredentials } from './socket-credentials.js';

/**
 * Close code for a socket that fell too far behind: 1013, "try again later",
 * which graphql-ws clients take as a reason to reconnect (and get the
 * current state first), not as a fatal error.
 */
export const CLOSE_TOO_SLOW = 1013;
/** A socket closed as too slow is cut off this long after (or after a keep-alive interval, if shorter). */
const TERMINATE_AFTER_MS = 10_000;
/** A connection refused by the rate limit, or while keys cannot be looked up: try again later, as for a slow reader. */
export const CLOSE_TRY_LATER = 1013;

/**
 * Subscribes a socket may send once refused by its rate limit, within the
 * window the refusal names, before it is closed with 1013: a client that
 * backs off is never closed; one that loops is, after this many cheap answers.
 */
export const MAX_REFUSED_SUBSCRIBES = 10;

export interface SubscriptionsOptions {
  readonly schema: GraphQLSchema;
  readonly context: ContextFactory;
  /** Verifies the credential of `connection_init` (or of the upgrade request) and takes rate limits. */
  readonly admission: Admission;
  /** The one admission path for an operation (limits, validation, channel, @auth). */
  readonly preparer: OperationPreparer;
  /** Keeps each socket's credential current (revocation, expiry). */
  readonly credentials: SocketCredentials;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly limits: Config['live'];
  readonly log: Logger;
}

export interface SubscriptionsRoute {
  readonly upgrade: UpgradeRoute;
  /** Closes every socket (their subscriptions end) and stops taking new ones. */
  stop(): Promise<void>;
}

/** A socket's refusals by its rate limit: how many, until when the limit said to wait. */
interface Refusals {
  count: number;
  until: number;
}

export function subscriptionsRoute(options: SubscriptionsOptions): SubscriptionsRoute {
  const { schema, context, formatError, limits, log, admission, preparer, credentials } = options;
  // The principal each admitted socket authenticated as, at connection_init:
  // whose rate limit its messages take before anything else is done.
  const principals = new WeakMap<WebSocket, Principal>();
  const refusals = new WeakMap<WebSocket, Refusals>();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES, perMessageDeflate: false });
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => formatError(error.toJSON(), error));

  /** Closes a socket whose client reads too slowly; true when it did. */
  const tooSlow = (socket: WebSocket): boolean => {
    if (socket.bufferedAmount <= limits.maxBufferedBytes) return false;
    log.error(
      `live updates: closed a WebSocket that fell ${socket.bufferedAmount} bytes behind (LIVE_MAX_BUFFERED_BYTES)`,
    );
    socket.close(CLOSE_TOO_SLOW, 'Too slow: the client did not read its updates');
    // The close frame waits behind what is buffered: a client that reads
    // again soon gets it (and reconnects); one that does not is cut off.
    setTimeout(() => socket.terminate(), Math.min(limits.keepAliveMs, TERMINATE_AFTER_MS)).unref();
    return true;
  };

  /** The answer to a subscribe over the rate limit; the socket is closed once it has had too many. */
  const rateLimited = (socket: WebSocket, principal: Principal, retryAfterSeconds: number): GraphQLError => {
    const now = Date.now();
    let refused = refusals.get(socket);
    if (!refused || now >= refused.until)
      refusals.set(socket, (refused = { count: 0, until: now + retryAfterSeconds * 1000 }));
    refused.count += 1;
    if (refused.count > MAX_REFUSED_SUBSCRIBES) {
      log.info('live updates: closed a WebSocket that went on subscribing over its rate limit', {
        principal: principal.id,
      });
      socket.close(CLOSE_TRY_LATER, `Too many requests: try again in ${retryAfterSeconds} s`);
    }
    return graphqlError(`Too many requests: try again in ${retryAfterSeconds} s`, RATE_LIMITED, { retryAfterSeconds });
  };

  const server = serveGraphqlWs(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      // Browsers cannot set headers on a WebSocket: the credential comes in
      // connection_init's payload (`authorization: "Bearer ..."`), or else
      // from the upgrade request's Authorization header (other clients).
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const given = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        const authorization = typeof given === 'string' ? given : request.headers.authorization;
        const decided = await admission.decide(authorization, admission.address(request));
        if ('status' in decided) {
          // Closed here with the fitting code; graphql-ws's own close (4403) then finds it closing.
          if (decided.status === 401) socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          else
            socket.close(
              CLOSE_TRY_LATER,
              decided.status === 429
                ? `Too many requests: try again in ${decided.retryAfterSeconds} s`
                : 'The database is unavailable; try again later',
            );
          return false;
        }
        // The client may have gone while its credential was looked up: graphql-ws has then told
        // onClose already, and a socket watched now would be re-checked for as long as its credential lives.
        if (socket.readyState !== socket.OPEN) return false;
        principals.set(socket, decided);
        credentials.watch(socket, authorization, decided);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { socket } = ctx.extra;
        const admitted = principals.get(socket);
        if (!admitted) return [graphqlError('The connection was not admitted', UNAUTHENTICATED)];
        // First the rate limit, before anything of the message is read: refused messages count too.
        const limited = admission.take(admitted);
        if (limited?.status === 429) return [rateLimited(socket, admitted, limited.retryAfterSeconds)];
        // graphql-ws has already reserved this subscription's id when it asks.
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection)
          return [
            graphqlError(
              `At most ${limits.maxSubscriptionsPerConnection} subscriptions may be open on one connection`,
              'TOO_MANY_SUBSCRIPTIONS',
            ),
          ];
        // The credential may have been revoked or have expired since connection_init.
        const principal = await credentials.current(socket);
        if ('code' in principal) return [graphqlError(principal.reason, UNAUTHENTICATED)];
        const prepared = preparer.prepare(payload.query, payload.operationName, principal, 'websocket');
        if (!prepared.ok) return [...prepared.errors];
        return {
          schema,
          document: prepared.document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: await context(principal),
        };
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        tooSlow(ctx.extra.socket);
        if (!result.errors) return undefined;
        return { ...(result.data === undefined ? {} : { data: result.data }), errors: format(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onClose: (ctx) => credentials.forget(ctx.extra.socket),
    },
    sockets,
    limits.keepAliveMs,
    log,
  );

  return {
    upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      sockets.handleUpgrade(request, socket, head, (webSocket) => sockets.emit('connection', webSocket, request));
    },
    async stop() {
      await server.dispose();
    },
  };
}
