// How many cases wait in each service and for how long the oldest has
// waited: read from the database when scraped (so every gateway shows the
// same, whoever enqueued), in one statement: per service, the sum of its
// queue's blocks (src/queue/queue-positions.ts) and the head of its queue. A scrape waits for it
// at most `timeoutMs`, and at most one read is in flight: a hanging database
// cannot pile scrapes' statements up in the pool.
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { Prisma } from '../generated/prisma/client.js';
import { queueLengthSql } from '../queue/queue-positions.js';
import type { Database } from '../db/prisma-client.js';
import { singleFlight, within } from '../deadline.js';

const row = z.object({ serviceId: z.number().int(), waiting: z.number().int(), longestWaitSeconds: z.number() });
type QueueStateRow = z.infer<typeof row>;

/**
 * Every active service (with 0 when none waits, so an alert can see the
 * queue empty) and any inactive one that still has waiting cases. The wait
 * is measured by the database's clock, the one `queued_at` is written by.
 */
export async function readQueueState(db: Database): Promise<QueueStateRow[]> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT s.id AS "serviceId", w.waiting,
           coalesce(extract(epoch FROM statement_timestamp() - w.oldest), 0)::float8 AS "longestWaitSeconds"
      FROM services s
     CROSS JOIN LATERAL (
           SELECT ${queueLengthSql(Prisma.sql`s.id`)} AS waiting,
                  (SELECT c.queued_at FROM cases c WHERE c.service_id = s.id AND c.status = 'WAITING'
                    ORDER BY c.queued_at, c.queue_seq LIMIT 1) AS oldest
           ) w
     WHERE s.active OR w.waiting > 0`;
  return z.array(row).parse(rows);
}

export function queueState(registry: Registry, db: Database, timeoutMs: number): void {
  const labelNames = ['service_id'] as const;
  const failures = new Counter({
    name: 'gateway_queue_state_read_failures_total',
    help: 'Scrapes whose read of the waiting cases failed or took too long (the queue gauges were then left empty)',
    // With workers, every worker reads at each scrape: the failed reads of them all.
    aggregator: 'sum',
    registers: [registry],
  });
  const read = singleFlight(() => readQueueState(db));
  // One read per scrape, shared by both gauges (a scrape collects them at once).
  const refresh = singleFlight(async () => {
    const reading = read();
    const answered = await within(reading, timeoutMs);
    waiting.reset();
    longest.reset();
    if (!answered) {
      failures.inc();
      return;
    }
    for (const { serviceId, waiting: count, longestWaitSeconds } of await reading) {
      waiting.set({ service_id: String(serviceId) }, count);
      longest.set({ service_id: String(serviceId) }, longestWaitSeconds);
    }
  });
  const waiting = new Gauge({
    name: 'gateway_queue_waiting_cases',
    help: 'Cases waiting in each service (active services, and inactive ones with waiting cases), read when scraped',
    labelNames,
    // With workers, each reads the same database: one value, never their sum
    // (`max` over reads a moment apart; a worker whose read failed has none).
    aggregator: 'max',
    registers: [registry],
    collect: refresh,
  });
  const longest = new Gauge({
    name: 'gateway_queue_longest_wait_seconds',
    help: 'How long the oldest waiting case of each service has waited (0 when none waits), read when scraped',
    labelNames,
    aggregator: 'max',
    registers: [registry],
    collect: refresh,
  });
}
