// Standby reads (src/db/read-replica.ts): each read host's replay lag, read
// when scraped, and where reads went: served by a read host, or sent to the
// primary and why (`lag`: behind by more than READ_MAX_LAG_MS, or a live read
// found none caught up in time; `unreachable`: the host did not answer;
// `unmeasured`: its lag is not known yet, or the primary did not answer).
// Nothing is registered when no read host is configured.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReadRouter } from '../db/read-replica.js';

export function readMetrics(registry: Registry, router: ReadRouter): void {
  if (!router.enabled) return;
  new Gauge({
    name: 'gateway_db_replay_lag_seconds',
    help: 'How far each read host (a hot standby) is behind the primary: 0 when it had replayed all the primary had written at the last look',
    labelNames: ['host'],
    // With workers, each measures the same standby: its lag, never the sum (the largest seen).
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      for (const { host, lagMs } of router.hosts()) if (lagMs !== undefined) this.set({ host }, lagMs / 1000);
    },
  });
  const served = new Counter({
    name: 'gateway_db_standby_reads_total',
    help: 'Reads (of queue pages, statistics, positions, live states) served by a read host',
    // With workers, every worker's reads (cluster-metrics.ts).
    aggregator: 'sum',
    registers: [registry],
  });
  const fellBack = new Counter({
    name: 'gateway_db_standby_fallbacks_total',
    help: 'Reads sent to the primary instead of a read host, by reason (lag, unreachable, unmeasured)',
    labelNames: ['reason'],
    aggregator: 'sum',
    registers: [registry],
  });
  for (const reason of ['lag', 'unreachable', 'unmeasured']) fellBack.labels({ reason }).inc(0);
  router.onChoice((choice) =>
    choice.to === 'standby' ? served.inc() : fellBack.labels({ reason: choice.reason }).inc(),
  );
}
