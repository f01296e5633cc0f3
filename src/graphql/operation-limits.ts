// Limits on what one operation may ask for, checked before anything runs.
// The schema has cycles (a case's service has a queue of cases, each with
// its service...) and aliases repeat fields, so without limits one small
// request could fan out into any number of reads. Two measures:
// - depth: fields nested inside each other;
// - cost: fields counted with their multiplicity, a list field multiplying
//   what is inside it by the number of items it may return.
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

export const MAX_QUERY_DEPTH = 10;
export const MAX_QUERY_COST = 50_000;

/** How many items a list field may return: its `first` argument, or the largest a list can be. */
const LIST_SIZES: Record<string, number> = {
  services: 100,
  classifications: 100,
  procedures: 100,
  options: 100,
  history: 100,
  customProperties: 50,
};
const PAGE_DEFAULT = 20;
const PAGE_MAX = 100;

function listSize(field: FieldNode): number {
  const name = field.name.value;
  if (name === 'queue') {
    const first = field.arguments?.find((argument) => argument.name.value === 'first')?.value;
    // A variable's value is not known here: count the largest page.
    if (!first) return PAGE_DEFAULT;
    return first.kind === Kind.INT ? Math.min(Math.max(Number(first.value), 1), PAGE_MAX) : PAGE_MAX;
  }
  return LIST_SIZES[name] ?? 1;
}

interface Measure {
  readonly depth: number;
  readonly cost: number;
}

/** Measures selection sets, remembering each fragment's measure so that spreads cost nothing to revisit. */
class Measurer {
  private readonly done = new Map<string, Measure>();
  private readonly inProgress = new Set<string>();

  constructor(private readonly fragments: Map<string, FragmentDefinitionNode>) {}

  measure(selectionSet: SelectionSetNode | undefined): Measure {
    let depth = 0;
    let cost = 0;
    for (const selection of selectionSet?.selections ?? []) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        // Introspection reads no data.
        if (selection.name.value.startsWith('__')) continue;
        const child = this.measure(selection.selectionSet);
        inner = { depth: 1 + child.depth, cost: 1 + listSize(selection) * child.cost };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = this.measure(selection.selectionSet);
      } else {
        inner = this.fragment(selection.name.value);
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
    }
    return { depth, cost };
  }

  private fragment(name: string): Measure {
    const known = this.done.get(name);
    if (known) return known;
    const fragment = this.fragments.get(name);
    // Unknown or cyclic spreads are reported by GraphQL's own validation.
    if (!fragment || this.inProgress.has(name)) return { depth: 0, cost: 0 };
    this.inProgress.add(name);
    const measured = this.measure(fragment.selectionSet);
    this.inProgress.delete(name);
    this.done.set(name, measured);
    return measured;
  }
}

export function operationLimits(
  maxDepth = MAX_QUERY_DEPTH,
  maxCost = MAX_QUERY_COST,
): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    const fragments = new Map(
      context
        .getDocument()
        .definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)
        .map((fragment) => [fragment.name.value, fragment]),
    );
    const measurer = new Measurer(fragments);
    return {
      OperationDefinition(operation) {
        const { depth, cost } = measurer.measure(operation.selectionSet);
        // Apollo answers every validation error as GRAPHQL_VALIDATION_FAILED; `rule` says which.
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`The operation is nested ${depth} levels deep; at most ${maxDepth} are allowed.`, {
              nodes: [operation],
              extensions: { rule: 'maxDepth', maxDepth, depth },
            }),
          );
        }
        if (cost > maxCost) {
          context.reportError(
            new GraphQLError(
              `The operation could read ${cost} fields (lists counted at their largest); at most ${maxCost} are allowed.`,
              {
                nodes: [operation],
                extensions: { rule: 'maxCost', maxCost, cost },
              },
            ),
          );
        }
      },
    };
  };
}
