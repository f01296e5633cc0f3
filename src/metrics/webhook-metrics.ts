// Webhook delivery per endpoint. Attempts are counted where they are made
// (each delivering process counts its own; Prometheus sums the processes),
// so the counters only ever grow, whatever retention prunes. What waits is
// read from the database when scraped, so every gateway shows the same: the
// deliveries not yet attempted, those waiting for a retry, how old the oldest
// undelivered event is, and whether the endpoint is failing. A scrape waits
// for that read at most `timeoutMs`, and at most one is in flight.
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Database } from '../db/prisma-client.js';
import { singleFlight, within } from '../deadline.js';
import type { AttemptOutcome } from '../webhooks/outbound-http.js';

/** Told of each attempt this process makes: its endpoint and how it ended. */
export type WebhookAttemptObserver = (endpointId: number, outcome: AttemptOutcome) => void;

const row = z.object({
  endpointId: z.number().int(),
  pending: z.number().int(),
  retrying: z.number().int(),
  oldestSeconds: z.number(),
  failing: z.boolean(),
});
type EndpointBacklog = z.infer<typeof row>;

/** Every endpoint that is not disabled, with its backlog (0 when none), by the database's clock. */
export async function readWebhookBacklog(db: Database): Promise<EndpointBacklog[]> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT p.id AS "endpointId",
           count(d.id) FILTER (WHERE d.attempts = 0)::int AS pending,
           count(d.id) FILTER (WHERE d.attempts > 0)::int AS retrying,
           coalesce(extract(epoch FROM statement_timestamp() - min(e.occurred_at)), 0)::float8 AS "oldestSeconds",
           p.status = 'FAILING' AS failing
      FROM webhook_endpoints p
      LEFT JOIN webhook_deliveries d ON d.endpoint_id = p.id AND d.status = 'PENDING'
      LEFT JOIN webhook_events e ON e.id = d.event_id
     WHERE p.status <> 'DISABLED'
     GROUP BY p.id`;
  return z.array(row).parse(rows);
}

/** Registers the webhook metrics; returns the observer the delivery runner reports its attempts to. */
export function webhookMetrics(registry: Registry, db: Database, timeoutMs: number): WebhookAttemptObserver {
  const attempts = new Counter({
    name: 'gateway_webhook_attempts_total',
    help: 'Webhook attempts this process made, per endpoint and outcome (DELIVERED, or why not: HTTP_ERROR, TIMEOUT, REDIRECT_REFUSED, ADDRESS_REFUSED, NETWORK_ERROR)',
    labelNames: ['endpoint_id', 'outcome'] as const,
    aggregator: 'sum',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'gateway_webhook_backlog_read_failures_total',
    help: 'Scrapes whose read of the webhook backlog failed or took too long (its gauges were then left empty)',
    aggregator: 'sum',
    registers: [registry],
  });
  const read = singleFlight(() => readWebhookBacklog(db));
  const refresh = singleFlight(async () => {
    const reading = read();
    const answered = await within(reading, timeoutMs);
    for (const gauge of gauges) gauge.reset();
    if (!answered) {
      failures.inc();
      return;
    }
    for (const endpoint of await reading) {
      const labels = { endpoint_id: String(endpoint.endpointId) };
      pending.set(labels, endpoint.pending);
      retrying.set(labels, endpoint.retrying);
      oldest.set(labels, endpoint.oldestSeconds);
      failing.set(labels, endpoint.failing ? 1 : 0);
    }
  });
  // Each process reads the same database: one value, never their sum.
  const gauge = (name: string, help: string) =>
    new Gauge({
      name,
      help,
      labelNames: ['endpoint_id'] as const,
      aggregator: 'max',
      registers: [registry],
      collect: refresh,
    });
  const pending = gauge(
    'gateway_webhook_deliveries_pending',
    'Deliveries of each endpoint not attempted yet, read when scraped',
  );
  const retrying = gauge(
    'gateway_webhook_deliveries_retrying',
    'Deliveries of each endpoint whose attempts failed and that wait for a retry, read when scraped',
  );
  const oldest = gauge(
    'gateway_webhook_oldest_undelivered_seconds',
    'How long ago the oldest event not yet delivered to each endpoint happened (0 when none waits), read when scraped',
  );
  const failing = gauge(
    'gateway_webhook_endpoint_failing',
    '1 while an endpoint is FAILING (its deliveries kept failing; nothing is sent until it is enabled), else 0',
  );
  const gauges = [pending, retrying, oldest, failing];
  return (endpointId, outcome) => attempts.inc({ endpoint_id: String(endpointId), outcome });
}
