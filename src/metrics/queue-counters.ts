// Cases enqueued and handed out by this process, counted where every edge
// (GraphQL and the REST shim) reaches the queue: the shared runtime's
// enqueuer and caller, wrapped, so the domain (src/queue) knows nothing of
// metrics. No service label: per-service state (backlog, oldest wait) comes
// from the database, which sees every gateway (queue-state.ts), and these
// stay one cheap increment per case.
import { Counter, type Registry } from 'prom-client';
import type { QueueRuntime } from '../queue/runtime.js';

/** The same runtime, counting the cases its enqueuer and caller answer with. */
export type RuntimeInstrument = (runtime: QueueRuntime) => QueueRuntime;

export function queueCounters(registry: Registry): RuntimeInstrument {
  const enqueued = new Counter({
    name: 'gateway_cases_enqueued_total',
    help: 'Enqueue requests answered with a case (a retry with a known idempotency key counts again)',
    // With workers, every worker's cases (cluster-metrics.ts).
    aggregator: 'sum',
    registers: [registry],
  });
  const handedOut = new Counter({
    name: 'gateway_cases_handed_out_total',
    help: 'Cases handed to an agent, by the call that did it (callNext)',
    labelNames: ['via'],
    aggregator: 'sum',
    registers: [registry],
  });
  const byCallNext = handedOut.labels({ via: 'callNext' });
  return (runtime) => ({
    ...runtime,
    enqueuer: {
      enqueue: async (request, actor) => {
        const answer = await runtime.enqueuer.enqueue(request, actor);
        enqueued.inc();
        return answer;
      },
    },
    caller: {
      callNext: async (request, actor) => {
        const answer = await runtime.caller.callNext(request, actor);
        if (answer !== null) byCallNext.inc();
        return answer;
      },
    },
  });
}
