// Enforces the contract's @auth requirements for operations over HTTP: the
// whole operation is checked once it is parsed and validated, before any
// resolver runs, so a refused operation has no effects at all.
import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { forbiddenError, forbiddenFields, type FieldRequirements } from '../auth/field-rules.js';
import type { Principal } from '../auth/principal.js';
import type { GraphQLContext } from './context.js';

/**
 * The check for one operation, remembered per parsed document (Apollo reuses
 * the document of a repeated query) and set of roles: a kiosk sending the
 * same enqueue all day walks its document once.
 */
export function operationAccess(schema: GraphQLSchema, requirements: FieldRequirements) {
  const seen = new WeakMap<OperationDefinitionNode, Map<string, string[]>>();
  return (document: DocumentNode, operation: OperationDefinitionNode, principal: Principal): string[] => {
    // Roles decide; services are the domain's to check.
    const key = [...principal.roles].sort().join(',');
    let byRoles = seen.get(operation);
    if (!byRoles) {
      byRoles = new Map();
      seen.set(operation, byRoles);
    }
    let forbidden = byRoles.get(key);
    if (!forbidden) {
      forbidden = forbiddenFields(schema, requirements, document, operation, principal);
      byRoles.set(key, forbidden);
    }
    return forbidden;
  };
}

export type OperationAccess = ReturnType<typeof operationAccess>;

export function authorizationPlugin(access: OperationAccess): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation({ document, operation, contextValue }) {
          if (!operation) return Promise.resolve();
          const forbidden = access(document, operation, contextValue.principal);
          // Apollo answers with this status and drops `http` from what it sends.
          return forbidden.length === 0
            ? Promise.resolve()
            : Promise.reject(forbiddenError(forbidden, { http: { status: 403 } }));
        },
      }),
  };
}
