// The gateway's metrics, in a registry of its own (several gateways in one
// process, as in the tests, never share counts), exposed together with the
// process's (process-metrics.ts). Built once at start-up.
import { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Database } from '../db/prisma-client.js';
import type { RequestObserver } from '../http/request-report.js';
import { poolMetrics } from './pool-metrics.js';
import { processMetrics } from './process-metrics.js';
import type { OperationNames } from './operation-labels.js';
import { queueCounters, type RuntimeInstrument } from './queue-counters.js';
import { queueState } from './queue-state.js';
import { requestMetrics } from './request-metrics.js';

export interface GatewayMetrics {
  /** `config.metrics`: whether `/metrics` answers, and the token it wants. */
  readonly settings: Config['metrics'];
  /** What `/metrics` shows: the process's metrics and the gateway's. */
  readonly registry: Registry;
  /** For the HTTP edge: one histogram observation per request. */
  readonly observe: RequestObserver;
  /** Wraps the queue runtime so that its enqueues and hand-outs are counted. */
  readonly instrument: RuntimeInstrument;
}

export interface MeasuredPools {
  /** The main pool, which also reads the queue state when scraped. */
  readonly main: Database;
  readonly hot: Database;
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
    return { settings: config.metrics, registry: own, observe: () => undefined, instrument: (runtime) => runtime };
  }
  const observe = requestMetrics(own, operationNames);
  const instrument = queueCounters(own);
  queueState(own, pools.main, config.timeouts.healthMs);
  poolMetrics(own, { main: pools.main, hot: pools.hot });
  return { settings: config.metrics, registry: Registry.merge([processMetrics(), own]), observe, instrument };
}
