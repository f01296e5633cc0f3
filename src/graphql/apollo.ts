// The GraphQL server over HTTP: the contract (schema.graphql) plus the
// resolvers. Apollo runs only operations prepared by prepare-operation.ts (the
// one admission path: limits, validation, channel, @auth), from the document
// store that holds them, so it neither parses nor validates again.
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { Logger } from '../log.js';
import { INTERNAL_SERVER_ERROR } from '../queue/error-codes.js';
import type { GraphQLContext } from './context.js';
import { markErrorStatus } from './error-status.js';
import { errorFormatter, graphqlError } from './errors.js';
import { outcomeTeller } from './outcome-plugin.js';
import type { OperationPreparer } from './prepare-operation.js';
import { refusePersistedQueries } from './request-guards.js';
import { responseSizeLimit } from './response-size.js';

/**
 * The gateway's one plugin, with one listener shared by every request (its
 * hooks read the request from their argument): one hook call per request
 * and stage instead of one per check.
 *
 * Fails closed: a document Apollo would run that prepare-operation.ts did not
 * validate (a request that reached Apollo without being prepared) is refused
 * before any resolver runs. Prepared requests never meet it.
 *
 * Before an answer is sent, in this order: DATABASE_UNAVAILABLE becomes 503
 * and Retry-After, FORBIDDEN 403 (error-status.ts), persisted queries a 400
 * (request-guards.ts), a query answer over 4 MiB RESPONSE_TOO_LARGE
 * (response-size.ts); then the outcome is told to the HTTP edge (outcome-plugin.ts).
 */
function gatewayPlugin(preparer: OperationPreparer, log: Logger): ApolloServerPlugin<GraphQLContext> {
  const limitSize = responseSizeLimit(log);
  const tellOutcome = outcomeTeller();
  const listener: GraphQLRequestListener<GraphQLContext> = {
    didResolveOperation({ document }) {
      if (preparer.validated(document)) return Promise.resolve();
      return Promise.reject(
        graphqlError('The operation was not prepared for running', INTERNAL_SERVER_ERROR, { http: { status: 500 } }),
      );
    },
    willSendResponse(request) {
      markErrorStatus(request.response);
      refusePersistedQueries(request.response);
      limitSize(request);
      tellOutcome(request);
      return Promise.resolve();
    },
  };
  return { requestDidStart: () => Promise.resolve(listener) };
}

export function createApolloServer(
  schema: GraphQLSchema,
  log: Logger,
  preparer: OperationPreparer,
): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    formatError: errorFormatter(log),
    // Prepared documents only: Apollo's own parse and validation (and so its
    // parse and validation options, introspection included) never run for them.
    documentStore: preparer.documentStore,
    // Stack traces name files and lines of this server: never send them.
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (HTTP, Apollo, database, in that order).
    stopOnTerminationSignals: false,
    // Automatic persisted queries save bandwidth for clients that resend long
    // queries and let CDNs cache GETs; neither applies here (typed clients,
    // live answers), and its cache would be memory any client could fill.
    // Requests that carry a hash get PERSISTED_QUERY_NOT_SUPPORTED (HTTP 400).
    persistedQueries: false,
    // No field declares a cache hint (mutations and live queues are not
    // cacheable), and the default cache-control plugin hooks every resolved field.
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      // Apollo's landing page loads Apollo Sandbox from a CDN; the gateway
      // serves its own explorer instead (src/http/explorer-route.ts).
      ApolloServerPluginLandingPageDisabled(),
      gatewayPlugin(preparer, log),
    ],
  });
}
