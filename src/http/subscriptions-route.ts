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
import type { GraphQLContext } from '../graphql/context.js';
import { MAX_DOCUMENT_TOKENS, operationLimits } from '../graphql/operation-limits.js';
import type { Logger } from '../log.js';
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

export interface SubscriptionsOptions {
  readonly schema: GraphQLSchema;
  readonly context: () => Promise<GraphQLContext>;
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
  const { schema, context, formatError, introspection, limits, log } = options;
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
      onSubscribe: async (ctx, _id, payload) => {
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
        return {
          schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: await context(),
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
