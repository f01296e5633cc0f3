// The database connection pools: connections in use and idle, requests
// waiting for one, and the size. Read from the pools when scraped.
import { Gauge, type Registry } from 'prom-client';
import { poolUse, type Database, type PoolUse } from '../db/prisma-client.js';

/** The gateway's pools by the name their label carries (`main`, `hot`). */
export type Pools = Readonly<Record<string, Database>>;

export function poolMetrics(registry: Registry, pools: Pools): void {
  const each = (set: (pool: string, use: PoolUse) => void) => {
    for (const [pool, db] of Object.entries(pools)) {
      const use = poolUse(db);
      if (use) set(pool, use);
    }
  };
  new Gauge({
    name: 'gateway_db_pool_connections',
    help: 'Open database connections by pool and state (in_use, idle)',
    labelNames: ['pool', 'state'],
    // With workers, each has pools of its own: the gateway's connections are their sum.
    aggregator: 'sum',
    registers: [registry],
    collect() {
      each((pool, use) => {
        this.set({ pool, state: 'in_use' }, use.total - use.idle);
        this.set({ pool, state: 'idle' }, use.idle);
      });
    },
  });
  new Gauge({
    name: 'gateway_db_pool_waiting_requests',
    help: 'Requests waiting for a database connection, by pool',
    labelNames: ['pool'],
    aggregator: 'sum',
    registers: [registry],
    collect() {
      each((pool, use) => this.set({ pool }, use.waiting));
    },
  });
  new Gauge({
    name: 'gateway_db_pool_max_connections',
    help: 'The most connections each pool opens (DATABASE_POOL_SIZE, DATABASE_HOT_POOL_SIZE)',
    labelNames: ['pool'],
    aggregator: 'sum',
    registers: [registry],
    collect() {
      each((pool, use) => this.set({ pool }, use.max));
    },
  });
}
