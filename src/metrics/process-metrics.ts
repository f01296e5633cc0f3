// Node's own metrics (CPU, memory, event-loop lag, GC, handles): facts about
// the process, so one registry per process, made on first use. Not
// prom-client's global registry, and not per gateway: prom-client's default
// collectors cannot be stopped (the event-loop histogram samples for ever),
// so a process that starts many gateways (the tests) starts them once.
// With workers (cluster-metrics.ts), prom-client's own aggregators combine
// them: CPU, memory, heap and handles summed, event-loop lag averaged (its
// max and min kept), the version once and the start time left out.
import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

export function processMetrics(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
