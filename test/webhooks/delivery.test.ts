// Delivery end to end, in process: the queue's own writes record events
// (the outbox triggers), the runner fans them out and sends them to a
// receiver on loopback through graphile-worker, signed as Standard Webhooks
// says. Checked: every committed event arrives, nothing else, each signature
// verifies with the standardwebhooks package, a case's events arrive in the
// order they happened even when the receiver fails a third of the attempts,
// repeats carry the same webhook-id, personal fields go only where allowed,
// a receiver's Retry-After is waited out, and an endpoint that keeps failing
// is marked FAILING with its events kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { installJobQueue } from '../../src/db/job-queue.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createCaller } from '../../src/queue/call-next.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { cancelCase, completeCase, returnToQueue } from '../../src/queue/transitions.js';
import { newWebhookSecret } from '../../src/webhooks/signing.js';
import { startWebhookRunner, type WebhookRunner } from '../../src/webhooks/runner.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import * as given from '../helpers/given.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import type pg from 'pg';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}

let database: TestDatabase;
let db: Database;
let sql: pg.Pool;
let receiver: WebhookReceiver;
let url: string;
let runner: WebhookRunner | undefined;

const SETTINGS = {
  allowedHosts: ['127.0.0.1'],
  timeoutMs: 2_000,
  retryBaseMs: 40,
  retryMaxMs: 300,
  failAfterMs: 60_000,
  concurrency: 4,
  pollMs: 50,
  retentionDays: 30,
};

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  await installJobQueue(database.url, silentLogger);
  db = createDatabaseClient(database.url, 6);
  sql = testPool(database.url, 4);
  receiver = new WebhookReceiver();
  url = await receiver.listen();
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await receiver.close();
  await sql.end();
  await db.$disconnect();
  await database.drop();
});

async function endpoint(options: { personal?: boolean; url?: string } = {}): Promise<{ id: number; secret: string }> {
  const secret = newWebhookSecret();
  const { rows } = await sql.query<{ id: number }>(
    `INSERT INTO webhook_endpoints (url, events, service_ids, include_personal_data, personal_data_allowed, secret, created_by)
     VALUES ($1, '{case.enqueued,case.called,case.returned,case.completed,case.cancelled,case.approaching,service.updated}',
             '{}', $2, $2, $3, 'test') RETURNING id`,
    [options.url ?? url, options.personal ?? false, secret],
  );
  return { id: rows[0]?.id ?? 0, secret };
}

interface Payload {
  readonly type: string;
  readonly timestamp: string;
  readonly data: { readonly caseId?: number; readonly personal?: { readonly subject: string | null } };
}

