// The executable schema: the contract (schema.graphql) with its resolvers,
// built once and served by both edges, HTTP (Apollo) and WebSocket (graphql-ws).
import { readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { SCHEMA_FILE } from '../config.js';
import type { GraphQLContext } from './context.js';
import { resolvers } from './resolvers/index.js';

export function createSchema(): GraphQLSchema {
  return makeExecutableSchema<GraphQLContext>({ typeDefs: readFileSync(SCHEMA_FILE, 'utf8'), resolvers });
}
