// The GraphQL server: the contract (schema.graphql) plus the resolvers.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { SCHEMA_FILE } from '../config.js';
import type { Logger } from '../log.js';
import type { GraphQLContext } from './context.js';
import { operationLimits } from './operation-limits.js';
import { errorFormatter } from './errors.js';
import { resolvers } from './resolvers/index.js';

export function createApolloServer(log: Logger): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    typeDefs: readFileSync(SCHEMA_FILE, 'utf8'),
    resolvers,
    formatError: errorFormatter(log),
    // Integrators explore the API and generate clients from it.
    introspection: true,
    // Stack traces name files and lines of this server: never send them.
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (HTTP, Apollo, database, in that order).
    stopOnTerminationSignals: false,
    validationRules: [operationLimits()],
    // No field declares a cache hint (mutations and live queues are not
    // cacheable), and the default cache-control plugin hooks every resolved field.
    plugins: [ApolloServerPluginCacheControlDisabled()],
  });
}
