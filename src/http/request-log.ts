// The request log: one JSON line per HTTP request, written when it is
// answered (or abandoned). It holds the report's fields and nothing else of
// the request: no path beyond the route, no query, no variables, no body.
import type { Logger } from '../log.js';
import type { RequestObserver } from './request-report.js';

/** The `msg` of every request line, to tell them from other lines. */
export const REQUEST_MESSAGE = 'request';
/** GraphQL names have no length limit of their own; a line stays short. */
const MAX_OPERATION_LENGTH = 100;

export function requestLog(log: Logger): RequestObserver {
  return (report) =>
    log.info(REQUEST_MESSAGE, {
      requestId: report.id,
      method: report.method,
      route: report.route,
      status: report.status,
      operation: report.operation?.slice(0, MAX_OPERATION_LENGTH) ?? null,
      outcome: report.outcome,
      principal: report.principal,
      // A tenth of a millisecond: finer is noise, coarser hides fast requests.
      durationMs: Math.round(report.durationMs * 10) / 10,
      aborted: report.aborted,
    });
}