describe('webhook delivery', () => {
  it('delivers every committed change, signed, in order per case, through failures and repeats', async () => {
    const { secret } = await endpoint();
    runner = await startWebhookRunner(database.url, SETTINGS, silentLogger);
    // A third of the attempts fail.
    receiver.policy = (request) => (request % 3 === 1 ? 500 : 204);
    const service = await given.service(db);
    const queue = createEnqueuer(db);
    const desk = createCaller(db);
    const cases = await Promise.all(
      Array.from({ length: 12 }, (_, k) =>
        queue.enqueue({ serviceId: service.id, subject: `person ${k}` }, OPEN_ACTOR),
      ),
    );
    for (const agent of ['desk-1', 'desk-2', 'desk-3'])
      await desk.callNext({ serviceIds: [service.id], agent }, OPEN_ACTOR);
    const [first, second, third] = [...cases].sort((a, b) => a.id - b.id);
    await completeCase(db, { caseId: first?.id ?? 0, agent: 'desk-1' }, OPEN_ACTOR);
    await returnToQueue(
      db,
      { caseId: second?.id ?? 0, agent: 'desk-2', placement: 'BACK', reason: 'away' },
      OPEN_ACTOR,
    );
    await cancelCase(db, { caseId: third?.id ?? 0, agent: 'desk-3', reason: 'left' }, OPEN_ACTOR);

    const { rows: events } = await sql.query<{ id: string; case_id: number | null; type: string }>(
      `SELECT id::text, case_id, type::text FROM webhook_events ORDER BY webhook_events.id`,
    );
    expect(events.length).toBeGreaterThan(12 + 3 + 3);
    await until(() => receiver.delivered().length >= events.length);
    await sleep(300);

    const delivered = receiver.delivered();
    // Every committed event once (first 2xx per id), nothing else.
    expect(delivered.map((entry) => entry.headers['webhook-id']).sort()).toEqual(
      events.map((event) => `evt_${event.id}`).sort(),
    );
    // Every request, failed or not, verifies with the receiver's library.
    expect(receiver.unverified(secret)).toEqual([]);
    // Some attempts failed and were sent again, with the same id.
    expect(receiver.received.length).toBeGreaterThan(delivered.length);
    // Per case, the order the events were recorded in.
    const byCase = new Map<number, string[]>();
    for (const entry of delivered) {
      const payload = JSON.parse(entry.body) as Payload;
      if (payload.data.caseId === undefined) continue;
      byCase.set(payload.data.caseId, [
        ...(byCase.get(payload.data.caseId) ?? []),
        String(entry.headers['webhook-id']),
      ]);
      // Nothing personal for an endpoint that did not ask.
      expect(payload.data.personal).toBeUndefined();
    }
    for (const [caseId, ids] of byCase)
      expect(ids, `case ${caseId}`).toEqual(
        events.filter((event) => event.case_id === caseId).map((event) => `evt_${event.id}`),
      );
    const { rows: log } = await sql.query<{ outcome: string; n: number }>(
      `SELECT outcome::text, count(*)::int AS n FROM webhook_attempts GROUP BY 1 ORDER BY 1`,
    );
    expect(log.map((row) => row.outcome)).toEqual(['DELIVERED', 'HTTP_ERROR']);
    await runner.stop();
    runner = undefined;
  }, 60_000);

  it('sends personal fields only to endpoints allowed them, and marks an endpoint that keeps failing', async () => {
    await sql.query('DELETE FROM webhook_endpoints');
    receiver.received.length = 0;
    receiver.policy = () => 204;
    const allowed = await endpoint({ personal: true });
    const dead = new WebhookReceiver();
    dead.policy = () => 503;
    const deadUrl = await dead.listen();
    const failing = await endpoint({ url: deadUrl });
    runner = await startWebhookRunner(database.url, { ...SETTINGS, failAfterMs: 400 }, silentLogger);
    const service = await given.service(db);
    const queue = createEnqueuer(db);
    const written = await queue.enqueue({ serviceId: service.id, subject: 'Ada Lovelace' }, OPEN_ACTOR);
    await until(() => receiver.delivered().some((entry) => entry.body.includes('case.enqueued')));
    const payload = JSON.parse(receiver.delivered()[0]?.body ?? '{}') as Payload;
    expect(payload.data.personal?.subject).toBe('Ada Lovelace');
    expect(payload.data.caseId).toBe(written.id);
    expect(allowed.id).not.toBe(failing.id);
    await until(async () => {
      const { rows } = await sql.query<{ status: string }>('SELECT status::text FROM webhook_endpoints WHERE id = $1', [
        failing.id,
      ]);
      return rows[0]?.status === 'FAILING';
    });
    // Its events are kept, undelivered.
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'PENDING'`,
      [failing.id],
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
    expect(dead.received.length).toBeGreaterThan(1);
    await runner.stop();
    runner = undefined;
    await dead.close();
  }, 60_000);

  it('marks an endpoint that answers 410 Gone failing at once, and keeps its events', async () => {
    await sql.query('DELETE FROM webhook_endpoints');
    const gone = new WebhookReceiver();
    gone.policy = () => 410;
    const goneUrl = await gone.listen();
    const endpointId = (await endpoint({ url: goneUrl })).id;
    // Failing only after a minute of failures otherwise: the 410 alone does it.
    runner = await startWebhookRunner(database.url, SETTINGS, silentLogger);
    const service = await given.service(db);
    await createEnqueuer(db).enqueue({ serviceId: service.id, subject: 'gone' }, OPEN_ACTOR);
    await until(async () => {
      const { rows } = await sql.query<{ status: string }>('SELECT status::text FROM webhook_endpoints WHERE id = $1', [
        endpointId,
      ]);
      return rows[0]?.status === 'FAILING';
    });
    expect(gone.received).toHaveLength(1);
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'PENDING'`,
      [endpointId],
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
    await runner.stop();
    runner = undefined;
    await gone.close();
  }, 60_000);
  it("waits out a 503's Retry-After before the next attempt, where the backoff alone would retry at once", async () => {
    await sql.query('DELETE FROM webhook_endpoints');
    const busy = new WebhookReceiver();
    busy.policy = (request) => (request === 0 ? { status: 503, headers: { 'retry-after': '2' } } : 204);
    const endpointId = (await endpoint({ url: await busy.listen() })).id;
    // The backoff's first wait is 20-40 ms here; the cap is far above the 2 s asked for.
    runner = await startWebhookRunner(database.url, { ...SETTINGS, retryMaxMs: 3_600_000 }, silentLogger);
    const service = await given.service(db);
    await createEnqueuer(db).enqueue({ serviceId: service.id, subject: 'busy' }, OPEN_ACTOR);
    // case.enqueued, then case.approaching (the case is first in its queue): the second waits behind the first.
    await until(() => busy.delivered().length === 2);
    const { rows } = await sql.query<{ attempt: number; outcome: string; response_status: number; after_ms: number }>(
      `SELECT attempt, outcome::text, response_status,
              (extract(epoch FROM at - lag(at) OVER (ORDER BY id)) * 1000)::float8 AS after_ms
         FROM webhook_attempts WHERE endpoint_id = $1 AND attempt > 0 ORDER BY id LIMIT 2`,
      [endpointId],
    );
    expect(rows.map((row) => [row.attempt, row.outcome, row.response_status])).toEqual([
      [1, 'HTTP_ERROR', 503],
      [2, 'DELIVERED', 204],
    ]);
    expect(rows[1]?.after_ms).toBeGreaterThanOrEqual(2_000);
    // The repeat under the same webhook-id, then the next event.
    const ids = busy.received.map((entry) => String(entry.headers['webhook-id']));
    expect(ids).toHaveLength(3);
    expect(new Set(ids.slice(0, 2)).size).toBe(1);
    expect(ids[2]).not.toBe(ids[0]);
    await runner.stop();
    runner = undefined;
    await busy.close();
  }, 60_000);
  it('ends a turn cleanly when its endpoint is deleted while an attempt is under way', async () => {
    await sql.query('DELETE FROM webhook_endpoints');
    const slow = new WebhookReceiver();
    slow.holding = true;
    const endpointId = (await endpoint({ url: await slow.listen() })).id;
    const written: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (line: string) => void written.push(line) } });
    runner = await startWebhookRunner(database.url, SETTINGS, log);
    const service = await given.service(db);
    await createEnqueuer(db).enqueue({ serviceId: service.id, subject: 'deleted' }, OPEN_ACTOR);
    await until(() => slow.received.length > 0);
    await sql.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
    slow.release();
    // The turn logs nothing for the deleted delivery and ends: its job is done, not failed.
    await until(async () => {
      const { rows } = await sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE key LIKE 'webhook:' || $1 || ':%'`,
        [endpointId],
      );
      return rows[0]?.n === 0;
    });
    const { rows } = await sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_attempts WHERE endpoint_id = $1',
      [endpointId],
    );
    expect(rows[0]?.n).toBe(0);
    // No turn failed (graphile-worker logs a failed job's error, and would run it again).
    expect(written.filter((line) => line.includes('"error"'))).toEqual([]);
    await runner.stop();
    runner = undefined;
    await slow.close();
  }, 60_000);
});
