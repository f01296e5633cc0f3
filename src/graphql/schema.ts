// The executable schema: the contract (schema.graphql) with its resolvers,
// built once and served by every edge (HTTP, REST, WebSocket), with the field
// requirements its @auth directives declare. What a guard depends on is
// checked here, so a contract a guard cannot read stops the gateway at start:
// a root field without @auth, a list without a size for the cost model.
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
import { checkListSizes } from './operation-limits.js';
import { resolvers } from './resolvers/index.js';

export interface Contract {
  readonly schema: GraphQLSchema;
  readonly requirements: FieldRequirements;
}

/** `typeDefs`: schema.graphql unless given (tests try contracts the gateway must refuse). */
export function createSchema(typeDefs: string = readFileSync(SCHEMA_FILE, 'utf8')): Contract {
  const schema = makeExecutableSchema<GraphQLContext>({ typeDefs, resolvers });
  const requirements = fieldRequirements(schema);
  // A root field without a requirement would be open to any credential: refuse to serve it.
  const unguarded = rootFieldsWithoutRequirement(schema, requirements);
  if (unguarded.length > 0)
    throw new Error(`schema.graphql: these root fields declare no @auth(roles: ...): ${unguarded.join(', ')}`);
  // A list the cost model cannot size would count as one item: refuse to serve it.
  checkListSizes(schema);
  describeRequirements(schema, requirements);
  return { schema, requirements };
}
