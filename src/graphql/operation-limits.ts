// Limits on what one operation may ask for, checked before anything runs.
// The schema has cycles (a case's service has a queue of cases, each with
// its service...) and aliases repeat fields, so without limits one small
// request could fan out into any number of reads or writes. Four measures:
// - depth: fields nested inside each other;
// - cost: fields counted with their multiplicity, a list field multiplying
//   what is inside it by the number of items it may return, as schema.graphql
//   declares it (@listSize; a list without a size stops the gateway at start);
//   introspection (`__schema`, `__type`) included, its lists at their sizes
//   in this schema;
// - aliases: aliased fields, which is how a request repeats a field
//   (unaliased repeats merge into one);
// - root fields of a mutation: each one is a write, run one after another.
import {
  getDirectiveValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  isUnionType,
  Kind,
  OperationTypeNode,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/**
 * Tokens a document may have, checked while parsing, before any other
 * measure: a 1 MiB body of repeated fields would otherwise cost a second of
 * parsing and validating before being refused. The introspection query has
 * 180 tokens; ten enqueues with 50 inline properties each about 4,500.
 */
export const MAX_DOCUMENT_TOKENS = 10_000;

export const OPERATION_LIMITS = {
  maxDepth: 10,
  maxCost: 50_000,
  // graphql-armor's default. Legitimate operations alias a field a few times
  // (two services side by side); a screen of many services reads `services`.
  maxAliases: 15,
  // Each root mutation field is a write of its own: a request may carry a
  // small batch, not thousands of writes behind one HTTP request.
  maxMutationRootFields: 10,
} as const;
export type OperationLimits = { readonly [K in keyof typeof OPERATION_LIMITS]: number };

/** The directive of schema.graphql that sizes list fields (`@listSize(max: 100)`). */
export const LIST_SIZE_DIRECTIVE = 'listSize';

/** How many items a field's list may hold, as schema.graphql's @listSize declares it. */
interface ListSize {
  readonly max: number;
  /** The `first` or `last` argument that asks for fewer, and what is counted when it is absent. */
  readonly slicing?: { readonly name: string; readonly fallback: number };
}

/** Every sized field of a schema; a list field absent here holds leaves or is a sized page's list. */
type ListSizes = ReadonlyMap<GraphQLField<unknown, unknown>, ListSize>;

const SLICING_ARGUMENTS = ['first', 'last'];

const isLeafList = (type: GraphQLOutputType): boolean => {
  const nullable = getNullableType(type);
  return isListType(nullable) && !isCompositeType(getNamedType(nullable));
};
const isCompositeList = (type: GraphQLOutputType): boolean => isListType(getNullableType(type)) && !isLeafList(type);

function fieldsOf(schema: GraphQLSchema): [string, GraphQLField<unknown, unknown>][] {
  return Object.values(schema.getTypeMap()).flatMap((type) =>
    (isObjectType(type) || isInterfaceType(type)) && !type.name.startsWith('__')
      ? Object.values(type.getFields()).map((field): [string, GraphQLField<unknown, unknown>] => [
          `${type.name}.${field.name}`,
          field,
        ])
      : [],
  );
}

/**
 * The sizes schema.graphql declares, checked: every field returning a list of
 * objects must have one, since the cost model would otherwise count it as one
 * item; `sizedFields` must name lists of the returned type, and every field
 * returning that type must size them too. Throws naming every field at fault.
 */
function readListSizes(schema: GraphQLSchema): ListSizes {
  const directive = schema.getDirective(LIST_SIZE_DIRECTIVE);
  const sizes = new Map<GraphQLField<unknown, unknown>, ListSize>();
  const problems: string[] = [];
  /** Type name → its lists that the fields returning it size. */
  const pages = new Map<string, Set<string>>();
  const declared = new Map<GraphQLField<unknown, unknown>, ReadonlySet<string>>();
  const fields = fieldsOf(schema);
  for (const [coordinate, field] of fields) {
    const values = directive && field.astNode ? getDirectiveValues(directive, field.astNode) : undefined;
    if (!values) continue;
    const max = Number(values['max']);
    const sizedFields = Array.isArray(values['sizedFields']) ? values['sizedFields'].map(String) : [];
    const returned = getNamedType(field.type);
    if (!Number.isInteger(max) || max < 1) problems.push(`${coordinate}: @listSize(max:) must be at least 1`);
    if (!isCompositeList(field.type) && sizedFields.length === 0)
      problems.push(`${coordinate}: @listSize on a field that returns no list of objects`);
    for (const name of sizedFields) {
      const list = isObjectType(returned) || isInterfaceType(returned) ? returned.getFields()[name] : undefined;
      if (!list || !isCompositeList(list.type))
        problems.push(`${coordinate}: sizedFields names "${name}", which is no list of objects of ${returned.name}`);
      else pages.set(returned.name, (pages.get(returned.name) ?? new Set()).add(name));
    }
    declared.set(field, new Set(sizedFields));
    const argument = field.args.find((each) => SLICING_ARGUMENTS.includes(each.name));
    const fallback = typeof argument?.defaultValue === 'number' ? Math.min(argument.defaultValue, max) : max;
    sizes.set(field, argument ? { max, slicing: { name: argument.name, fallback } } : { max });
  }
  for (const [coordinate, field] of fields) {
    const [typeName = ''] = coordinate.split('.');
    const isPageList = pages.get(typeName)?.has(field.name) ?? false;
    if (isCompositeList(field.type) && !sizes.has(field) && !isPageList)
      problems.push(`${coordinate}: a list of objects without @listSize(max: ...)`);
    // A page's lists are sized by the field that returns the page: every such field.
    for (const name of pages.get(getNamedType(field.type).name) ?? [])
      if (!declared.get(field)?.has(name))
        problems.push(
          `${coordinate}: returns ${getNamedType(field.type).name}, so needs @listSize(sizedFields: ["${name}"])`,
        );
  }
  if (problems.length > 0)
    throw new Error(`schema.graphql: the cost model cannot size these lists:\n  ${problems.join('\n  ')}`);
  return sizes;
}

const sizesBySchema = new WeakMap<GraphQLSchema, ListSizes>();

/**
 * Checks that every list of `schema` has a size the cost model can use, and
 * remembers the sizes for validation; throws otherwise (createSchema calls it,
 * so such a schema stops the gateway at start-up).
 */
export function checkListSizes(schema: GraphQLSchema): void {
  listSizesOf(schema);
}

function listSizesOf(schema: GraphQLSchema): ListSizes {
  let sizes = sizesBySchema.get(schema);
  if (!sizes) sizesBySchema.set(schema, (sizes = readListSizes(schema)));
  return sizes;
}

/** How many items `field` is counted at: the literal `first`/`last` asked for (at least 1), else its default, never over `max`. */
function sizeAt(field: FieldNode, size: ListSize): number {
  const { slicing, max } = size;
  if (!slicing) return max;
  const value = field.arguments?.find((argument) => argument.name.value === slicing.name)?.value;
  if (!value) return slicing.fallback;
  // A variable's value is not known here: count the largest.
  return value.kind === Kind.INT ? Math.min(Math.max(Number(value.value), 1), max) : max;
}

/**
 * The lists of introspection, at their sizes in this schema. `types` is every
 * type; a type's `fields` (`inputFields`, `enumValues`, ...) count the
 * schema's total over its types, so `types { fields { ... } }` counts exactly
 * the schema's fields, and a field's `args` the average per field, rounded up.
 */
function introspectionSizes(schema: GraphQLSchema): Record<string, number> {
  const types = Object.values(schema.getTypeMap());
  let fields = 0;
  let args = 0;
  let inputFields = 0;
  let enumValues = 0;
  let interfaces = 0;
  let possibleTypes = 0;
  for (const type of types) {
    if (isObjectType(type) || isInterfaceType(type)) {
      const own = Object.values(type.getFields());
      fields += own.length;
      args += own.reduce((sum, field) => sum + field.args.length, 0);
      interfaces += type.getInterfaces().length;
    }
    if (isInterfaceType(type) || isUnionType(type)) possibleTypes += schema.getPossibleTypes(type).length;
    if (isInputObjectType(type)) inputFields += Object.keys(type.getFields()).length;
    if (isEnumType(type)) enumValues += type.getValues().length;
  }
  const directives = schema.getDirectives();
  const directiveArgs = directives.reduce((sum, directive) => sum + directive.args.length, 0);
  const perType = (total: number) => Math.max(1, Math.ceil(total / types.length));
  return {
    types: types.length,
    directives: directives.length,
    fields: perType(fields),
    inputFields: perType(inputFields),
    enumValues: perType(enumValues),
    interfaces: perType(interfaces),
    possibleTypes: perType(possibleTypes),
    args: Math.max(1, Math.ceil(args / Math.max(fields, 1)), Math.ceil(directiveArgs / Math.max(directives.length, 1))),
  };
}

const introspectionBySchema = new WeakMap<GraphQLSchema, Record<string, number>>();
function introspectionSizesOf(schema: GraphQLSchema): Record<string, number> {
  let sizes = introspectionBySchema.get(schema);
  if (!sizes) introspectionBySchema.set(schema, (sizes = introspectionSizes(schema)));
  return sizes;
}

export interface Measure {
  readonly depth: number;
  readonly cost: number;
  readonly aliases: number;
  /** Fields selected at this level, through fragments. */
  readonly fields: number;
}

const NOTHING: Measure = { depth: 0, cost: 0, aliases: 0, fields: 0 };

/** Where a selection set is: the type its fields belong to (unknown for fields validation refuses), and whether inside introspection. */
interface Place {
  readonly type: GraphQLCompositeType | undefined;
  readonly introspection: boolean;
}

/**
 * Measures selection sets, remembering each fragment's measure so that
 * spreads cost nothing to revisit. A list field multiplies what is inside it
 * by its size from schema.graphql (@listSize). Inside `__schema` and `__type`
 * every field is an introspection field (their types only lead to each
 * other): lists there take the schema's sizes, and their nesting (`ofType {
 * ofType ... }`) counts toward cost but not depth, since the schema bounds it.
 */
class Measurer {
  private readonly done = new Map<string, Measure>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly sizes: ListSizes,
    private readonly introspection: Record<string, number>,
  ) {}

  measure(selectionSet: SelectionSetNode | undefined, place: Place): Measure {
    let depth = 0;
    let cost = 0;
    let aliases = 0;
    let fields = 0;
    for (const selection of selectionSet?.selections ?? []) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        inner = this.field(selection, place);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? this.typeNamed(selection.typeCondition.name.value) : place.type;
        inner = this.measure(selection.selectionSet, { ...place, type: condition });
      } else {
        inner = this.fragment(selection.name.value, place.introspection);
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
      aliases += inner.aliases;
      fields += inner.fields;
    }
    return { depth, cost, aliases, fields };
  }

  private typeNamed(name: string): GraphQLCompositeType | undefined {
    const type = this.schema.getType(name);
    return isCompositeType(type) ? type : undefined;
  }

  private field(field: FieldNode, { type, introspection }: Place): Measure {
    const name = field.name.value;
    const aliased = field.alias !== undefined && field.alias.value !== name ? 1 : 0;
    const entersIntrospection = !introspection && (name === '__schema' || name === '__type');
    const introspecting = introspection || entersIntrospection;
    const definition = !introspecting && type && !isUnionType(type) ? type.getFields()[name] : undefined;
    const returned = definition ? getNamedType(definition.type) : undefined;
    const child = this.measure(field.selectionSet, {
      type: isCompositeType(returned) ? returned : undefined,
      introspection: introspecting,
    });
    let size = 1;
    if (introspection) size = this.introspection[name] ?? 1;
    else if (definition) {
      const declared = this.sizes.get(definition);
      if (declared) size = sizeAt(field, declared);
    }
    return {
      depth: introspecting ? 1 : 1 + child.depth,
      cost: 1 + size * child.cost,
      aliases: aliased + child.aliases,
      // `__typename` is no write: it does not count as a mutation's root field.
      fields: name === '__typename' ? 0 : 1,
    };
  }

  private fragment(name: string, inIntrospection: boolean): Measure {
    // A fragment measures differently inside introspection: one entry each way.
    const key = `${inIntrospection ? 'i' : 'd'}:${name}`;
    const known = this.done.get(key);
    if (known) return known;
    const fragment = this.fragments.get(name);
    // Unknown or cyclic spreads are reported by GraphQL's own validation.
    if (!fragment || this.inProgress.has(key)) return NOTHING;
    this.inProgress.add(key);
    const measured = this.measure(fragment.selectionSet, {
      type: this.typeNamed(fragment.typeCondition.name.value),
      introspection: inIntrospection,
    });
    this.inProgress.delete(key);
    this.done.set(key, measured);
    return measured;
  }
}

