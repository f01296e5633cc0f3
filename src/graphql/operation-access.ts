// The @auth check of one operation for one principal: the guarded fields of
// schema.graphql it selects that the principal's roles do not allow. The same
// check for every channel (GraphQL over HTTP, REST, WebSocket), called by
// prepare-operation.ts before anything runs.
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { forbiddenFields, type FieldRequirements } from '../auth/field-rules.js';
import { ROLES, type Principal } from '../auth/principal.js';

/**
 * The check for one operation, remembered per parsed operation (prepared
 * documents are reused for a repeated query) and set of roles: a kiosk
 * sending the same enqueue all day walks its document once.
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
