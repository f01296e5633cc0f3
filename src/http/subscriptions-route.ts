// Subscriptions over WebSocket with the graphql-ws protocol
// (`graphql-transport-ws`), on the GraphQL path. Operations are held to the
// same limits as over HTTP (document size, cost, introspection); queries and
// mutations go over HTTP, where their own limits and statuses apply. A socket
// that stops reading is closed before it holds more than LIVE_MAX_BUFFERED_BYTES,
// and one that stops answering pings at the next ping.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config.js';
import { forbiddenError } from '../auth/field-rules.js';
import type { Principal } from '../auth/principal.js';
import type { OperationAccess } from '../graphql/authorization-plugin.js';
import type { ContextFactory } from '../graphql/context.js';
import { MAX_DOCUMENT_TOKENS, operationLimits } from '../graphql/operation-limits.js';
import type { Logger } from '../log.js';
import { clientAddress, RATE_LIMITED, type Admission } from './admission.js';
import { MAX_BODY_BYTES } from './body.js';
import type { UpgradeRoute } from './server.js';

/**
 * Close code for a socket that fell too far behind: 1013, "try again later",
 * which graphql-ws clients take as a reason to reconnect (and get the
 * current state first), not as a fatal error.
 */
export const CLOSE_TOO_SLOW = 1013;
/** A socket closed as too slow is cut off this long after (or after a keep-alive interval, if shorter). */
const TERMINATE_AFTER_MS = 10_000;
/** The graphql-ws protocol's code for a connection whose credential is missing or not accepted. */
export const CLOSE_UNAUTHORIZED = 4401;
/** A connection refused by the rate limit, or while keys cannot be looked up: try again later, as for a slow reader. */
export const CLOSE_TRY_LATER = 1013;

export interface SubscriptionsOptions {
  readonly schema: GraphQLSchema;
  readonly context: ContextFactory;
  /** Verifies the credential of `connection_init` (or of the upgrade request) and takes rate limits. */
  readonly admission: Admission;
  /** Which fields of an operation its principal may not use (schema.graphql's @auth). */
  readonly access: OperationAccess;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly introspection: boolean;
  readonly limits: Config['live'];
  readonly log: Logger;
}

export interface SubscriptionsRoute {
  readonly upgrade: UpgradeRoute;
  /** Closes every socket (their subscriptions end) and stops taking new ones. */
  stop(): Promise<void>;
}

const refusal = (message: string, code: string): GraphQLError => new GraphQLError(message, { extensions: { code } });

function parsed(query: string): DocumentNode | GraphQLError {
  try {
    return parse(query, { maxLexicalTokens: MAX_DOCUMENT_TOKENS });
  } catch (error) {
    return error instanceof GraphQLError ? error : refusal('The operation could not be parsed', 'GRAPHQL_PARSE_FAILED');
  }
}

export function subscriptionsRoute(options: SubscriptionsOptions): SubscriptionsRoute {
  const { schema, context, formatError, introspection, limits, log, admission, access } = options;
  // The principal each admitted socket authenticated as, at connection_init.
  const principals = new WeakMap<WebSocket, Principal>();
  const rules = [...specifiedRules, operationLimits(), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
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

  const server = useServer(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      // Browsers cannot set headers on a WebSocket: the credential comes in
      // connection_init's payload (`authorization: "Bearer ..."`), or else
      // from the upgrade request's Authorization header (other clients).
      onConnect: async (ctx) => {
        const given = ctx.connectionParams?.['authorization'] ?? ctx.connectionParams?.['Authorization'];
        const authorization = typeof given === 'string' ? given : ctx.extra.request.headers.authorization;
        const decided = await admission.decide(authorization, clientAddress(ctx.extra.request));
        if ('status' in decided) {
          // Closed here with the fitting code; graphql-ws's own close (4403) then finds it closing.
          if (decided.status === 401) ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          else
            ctx.extra.socket.close(
              CLOSE_TRY_LATER,
              decided.status === 429
                ? `Too many requests: try again in ${decided.retryAfterSeconds} s`
                : 'The database is unavailable; try again later',
            );
          return false;
        }
        principals.set(ctx.extra.socket, decided);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const principal = principals.get(ctx.extra.socket);
        if (!principal) return [refusal('The connection was not admitted', 'UNAUTHENTICATED')];
        // graphql-ws has already reserved this subscription's id when it asks.
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection)
          return [
            refusal(
              `At most ${limits.maxSubscriptionsPerConnection} subscriptions may be open on one connection`,
              'TOO_MANY_SUBSCRIPTIONS',
            ),
          ];
        const document = parsed(payload.query);
        if (document instanceof GraphQLError) return [document];
        const errors = validate(schema, document, rules);
        if (errors.length > 0) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation)
          return [refusal('The document has no operation of that name, or several and no name', 'BAD_REQUEST')];
        if (operation.operation !== OperationTypeNode.SUBSCRIPTION)
          return [
            refusal(
              `Only subscriptions are served over WebSocket: send a ${operation.operation} as an HTTP POST`,
              'BAD_REQUEST',
            ),
          ];
        const forbidden = access(document, operation, principal);
        if (forbidden.length > 0) return [forbiddenError(forbidden)];
        const limited = admission.take(principal);
        if (limited?.status === 429)
          return [
            new GraphQLError(`Too many requests: try again in ${limited.retryAfterSeconds} s`, {
              extensions: { code: RATE_LIMITED, retryAfterSeconds: limited.retryAfterSeconds },
            }),
          ];
        return {
          schema,
          document,
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
    },
    sockets,
    limits.keepAliveMs,
  );

  return {
    upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
      sockets.handleUpgrade(request, socket, head, (webSocket) => sockets.emit('connection', webSocket, request));
    },
    async stop() {
      await server.dispose();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    },
  };
}
