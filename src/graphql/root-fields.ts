// The root fields an operation selects (`enqueueCase`, `services,queue`), for
// the request log: what an operation did, told without the operation's name,
// which its client chose. Names are the schema's own, never aliases, so a log
// line holds no text the client wrote.
import {
  Kind,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Fields every root type answers besides its own. */
const META_FIELDS = ['__typename', '__schema', '__type'];

/**
 * False only for `@skip(if: true)` or `@include(if: false)` written as
 * literals: a condition on a variable may hold, so its field is listed.
 */
function mayRun(directives: readonly DirectiveNode[] | undefined): boolean {
  for (const directive of directives ?? []) {
    const condition = directive.arguments?.find((argument) => argument.name.value === 'if')?.value;
    if (condition?.kind !== Kind.BOOLEAN) continue;
    if (directive.name.value === 'skip' && condition.value) return false;
    if (directive.name.value === 'include' && !condition.value) return false;
  }
  return true;
}

/**
 * The root fields in selection order, each once (aliases of one field are one
 * field), through fragments and inline fragments. Meant for a validated
 * operation; a name the root type does not have is left out all the same.
 */
export function rootFieldsOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): readonly string[] {
  const root = schema.getRootType(operation.operation);
  if (!root) return [];
  const fields = root.getFields();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const found = new Set<string>();
  // Validation refuses fragment cycles; remembering the spread ones makes a walk end regardless.
  const spread = new Set<string>();
  const walk = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (!mayRun(selection.directives)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const known = fields[name]?.name ?? META_FIELDS.find((meta) => meta === name);
        if (known !== undefined) found.add(known);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else {
        const fragment = fragments.get(selection.name.value);
        if (fragment && !spread.has(fragment.name.value)) {
          spread.add(fragment.name.value);
          walk(fragment.selectionSet);
        }
      }
    }
  };
  walk(operation.selectionSet);
  return [...found];
}

/**
 * `rootFieldsOf`, remembered per parsed operation: Apollo reuses the parsed
 * document of a repeated query, so a kiosk sending the same enqueue all day
 * walks it once and every later request costs one lookup.
 */
export function rootFieldsCache(): (
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
) => readonly string[] {
  const seen = new WeakMap<OperationDefinitionNode, readonly string[]>();
  return (schema, document, operation) => {
    let fields = seen.get(operation);
    if (!fields) {
      fields = Object.freeze(rootFieldsOf(schema, document, operation));
      seen.set(operation, fields);
    }
    return fields;
  };
}
