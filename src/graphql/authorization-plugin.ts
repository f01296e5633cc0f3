// Enforces the contract's @auth requirements for operations over HTTP: the
// whole operation is checked once it is parsed and validated, before any
// resolver runs, so a refused operation has no effects at all.
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { forbiddenError, forbiddenFields, type FieldRequirements } from '../auth/field-rules.js';
import { ROLES, type Principal } from '../auth/principal.js';
import type { GraphQLContext } from './context.js';

/**
 * The check for one operation, remembered per parsed document (Apollo reuses
 * the document of a repeated query) and set of roles: a kiosk sending the
 * same enqueue all day walks its document once.
 */
export function operationAccess(schema: GraphQLSchema, requirements: FieldRequirements) {
  const seen = new WeakMap<OperationDefinitionNode, Map<number, string[]>>();
  return (document: DocumentNode, operation: OperationDefinitionNode, principal: Principal): string[] => {
    // Roles decide (services are the domain's to check), as a bit set: this
    // runs for every request, and a sorted, joined list cost the floor a few percent.
    let key = 0;
    for (const role of principal.roles) key |= 1 << ROLES.indexOf(role);
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
  // One listener for every request: it keeps nothing of its own per request.
  const listener: GraphQLRequestListener<GraphQLContext> = {
    didResolveOperation({ document, operation, contextValue }) {
      if (!operation) return Promise.resolve();
      const forbidden = access(document, operation, contextValue.principal);
      // Apollo answers with this status and drops `http` from what it sends.
      return forbidden.length === 0
        ? Promise.resolve()
        : Promise.reject(forbiddenError(forbidden, { http: { status: 403 } }));
    },
  };
  return { requestDidStart: () => Promise.resolve(listener) };
}