interface Breach {
  readonly rule: string;
  readonly message: string;
  readonly extensions: Record<string, number>;
}

/** The first limit the operation breaks, in the order a client would fix them. */
function firstBreach(operation: OperationDefinitionNode, measured: Measure, limits: OperationLimits): Breach | null {
  const { depth, cost, aliases, fields } = measured;
  const { maxDepth, maxCost, maxAliases, maxMutationRootFields } = limits;
  if (depth > maxDepth)
    return {
      rule: 'maxDepth',
      message: `The operation is nested ${depth} levels deep; at most ${maxDepth} are allowed.`,
      extensions: { maxDepth, depth },
    };
  if (cost > maxCost)
    return {
      rule: 'maxCost',
      message: `The operation could read ${cost} fields (lists counted at their largest); at most ${maxCost} are allowed.`,
      extensions: { maxCost, cost },
    };
  if (operation.operation === OperationTypeNode.MUTATION && fields > maxMutationRootFields)
    return {
      rule: 'maxMutationRootFields',
      message: `The mutation has ${fields} root fields; at most ${maxMutationRootFields} are allowed in one request.`,
      extensions: { maxMutationRootFields, mutationRootFields: fields },
    };
  if (aliases > maxAliases)
    return {
      rule: 'maxAliases',
      message: `The operation has ${aliases} aliased fields; at most ${maxAliases} are allowed.`,
      extensions: { maxAliases, aliases },
    };
  return null;
}

