// GraphQL operation names are chosen by clients: a name may be anything a
// client types (`Jane_Doe_SSN_123456789`), and every distinct label value is a
// time series the monitoring system keeps. So a name is written where
// operators read it (a metric label, the request log) only when the project
// knows it: an operation of `operations/` (operations-folder.ts) or of
// METRICS_OPERATION_NAMES. Every other name is `other`.
import { ANONYMOUS_OPERATION } from '../http/request-report.js';

/** What an unknown operation name is written as. */
export const OTHER_OPERATION = 'other';

/** A report's operation as it may be written: a known name, `anonymous`, `other`, or null for no GraphQL operation. */
export type OperationNames = (operation: string | null) => string | null;

export function knownOperations(names: Iterable<string>): OperationNames {
  const known = new Set(names);
  return (operation) => {
    if (operation === null || operation === ANONYMOUS_OPERATION) return operation;
    return known.has(operation) ? operation : OTHER_OPERATION;
  };
}
