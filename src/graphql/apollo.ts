// The GraphQL server: the contract (schema.graphql) plus the resolvers.
import { ApolloServer } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { Logger } from '../log.js';
import type { GraphQLContext } from './context.js';
import { MAX_DOCUMENT_TOKENS, operationLimits } from './operation-limits.js';
import { authorizationPlugin, type OperationAccess } from './authorization-plugin.js';
import { errorFormatter } from './errors.js';
import { outcomePlugin } from './outcome-plugin.js';
import { requestGuardsPlugin } from './request-guards.js';
import { responseSizePlugin } from './response-size.js';
import { unavailableStatusPlugin } from './unavailable-status.js';

export interface ApolloOptions {
  /** Whether clients may query the schema; off in production when the schema is not public. */
  readonly introspection: boolean;
  /** Which fields of an operation its principal may not use (schema.graphql's @auth). */
  readonly access: OperationAccess;
}

export function createApolloServer(
  schema: GraphQLSchema,
  log: Logger,
  options: ApolloOptions,
): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    formatError: errorFormatter(log),
    // Integrators explore the API and generate clients from it (INTROSPECTION_ENABLED).
    introspection: options.introspection,
    // Stack traces name files and lines of this server: never send them.
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (HTTP, Apollo, database, in that order).
    stopOnTerminationSignals: false,
    // Longer documents fail to parse (GRAPHQL_PARSE_FAILED, HTTP 400).
    parseOptions: { maxLexicalTokens: MAX_DOCUMENT_TOKENS },
    validationRules: [operationLimits()],
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
      unavailableStatusPlugin(),
      requestGuardsPlugin(),
      authorizationPlugin(options.access),
      responseSizePlugin(log),
      outcomePlugin(),
    ],
  });
}
