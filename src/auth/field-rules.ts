// Who may select which field: the `@auth(roles: [...])` directives of
// schema.graphql, read once when the schema is built, and the one check that
// enforces them for every operation, over HTTP and over WebSocket alike.
import {
  getNamedType,
  GraphQLError,
  isObjectType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { graphqlError, type OtherExtensions } from '../graphql/errors.js';
import { holdsAny, ROLES, type Principal, type Role } from './principal.js';

export const AUTH_DIRECTIVE = 'auth';

/** `Type.field` → the roles that may select it; fields without a directive are absent. */
export type FieldRequirements = ReadonlyMap<string, ReadonlySet<Role>>;

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

function rolesOf(directive: DirectiveNode): Set<Role> {
  const argument = directive.arguments?.find((each) => each.name.value === 'roles');
  const values = argument?.value.kind === Kind.LIST ? argument.value.values : [];
  return new Set(values.flatMap((value) => (value.kind === Kind.ENUM && isRole(value.value) ? [value.value] : [])));
}

export function fieldRequirements(schema: GraphQLSchema): FieldRequirements {
  const requirements = new Map<string, ReadonlySet<Role>>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const directive = field.astNode?.directives?.find((each) => each.name.value === AUTH_DIRECTIVE);
      if (directive) requirements.set(`${type.name}.${field.name}`, rolesOf(directive));
    }
  }
  return requirements;
}

/** Root fields (queries, mutations, subscriptions) that declare no requirement: none may exist. */
export function rootFieldsWithoutRequirement(schema: GraphQLSchema, requirements: FieldRequirements): string[] {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((root) =>
    root
      ? Object.keys(root.getFields())
          .map((name) => `${root.name}.${name}`)
          .filter((coordinate) => !requirements.has(coordinate))
      : [],
  );
}

/**
 * Ends each guarded field's description with the roles it allows, so the
 * explorer's documentation and introspecting clients see them too.
 */
export function describeRequirements(schema: GraphQLSchema, requirements: FieldRequirements): void {
  for (const [coordinate, roles] of requirements) {
    const [typeName = '', fieldName = ''] = coordinate.split('.');
    const type = schema.getType(typeName);
    const field = isObjectType(type) ? type.getFields()[fieldName] : undefined;
    if (!field) continue;
    const allowed = `Allowed to: ${[...roles].join(', ')}.`;
    field.description = field.description ? `${field.description}\n\n${allowed}` : allowed;
  }
}

/**
 * The guarded fields of the operation (and the fragments it may spread) that
 * the principal may not select, as `Type.field`, each once, in document order.
 * Root fields without a requirement are refused too: nothing is open by omission.
 */
export function forbiddenFields(
  schema: GraphQLSchema,
  requirements: FieldRequirements,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  principal: Principal,
): string[] {
  const forbidden = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const roots = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((root) =>
      root ? [root.name] : [],
    ),
  );
  const fragments = document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION);
  visit(
    { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] },
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field || field.name.startsWith('__')) return;
        const coordinate = `${getNamedType(parent).name}.${field.name}`;
        const roles = requirements.get(coordinate);
        if (roles ? !holdsAny(principal, roles) : roots.has(parent.name)) forbidden.add(coordinate);
      },
    }),
  );
  return [...forbidden];
}

/** The refusal for fields the principal may not select: it names them (the contract is public) and nothing else. */
export function forbiddenError(coordinates: readonly string[], extensions: OtherExtensions = {}): GraphQLError {
  return graphqlError(`This credential may not use ${coordinates.join(', ')}`, 'FORBIDDEN', {
    fields: coordinates,
    ...extensions,
  });
}
