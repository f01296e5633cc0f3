// The executable schema: the contract (schema.graphql) with its resolvers,
// built once and served by both edges, HTTP (Apollo) and WebSocket (graphql-ws),
// with the field requirements its @auth directives declare.
import { readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import {
  describeRequirements,
  fieldRequirements,
  rootFieldsWithoutRequirement,
  type FieldRequirements,
} from '../auth/field-rules.js';
import { SCHEMA_FILE } from '../config.js';
import type { GraphQLContext } from './context.js';
import { resolvers } from './resolvers/index.js';

export interface Contract {
  readonly schema: GraphQLSchema;
  readonly requirements: FieldRequirements;
}

export function createSchema(): Contract {
  const schema = makeExecutableSchema<GraphQLContext>({ typeDefs: readFileSync(SCHEMA_FILE, 'utf8'), resolvers });
  const requirements = fieldRequirements(schema);
  // A root field without a requirement would be open to any credential: refuse to serve it.
  const unguarded = rootFieldsWithoutRequirement(schema, requirements);
  if (unguarded.length > 0)
    throw new Error(`schema.graphql: these root fields declare no @auth(roles: ...): ${unguarded.join(', ')}`);
  describeRequirements(schema, requirements);
  return { schema, requirements };
}
