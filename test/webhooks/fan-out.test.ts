// Routing the outbox to endpoints (src/webhooks/fan-out.ts): events in the
// order they were written; a case.approaching that commits only after a
// later event of its case (its call) was routed is not sent, or it would
// arrive after the call. It is written by another case's change, which holds
// no lock on this case, so it can commit that late; and that change may not
// see a concurrent hand-out of the case, so it can be written after the call
// (the case.called just before it, since its place, tells).
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type pg from 'pg';
import { installJobQueue } from '../../src/db/job-queue.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { silentLogger } from '../../src/log.js';
import { fanOut } from '../../src/webhooks/fan-out.js';
import { newWebhookSecret } from '../../src/webhooks/signing.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import * as given from '../helpers/given.js';

let database: TestDatabase;
let db: Database;
let sql: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  await installJobQueue(database.url, silentLogger);
  db = createDatabaseClient(database.url, 2);
  sql = testPool(database.url, 6);
}, 60_000);

afterAll(async () => {
  await sql.end();
  await db.$disconnect();
  await database.drop();
});

beforeEach(async () => {
  await sql.query('DELETE FROM webhook_endpoints');
  await sql.query('DELETE FROM webhook_events');
});

async function endpoint(): Promise<number> {
  const { rows } = await sql.query<{ id: number }>(
    `INSERT INTO webhook_endpoints (url, events, service_ids, secret, created_by)
     VALUES ('http://127.0.0.1:9/hook', '{case.called,case.approaching}', '{}', $1, 'test') RETURNING id`,
    [newWebhookSecret()],
  );
  return rows[0]?.id ?? 0;
}

/**
 * Writes one event of `caseId` on `client` (in whatever transaction it has
 * open), now, with the case placed in its queue `placedAgo` ago; its id.
 */
async function writeEvent(
  client: pg.PoolClient,
  type: string,
  serviceId: number,
  caseId: number,
  placedAgo = '1 minute',
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO webhook_events (type, service_id, case_id, threshold, occurred_at, status, queued_at)
     VALUES ($1::webhook_event_type, $2, $3, CASE WHEN $1 = 'case.approaching' THEN 2 END, clock_timestamp(),
             CASE WHEN $1 IN ('case.approaching', 'case.returned') THEN 'WAITING' ELSE 'IN_SERVICE' END::case_status,
             clock_timestamp() - $4::interval)
     RETURNING id::text`,
    [type, serviceId, caseId, placedAgo],
  );
  return rows[0]?.id ?? '';
}

async function routed(endpointId: number): Promise<string[]> {
  const { rows } = await sql.query<{ event_id: string }>(
    'SELECT event_id::text FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id',
    [endpointId],
  );
  return rows.map((row) => row.event_id);
}

async function route(): Promise<void> {
  const client = await sql.connect();
  try {
    await fanOut(client);
  } finally {
    client.release();
  }
}

describe('the fan-out', () => {
  it('routes the events committed, in the order they were written', async () => {
    const endpointId = await endpoint();
    const service = await given.service(db);
    const client = await sql.connect();
    try {
      const approaching = await writeEvent(client, 'case.approaching', service.id, 5);
      const called = await writeEvent(client, 'case.called', service.id, 5);
      await route();
      expect(await routed(endpointId)).toEqual([approaching, called]);
    } finally {
      client.release();
    }
  });

  it("drops a case.approaching that commits after its case's next event was routed", async () => {
    const endpointId = await endpoint();
    const service = await given.service(db);
    const earlier = await sql.connect();
    const later = await sql.connect();
    try {
      await earlier.query('BEGIN');
      const approaching = await writeEvent(earlier, 'case.approaching', service.id, 6);
      const called = await writeEvent(later, 'case.called', service.id, 6);
      expect(BigInt(called)).toBeGreaterThan(BigInt(approaching));
      // Another case's approach, committed with it, is not held back.
      const other = await writeEvent(earlier, 'case.approaching', service.id, 8);
      await route();
      expect(await routed(endpointId)).toEqual([called]);
      await earlier.query('COMMIT');
      await route();
      expect(await routed(endpointId)).toEqual([called, other]);
      const { rows } = await sql.query<{ undispatched: number }>(
        'SELECT count(*)::int AS undispatched FROM webhook_events WHERE dispatched_at IS NULL',
      );
      expect(rows[0]?.undispatched).toBe(0);
    } finally {
      await earlier.query('ROLLBACK').catch(() => undefined);
      earlier.release();
      later.release();
    }
  });
  it('drops a case.approaching written after a hand-out of its case that its statement did not see', async () => {
    const endpointId = await endpoint();
    const service = await given.service(db);
    const client = await sql.connect();
    try {
      // Case 9 waits since a minute ago; a hand-out calls it; a statement that
      // still saw it waiting then records it as approaching, at that place.
      const called = await writeEvent(client, 'case.called', service.id, 9);
      await writeEvent(client, 'case.approaching', service.id, 9);
      // Case 10 was called, then put back in the queue since (a return no
      // endpoint asked for, so not recorded): its approach is news.
      const calledAgain = await writeEvent(client, 'case.called', service.id, 10, '2 minutes');
      await sql.query(`SELECT pg_sleep(0.01)`);
      const approachingAfterReturn = await writeEvent(client, 'case.approaching', service.id, 10, '0 seconds');
      await route();
      expect(await routed(endpointId)).toEqual([called, calledAgain, approachingAfterReturn]);
    } finally {
      client.release();
    }
  });

  it('keeps a case.approaching after a recorded return, and records hand-outs for an endpoint that wants only approaches', async () => {
    const { rows } = await sql.query<{ id: number }>(
      `INSERT INTO webhook_endpoints (url, events, service_ids, secret, created_by)
       VALUES ('http://127.0.0.1:9/hook', '{case.approaching}', '{}', $1, 'test') RETURNING id`,
      [newWebhookSecret()],
    );
    const endpointId = rows[0]?.id ?? 0;
    const service = await given.service(db);
    const client = await sql.connect();
    try {
      // Put back at its first place (ORIGINAL): its place is older than the call.
      await writeEvent(client, 'case.called', service.id, 11, '5 minutes');
      await writeEvent(client, 'case.returned', service.id, 11, '5 minutes');
      const approaching = await writeEvent(client, 'case.approaching', service.id, 11, '5 minutes');
      await route();
      // Only what it wants is routed to it.
      expect(await routed(endpointId)).toEqual([approaching]);
    } finally {
      client.release();
    }
    const recorded = await sql.query<{ kinds: string[] }>(
      `SELECT array_agg(k ORDER BY k)::text[] AS kinds FROM unnest(webhook_recorded_kinds('{case.approaching}')) k`,
    );
    expect(recorded.rows[0]?.kinds).toEqual([
      'case.called',
      'case.returned',
      'case.completed',
      'case.cancelled',
      'case.approaching',
    ]);
  });
});
