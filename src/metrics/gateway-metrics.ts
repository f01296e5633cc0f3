// The gateway's metrics, in a registry of its own (several gateways in one
// process, as in the tests, never share counts), exposed together with the
// process's (process-metrics.ts). Built once at start-up. In a cluster worker
// (GATEWAY_WORKERS > 1), `/metrics` answers for every worker: the registry is
// offered to the primary, which aggregates them all (cluster-metrics.ts).
import cluster from 'node:cluster';
import { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Database } from '../db/prisma-client.js';
import type { ReadRouter } from '../db/read-replica.js';
import type { RequestObserver } from '../http/request-report.js';
import { askPrimary, offerToPrimary } from './cluster-metrics.js';
import { poolMetrics } from './pool-metrics.js';
import { processMetrics } from './process-metrics.js';
import type { OperationNames } from './operation-labels.js';
import { queueCounters, type RuntimeInstrument } from './queue-counters.js';
import { queueState } from './queue-state.js';
import { readMetrics } from './read-metrics.js';
import { requestMetrics } from './request-metrics.js';
import { webhookMetrics, type WebhookAttemptObserver } from './webhook-metrics.js';

export interface GatewayMetrics {
  /** `config.metrics`: whether `/metrics` answers, and the token it wants. */
  readonly settings: Config['metrics'];
  /** This process's metrics: Node's and the gateway's. */
  readonly registry: Registry;
  /**
   * What `/metrics` answers: `registry`'s text, or in a cluster worker every
   * worker's, aggregated by the primary; rejects with MetricsUnavailableError
   * (cluster-metrics.ts) when the primary has no answer in time.
   */
  readonly scrape: () => Promise<string>;
  /** For the HTTP edge: one histogram observation per request. */
  readonly observe: RequestObserver;
  /** Wraps the queue runtime so that its enqueues and hand-outs are counted. */
  readonly instrument: RuntimeInstrument;
  /** For the webhook runner: one count per attempt. */
  readonly webhookAttempt: WebhookAttemptObserver;
}

export interface MeasuredPools {
  /** The main pool, which also reads the queue state when scraped. */
  readonly main: Database;
  readonly hot: Database;
  /** Where screens' reads go (standbys or the primary); its lag and choices are measured. */
  readonly reads?: ReadRouter;
}

/**
 * With metrics off, nothing is measured: requests and enqueues cost nothing
 * extra. `operationNames`: the names that may be labels (operation-labels.ts).
 */
export function createGatewayMetrics(
  config: Pick<Config, 'metrics' | 'timeouts'>,
  pools: MeasuredPools,
  operationNames: OperationNames,
): GatewayMetrics {
  const own = new Registry();
  if (!config.metrics.enabled) {
    return {
      settings: config.metrics,
      registry: own,
      scrape: () => own.metrics(),
      observe: () => undefined,
      instrument: (runtime) => runtime,
      webhookAttempt: () => undefined,
    };
  }
  const observe = requestMetrics(own, operationNames);
  const instrument = queueCounters(own);
  queueState(own, pools.main, config.timeouts.healthMs);
  const webhookAttempt = webhookMetrics(own, pools.main, config.timeouts.healthMs);
  poolMetrics(own, { main: pools.main, hot: pools.hot });
  if (pools.reads) readMetrics(own, pools.reads);
  const registry = Registry.merge([processMetrics(), own]);
  // A cluster worker's primary asks for this registry, not prom-client's global one.
  if (cluster.isWorker) offerToPrimary([registry]);
  const scrape = cluster.isWorker ? askPrimary() : () => registry.metrics();
  return { settings: config.metrics, registry, scrape, observe, instrument, webhookAttempt };
}
