// GraphQL operation names are chosen by clients, and every distinct label
// value is a time series the monitoring system keeps: the names that become
// labels are bounded, so a client inventing a name per request cannot flood it.

/** A name that may be a label value: what GraphQL allows, at most 64 characters. */
const LABELLED = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Distinct operation names labelled per process; later new names count as `other`. */
export const MAX_OPERATION_LABELS = 100;

/** The label for names past the bound or not well-formed. */
export const OTHER_OPERATION = 'other';

/** Maps an operation name to its label: itself while the bound allows, else `other`; `''` when there is none. */
export function operationLabels(max = MAX_OPERATION_LABELS): (operation: string | null) => string {
  const known = new Set<string>();
  return (operation) => {
    if (operation === null) return '';
    if (known.has(operation)) return operation;
    if (known.size >= max || !LABELLED.test(operation)) return OTHER_OPERATION;
    known.add(operation);
    return operation;
  };
}
