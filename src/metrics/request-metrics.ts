// Request durations by route, GraphQL operation and outcome: one histogram
// observation per request, told by the HTTP edge once the answer is sent.
import { Histogram, type Registry } from 'prom-client';
import type { RequestObserver } from '../http/request-report.js';
import type { OperationNames } from './operation-labels.js';

/** Seconds; from a cached read (a few ms) to the longest a request may wait on the database (acquire + statement + 1 s). */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

/** `names`: the operation names that may be labels (operation-labels.ts); `''` when the request was no GraphQL operation. */
export function requestMetrics(registry: Registry, names: OperationNames): RequestObserver {
  const durations = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP requests by route, GraphQL operation (a known name, anonymous or other; "" when not GraphQL) and outcome (OK or an error code)',
    labelNames: ['route', 'operation', 'outcome'],
    buckets: BUCKETS,
    // With workers, the whole gateway's requests (cluster-metrics.ts).
    aggregator: 'sum',
    registers: [registry],
  });
  return (report) => {
    durations.observe(
      { route: report.route, operation: names(report.operation) ?? '', outcome: report.outcome },
      report.durationMs / 1000,
    );
  };
}
