// Enabling an endpoint and replaying its events wake its lanes in their own
// transaction: the lanes' jobs are queued to run now (a lane waiting for a
// retry an hour away included), instead of at the runner's next sweep. No
// runner runs here, so the jobs stay where the mutation put them. Without
// the job queue installed (no process delivers yet), both still work.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installJobQueue } from '../../src/db/job-queue.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { silentLogger } from '../../src/log.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createWebhookEndpointStore, type WebhookEndpointStore } from '../../src/queue/webhook-endpoints.js';
import { newWebhookSecret } from '../../src/webhooks/signing.js';
import { wakeEndpointLanes } from '../../src/webhooks/wake.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';

interface Side {
  readonly database: TestDatabase;
  readonly db: Database;
  readonly sql: pg.Pool;
  readonly store: WebhookEndpointStore;
}

const sides: Side[] = [];

async function side(jobQueue: boolean): Promise<Side> {
  const database = await createTestDatabase(inject('serverUrl'));
  if (jobQueue) await installJobQueue(database.url, silentLogger);
  const db = createDatabaseClient(database.url, 2);
  const store = createWebhookEndpointStore(db, {
    allowedHosts: ['127.0.0.1'],
    secretOverlapMs: 0,
    retentionDays: 30,
    onDeliveriesQueued: wakeEndpointLanes,
  });
  const made = { database, db, sql: testPool(database.url, 2), store };
  sides.push(made);
  return made;
}

let queued: Side;
let bare: Side;

beforeAll(async () => {
  [queued, bare] = await Promise.all([side(true), side(false)]);
}, 60_000);

afterAll(async () => {
  for (const { sql, db, database } of sides) {
    await sql.end();
    await db.$disconnect();
    await database.drop();
  }
});

let services = 0;

/** An endpoint of a service of its own with `status`, and events of cases 3 and 4 (lanes 3 and 4) routed to it an hour ago. */
async function endpointWithEvents(sql: pg.Pool, status: 'FAILING' | 'ENABLED', pending: boolean): Promise<number> {
  const serviceId = ++services;
  const { rows } = await sql.query<{ id: number }>(
    `INSERT INTO webhook_endpoints (url, events, service_ids, status, secret, created_by, created_at)
     VALUES ('http://127.0.0.1:9/hook', '{case.called}', ARRAY[$3::int], $1::webhook_endpoint_status, $2, 'test',
             now() - interval '2 hours')
     RETURNING id`,
    [status, newWebhookSecret(), serviceId],
  );
  const id = rows[0]?.id ?? 0;
  await sql.query(
    `WITH events AS (
       INSERT INTO webhook_events (type, service_id, case_id, occurred_at, dispatched_at)
       SELECT 'case.called', $3::int, c, now() - interval '1 hour', now() - interval '1 hour' FROM unnest('{3,4}'::int[]) c
       RETURNING id, case_id)
     INSERT INTO webhook_deliveries (endpoint_id, event_id, lane, status, attempts, next_attempt_at)
     SELECT $1, e.id, e.case_id, CASE WHEN $2 THEN 'PENDING' ELSE 'DELIVERED' END::webhook_delivery_status,
            1, CASE WHEN $2 THEN now() + interval '1 hour' END
       FROM events e`,
    [id, pending, serviceId],
  );
  return id;
}

/** The lane jobs of `endpointId`: key and whether it may run now. */
async function laneJobs(sql: pg.Pool, endpointId: number): Promise<[string, boolean][]> {
  const { rows } = await sql.query<{ key: string; due: boolean }>(
    `SELECT key, run_at <= now() + interval '5 seconds' AS due FROM graphile_worker.jobs
      WHERE key LIKE 'webhook:' || $1 || ':%' ORDER BY key`,
    [endpointId],
  );
  return rows.map((row) => [row.key, row.due]);
}

describe('waking lanes', () => {
  it('enabling queues every lane with deliveries to run now, also one whose job waits an hour for a retry', async () => {
    const { sql, store } = queued;
    const id = await endpointWithEvents(sql, 'FAILING', true);
    // Lane 3's job waits for its retry, as the lane's last turn left it; lane 4 has none.
    await sql.query(
      `SELECT graphile_worker.add_job('webhook_deliver', json_build_object('endpointId', $1::int, 'lane', 3),
                                      queue_name => 'webhook:' || $1 || ':3', job_key => 'webhook:' || $1 || ':3',
                                      run_at => now() + interval '1 hour')`,
      [id],
    );
    expect(await laneJobs(sql, id)).toEqual([[`webhook:${id}:3`, false]]);
    expect((await store.enable(id, OPEN_ACTOR)).status).toBe('ENABLED');
    expect(await laneJobs(sql, id)).toEqual([
      [`webhook:${id}:3`, true],
      [`webhook:${id}:4`, true],
    ]);
  });

  it('replaying queues the lanes of the deliveries it added', async () => {
    const { sql, store } = queued;
    const id = await endpointWithEvents(sql, 'ENABLED', false);
    expect(await laneJobs(sql, id)).toEqual([]);
    const result = await store.replay(id, new Date(Date.now() - 7_200_000), OPEN_ACTOR);
    expect(result.queued).toBe(2);
    expect(await laneJobs(sql, id)).toEqual([
      [`webhook:${id}:3`, true],
      [`webhook:${id}:4`, true],
    ]);
  });

  it('leaves the jobs to whoever installs the job queue, where nobody has yet', async () => {
    const { sql, store } = bare;
    const failing = await endpointWithEvents(sql, 'FAILING', true);
    expect((await store.enable(failing, OPEN_ACTOR)).status).toBe('ENABLED');
    const enabled = await endpointWithEvents(sql, 'ENABLED', false);
    expect((await store.replay(enabled, new Date(Date.now() - 7_200_000), OPEN_ACTOR)).queued).toBe(2);
    const { rows } = await sql.query<{ installed: boolean }>(
      `SELECT to_regnamespace('graphile_worker') IS NOT NULL AS installed`,
    );
    expect(rows[0]?.installed).toBe(false);
  });
});
