// Limits on what one operation may ask for, checked before anything runs.
// The schema has cycles (a case's service has a queue of cases, each with
// its service...) and aliases repeat fields, so without limits one small
// request could fan out into any number of reads or writes. Four measures:
// - depth: fields nested inside each other;
// - cost: fields counted with their multiplicity, a list field multiplying
//   what is inside it by the number of items it may return; introspection
//   (`__schema`, `__type`) included, its lists at their sizes in this schema;
// - aliases: aliased fields, which is how a request repeats a field
//   (unaliased repeats merge into one);
// - root fields of a mutation: each one is a write, run one after another.
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { LIMITS } from '../queue/input-rules.js';

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

/** How many items a data list field may return: its `first` argument, or the largest the list can be. */
const LIST_SIZES: Record<string, number> = {
  options: LIMITS.procedure.options,
  customProperties: LIMITS.case.customProperties,
};
const PAGED_LISTS: Record<string, { readonly fallback: number; readonly max: number }> = {
  queue: { fallback: 20, max: LIMITS.queuePage.first },
  // Root `services(first:)`; a classification's `services` has no argument and at most as many.
  services: { fallback: LIMITS.servicesPage.first, max: LIMITS.servicesPage.first },
  classifications: { fallback: LIMITS.referencePage.first, max: LIMITS.referencePage.first },
  procedures: { fallback: LIMITS.referencePage.first, max: LIMITS.referencePage.first },
  history: { fallback: LIMITS.history.last, max: LIMITS.history.last },
};

function dataListSize(field: FieldNode): number {
  const name = field.name.value;
  const paged = PAGED_LISTS[name];
  if (!paged) return LIST_SIZES[name] ?? 1;
  // `first` for pages, `last` for a case's most recent history.
  const first = field.arguments?.find((argument) => ['first', 'last'].includes(argument.name.value))?.value;
  if (!first) return paged.fallback;
  // A variable's value is not known here: count the largest page.
  return first.kind === Kind.INT ? Math.min(Math.max(Number(first.value), 1), paged.max) : paged.max;
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

const sizesBySchema = new WeakMap<GraphQLSchema, Record<string, number>>();
function introspectionSizesOf(schema: GraphQLSchema): Record<string, number> {
  let sizes = sizesBySchema.get(schema);
  if (!sizes) sizesBySchema.set(schema, (sizes = introspectionSizes(schema)));
  return sizes;
}

interface Measure {
  readonly depth: number;
  readonly cost: number;
  readonly aliases: number;
  /** Fields selected at this level, through fragments. */
  readonly fields: number;
}

const NOTHING: Measure = { depth: 0, cost: 0, aliases: 0, fields: 0 };

/**
 * Measures selection sets, remembering each fragment's measure so that
 * spreads cost nothing to revisit. Inside `__schema` and `__type` every field
 * is an introspection field (their types only lead to each other): lists
 * there take the schema's sizes, and their nesting (`ofType { ofType ... }`)
 * counts toward cost but not depth, since the schema bounds it.
 */
class Measurer {
  private readonly done = new Map<string, Measure>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly introspection: Record<string, number>,
  ) {}

  measure(selectionSet: SelectionSetNode | undefined, inIntrospection = false): Measure {
    let depth = 0;
    let cost = 0;
    let aliases = 0;
    let fields = 0;
    for (const selection of selectionSet?.selections ?? []) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        inner = this.field(selection, inIntrospection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = this.measure(selection.selectionSet, inIntrospection);
      } else {
        inner = this.fragment(selection.name.value, inIntrospection);
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
      aliases += inner.aliases;
      fields += inner.fields;
    }
    return { depth, cost, aliases, fields };
  }

  private field(field: FieldNode, inIntrospection: boolean): Measure {
    const name = field.name.value;
    const aliased = field.alias !== undefined && field.alias.value !== name ? 1 : 0;
    const entersIntrospection = !inIntrospection && (name === '__schema' || name === '__type');
    const introspecting = inIntrospection || entersIntrospection;
    const child = this.measure(field.selectionSet, introspecting);
    const size = introspecting ? (inIntrospection ? (this.introspection[name] ?? 1) : 1) : dataListSize(field);
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
    const measured = this.measure(fragment.selectionSet, inIntrospection);
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

export function operationLimits(
  limits: OperationLimits = OPERATION_LIMITS,
): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map(
      context
        .getDocument()
        .definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)
        .map((fragment) => [fragment.name.value, fragment]),
    );
    const measurer = new Measurer(fragments, introspectionSizesOf(context.getSchema()));
    return {
      OperationDefinition(operation) {
        const breach = firstBreach(operation, measurer.measure(operation.selectionSet), limits);
        // Apollo answers every validation error as GRAPHQL_VALIDATION_FAILED
        // (HTTP 400); `rule` says which limit, with the limit and the measure.
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
