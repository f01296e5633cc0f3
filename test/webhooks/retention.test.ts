// Retention (src/webhooks/retention.ts): events older than
// WEBHOOK_RETENTION_DAYS go, with their deliveries and attempts, unless a
// delivery of theirs is still pending (a failing endpoint keeps its events);
// newer events, and events not yet routed, stay.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type pg from 'pg';
import { newWebhookSecret } from '../../src/webhooks/signing.js';
import { pruneWebhooks } from '../../src/webhooks/retention.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import * as given from '../helpers/given.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';

let database: TestDatabase;
let db: Database;
let sql: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  db = createDatabaseClient(database.url, 2);
  sql = testPool(database.url, 2);
}, 60_000);

afterAll(async () => {
  await sql.end();
  await db.$disconnect();
  await database.drop();
});

/** An event `daysAgo` old, routed to `endpointId` with one attempt, its delivery in `status` (or not routed). */
async function event(
  serviceId: number,
  endpointId: number,
  daysAgo: number,
  status: 'DELIVERED' | 'PENDING' | 'unrouted',
): Promise<string> {
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO webhook_events (type, service_id, case_id, occurred_at, data, dispatched_at)
     VALUES ('case.enqueued', $1, 1, now() - make_interval(days => $2), '{}',
             CASE WHEN $3 <> 'unrouted' THEN now() - make_interval(days => $2) END)
     RETURNING id::text`,
    [serviceId, daysAgo, status],
  );
  const id = rows[0]?.id ?? '';
  if (status !== 'unrouted') {
    const delivery = await sql.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, lane, status, attempts)
       VALUES ($1, $2, 1, $3::webhook_delivery_status, 1) RETURNING id::text`,
      [endpointId, id, status],
    );
    await sql.query(
      `INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempt, at, outcome, response_status, latency_ms)
       VALUES ($1, $2, $3, 1, now(), 'DELIVERED', 204, 3)`,
      [delivery.rows[0]?.id, endpointId, id],
    );
  }
  return id;
}

describe('webhook retention', () => {
  it('deletes expired events with their deliveries and attempts, and keeps pending, unrouted and newer ones', async () => {
    const service = await given.service(db);
    const { rows } = await sql.query<{ id: number }>(
      `INSERT INTO webhook_endpoints (url, events, service_ids, secret, created_by)
       VALUES ('http://127.0.0.1:9/hook', '{case.enqueued}', '{}', $1, 'test') RETURNING id`,
      [newWebhookSecret()],
    );
    const endpointId = rows[0]?.id ?? 0;
    const expired = await event(service.id, endpointId, 40, 'DELIVERED');
    const pending = await event(service.id, endpointId, 40, 'PENDING');
    const unrouted = await event(service.id, endpointId, 40, 'unrouted');
    const recent = await event(service.id, endpointId, 10, 'DELIVERED');
    const client = await sql.connect();
    try {
      expect(await pruneWebhooks(client, 30)).toBe(1);
      expect(await pruneWebhooks(client, 30)).toBe(0);
    } finally {
      client.release();
    }
    const left = await sql.query<{ id: string }>('SELECT id::text FROM webhook_events ORDER BY id');
    expect(left.rows.map((row) => row.id)).toEqual([pending, unrouted, recent]);
    const deliveries = await sql.query<{ event_id: string }>(
      'SELECT event_id::text FROM webhook_deliveries ORDER BY event_id',
    );
    expect(deliveries.rows.map((row) => row.event_id)).toEqual([pending, recent]);
    const attempts = await sql.query<{ event_id: string }>(
      'SELECT event_id::text FROM webhook_attempts ORDER BY event_id',
    );
    expect(attempts.rows.map((row) => row.event_id)).toEqual([pending, recent]);
    expect(expired).not.toBe('');
  });
});