function measurerOf(schema: GraphQLSchema, document: DocumentNode): Measurer {
  const fragments = new Map(
    document.definitions
      .filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  return new Measurer(schema, fragments, listSizesOf(schema), introspectionSizesOf(schema));
}

function measured(schema: GraphQLSchema, measurer: Measurer, operation: OperationDefinitionNode): Measure {
  const root = schema.getRootType(operation.operation) ?? undefined;
  return measurer.measure(operation.selectionSet, { type: root, introspection: false });
}

/** What each operation of a valid document measures, in document order (the limits' numbers, for tests and tools). */
export function measureOperations(schema: GraphQLSchema, document: DocumentNode): Measure[] {
  const measurer = measurerOf(schema, document);
  return document.definitions.flatMap((definition) =>
    definition.kind === Kind.OPERATION_DEFINITION ? [measured(schema, measurer, definition)] : [],
  );
}

export function operationLimits(
  limits: OperationLimits = OPERATION_LIMITS,
): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const schema = context.getSchema();
    const measurer = measurerOf(schema, context.getDocument());
    return {
      OperationDefinition(operation) {
        const breach = firstBreach(operation, measured(schema, measurer, operation), limits);
        // Answered as GRAPHQL_VALIDATION_FAILED (HTTP 400), like every
        // validation error (prepare-operation.ts); `rule` says which limit,
        // with the limit and the measure.
        if (breach)
          context.reportError(
            new GraphQLError(breach.message, {
              nodes: [operation],
              extensions: { rule: breach.rule, ...breach.extensions },
            }),
          );
      },
    };
  };
}
