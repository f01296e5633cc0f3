// The request log: one JSON line per HTTP request, written when it is
// answered (or abandoned). It holds the report's fields and nothing else of
// the request: no path beyond the route, no query, no variables, no body, and
// no operation name the project does not know (the client chose it; see
// src/metrics/operation-labels.ts). What an operation did is told by its root
// fields, which are the schema's names.
import type { Logger } from '../log.js';
import type { OperationNames } from '../metrics/operation-labels.js';
import type { RequestObserver } from './request-report.js';

/** The `msg` of every request line, to tell them from other lines. */
export const REQUEST_MESSAGE = 'request';

export function requestLog(log: Logger, names: OperationNames): RequestObserver {
  // Comma-separated, since a line's fields are scalars; joined once per list
  // (an operation's root fields are one remembered list, graphql/root-fields.ts).
  const joined = new WeakMap<readonly string[], string | null>();
  const fieldsOf = (fields: readonly string[] | null): string | null => {
    if (fields === null) return null;
    let text = joined.get(fields);
    if (text === undefined) {
      text = fields.length === 0 ? null : fields.join(',');
      joined.set(fields, text);
    }
    return text;
  };
  return (report) =>
    log.info(REQUEST_MESSAGE, {
      requestId: report.id,
      method: report.method,
      route: report.route,
      status: report.status,
      operation: names(report.operation),
      fields: fieldsOf(report.fields),
      outcome: report.outcome,
      principal: report.principal,
      // A tenth of a millisecond: finer is noise, coarser hides fast requests.
      durationMs: Math.round(report.durationMs * 10) / 10,
      aborted: report.aborted,
    });
}
