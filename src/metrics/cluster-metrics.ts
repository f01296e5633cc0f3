// With GATEWAY_WORKERS > 1, `/metrics` answers for the whole gateway, not for
// the worker the scrape's connection happened to reach: that worker asks the
// primary (src/process/messages.ts), the primary asks every worker through
// prom-client's own cluster support (AggregatorRegistry.clusterMetrics) and
// answers the aggregate, each metric combined as its `aggregator` option says
// (`sum` unless declared otherwise where the metric is). No partial answer:
// when a worker or the primary does not answer in time, the scrape gets 503.
//
// A worker offers its registry from the moment its process runs, empty until
// its gateway has one: a starting worker adds nothing (its counts are 0)
// rather than leaving the primary waiting for an answer that never comes.
// Until then (the second or so its process takes to load this module), the
// primary's request is lost and the scrape waits out WORKERS_ANSWER_MS.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { singleFlight } from '../deadline.js';
import type { Logger } from '../log.js';
import { metricsAnswer, metricsRequest, type MetricsAnswer, type MetricsRequest } from '../process/messages.js';

/** prom-client's primary gives up on workers that have not answered after this (fixed in its lib/cluster.js). */
const WORKERS_ANSWER_MS = 5_000;
/** A worker waits this long for the primary: prom-client's wait and a margin, so the primary's own reason reaches the scraper. */
export const PRIMARY_ANSWER_MS = WORKERS_ANSWER_MS + 1_000;
/** prom-client's message when a worker did not answer in time. */
const PROM_CLIENT_TIMEOUT = 'Operation timed out.';

/** `/metrics` cannot answer for the whole gateway now; the message says why. */
export class MetricsUnavailableError extends Error {}

/**
 * In a worker: prom-client answers the primary's requests with these
 * registries (none: an empty answer). Called again, the new ones replace them.
 */
export function offerToPrimary(registries: readonly Registry[] = []): void {
  AggregatorRegistry.setRegistries([...registries]);
  // Its constructor adds prom-client's listener for the primary's requests, once per process.
  new AggregatorRegistry();
}

/**
 * In a worker: the whole gateway's metrics, asked of the primary. Rejects
 * with MetricsUnavailableError when it does not answer within `timeoutMs`
 * or answers that it has none.
 */
export function askPrimary(timeoutMs: number = PRIMARY_ANSWER_MS): () => Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) throw new Error('only a cluster worker can ask its primary for metrics');
  const waiting = new Map<number, (answer: MetricsAnswer) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    const answer = metricsAnswer.safeParse(message);
    if (answer.success) waiting.get(answer.data.id)?.(answer.data);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const fail = (reason: string) => {
        waiting.delete(id);
        clearTimeout(timer);
        reject(new MetricsUnavailableError(reason));
      };
      const timer = setTimeout(() => fail(`the primary process did not answer within ${timeoutMs} ms`), timeoutMs);
      waiting.set(id, (answer) => {
        if (answer.kind === 'gateway-metrics-failed') return fail(answer.reason);
        waiting.delete(id);
        clearTimeout(timer);
        resolve(answer.text);
      });
      const request: MetricsRequest = { kind: 'gateway-metrics-request', id };
      send(request, undefined, undefined, (error: Error | null) => {
        if (error) fail(`the primary process cannot be reached (${error.message})`);
      });
    });
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message === PROM_CLIENT_TIMEOUT
    ? `not every worker answered within ${WORKERS_ANSWER_MS} ms (one is stuck, or has only just started)`
    : `a worker could not collect its metrics (${message})`;
}

/**
 * In the primary: answers its workers' requests with every worker's metrics,
 * aggregated. Scrapes arriving while a collection runs share it.
 */
export function answerMetricsRequests(log: Logger): void {
  const aggregator = new AggregatorRegistry();
  const collect = singleFlight(() => aggregator.clusterMetrics());
  const reply = (worker: Worker, answer: MetricsAnswer) => {
    // A worker gone meanwhile no longer waits; a failed send is told on the worker's 'error' (workers.ts).
    if (worker.isConnected()) worker.send(answer);
  };
  cluster.on('message', (worker: Worker, message: unknown) => {
    const request = metricsRequest.safeParse(message);
    if (!request.success) return;
    const { id } = request.data;
    collect().then(
      (text) => reply(worker, { kind: 'gateway-metrics', id, text }),
      (error: unknown) => {
        const reason = reasonOf(error);
        log.warn(`metrics: /metrics answers 503: ${reason}`, { worker: worker.id });
        reply(worker, { kind: 'gateway-metrics-failed', id, reason });
      },
    );
  });
}
