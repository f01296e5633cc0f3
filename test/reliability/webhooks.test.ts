// Webhooks through crashes (issue 20): two gateway processes deliver from one
// database to a receiver on loopback that fails about a third of the attempts
// (500s, and requests it never answers, which time out), while cases are
// enqueued, called and completed through both and some changes are rolled
// back. Then both processes are killed with SIGKILL while a delivery is in
// flight and started again, and PostgreSQL is stopped and started again under
// load. In the end: every committed change was delivered, nothing else,
// every request's signature verifies with the standardwebhooks package, a
// case's events arrived in the order they happened, and a repeat (at most
// the attempts cut off by the kills, and the retries) carries the same
// webhook-id.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/db/embedded-postgres.js';
import { startGatewayProcess, stopAllGatewayProcesses, type GatewayProcess } from './helpers/gateway-process.js';
import { WebhookReceiver, type ReceiverAnswer } from '../helpers/webhook-receiver.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Answers 500 to 3 requests in 10 and never answers 1 in 10. */
const flaky = (index: number): ReceiverAnswer => {
  const turn = index % 10;
  return turn === 9 ? 'hang' : turn === 1 || turn === 4 || turn === 7 ? 500 : 204;
};

let folder: string;
let server: RunningPostgres;
let sql: pg.Pool;
let receiver: WebhookReceiver;
let hookUrl: string;
let env: Record<string, string>;
const gateways: GatewayProcess[] = [];
const { embedded } = loadConfig({});

const startServer = (port?: number) =>
  startEmbeddedPostgres({ dataDir: join(folder, 'data'), port, osUser: embedded.osUser, stageDir: embedded.stageDir });

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'fifo-webhooks-pg-'));
  await chmod(folder, 0o755);
  server = await startServer();
  sql = new pg.Pool({ connectionString: server.url, max: 2 });
  sql.on('error', () => undefined);
  receiver = new WebhookReceiver();
  receiver.policy = flaky;
  hookUrl = await receiver.listen();
  env = {
    DATABASE_URL: server.url,
    AUTH_MODE: 'open',
    WEBHOOK_DELIVERY: 'on',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '500',
    WEBHOOK_POLL_MS: '50',
  };
}, 120_000);

afterAll(async () => {
  receiver.release();
  await stopAllGatewayProcesses();
  await receiver.close();
  await sql.end().catch(() => undefined);
  await server.stop().catch(() => undefined);
  await rm(folder, { recursive: true, force: true });
});

async function graphql<T>(url: string, query: string, variables: unknown = {}): Promise<T | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await response.json()) as { data?: T | null };
    return body.data ?? undefined;
  } catch {
    // Killed or restarting: the load goes on against whoever answers.
    return undefined;
  }
}

const ENQUEUE = 'mutation ($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId } }';
const CALL_NEXT = 'mutation ($input: CallNextInput!) { callNext(input: $input) { id } }';
const COMPLETE = 'mutation ($input: CompleteCaseInput!) { completeCase(input: $input) { id } }';

/** Enqueues and hand-outs through every gateway for `ms`. */
async function load(serviceId: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  const urls = () => gateways.map((gateway) => gateway.url);
  const enqueuer = async (k: number) => {
    for (let n = 0; Date.now() < until; n++) {
      const url = urls()[(k + n) % urls().length] ?? '';
      await graphql(url, ENQUEUE, {
        input: { serviceId, subject: `load ${k}.${n}`, idempotencyKey: `w-${k}-${n}-${Date.now()}` },
      });
    }
  };
  const agent = async (k: number) => {
    for (let n = 0; Date.now() < until; n++) {
      const url = urls()[(k + n) % urls().length] ?? '';
      const called = await graphql<{ callNext: { id: number } | null }>(url, CALL_NEXT, {
        input: { serviceIds: [serviceId], agent: `desk-${k}` },
      });
      if (called?.callNext) await graphql(url, COMPLETE, { input: { caseId: called.callNext.id, agent: `desk-${k}` } });
      else await sleep(50);
    }
  };
  await Promise.all([...[0, 1, 2, 3, 4, 5].map(enqueuer), ...[0, 1].map(agent)]);
}

describe('webhooks through crashes', () => {
  it('delivers every committed change, and only those, through SIGKILLs and a PostgreSQL restart', async () => {
    gateways.push(await startGatewayProcess(env), await startGatewayProcess(env));
    const [first] = gateways;
    const created = await graphql<{ createWebhookEndpoint: { secret: string } }>(
      first?.url ?? '',
      `
        mutation ($input: CreateWebhookEndpointInput!) {
          createWebhookEndpoint(input: $input) {
            secret
          }
        }
      `,
      {
        input: {
          url: hookUrl,
          events: ['CASE_ENQUEUED', 'CASE_CALLED', 'CASE_COMPLETED', 'CASE_CANCELLED', 'CASE_APPROACHING'],
        },
      },
    );
    const secret = created?.createWebhookEndpoint.secret ?? '';
    expect(secret).toMatch(/^whsec_/);
    const service = await graphql<{ createService: { id: number } }>(
      first?.url ?? '',
      'mutation { createService(input: { name: "Webhooks under fire" }) { id } }',
    );
    const serviceId = service?.createService.id ?? 0;

    await load(serviceId, 3_000);
    // A change rolled back: it must never be sent.
    const client = await sql.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE cases SET status = 'CANCELLED', closed_at = now(), last_action = 'CANCEL' WHERE status = 'WAITING'`,
      );
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }

    // Both processes killed while a delivery is in flight, then started again.
    receiver.holding = true;
    const heldAt = receiver.received.length;
    const loading = load(serviceId, 1_500);
    const deadline = Date.now() + 20_000;
    while (receiver.received.length === heldAt && Date.now() < deadline) await sleep(10);
    expect(receiver.received.length).toBeGreaterThan(heldAt);
    for (const gateway of gateways.splice(0)) gateway.kill('SIGKILL');
    await loading;
    receiver.release();
    gateways.push(await startGatewayProcess(env), await startGatewayProcess(env));
    await load(serviceId, 2_000);

    // PostgreSQL stopped and started again on the same data and port, under load.
    const loadingThroughRestart = load(serviceId, 4_000);
    await sleep(1_000);
    await server.stop();
    await sleep(1_000);
    server = await startServer(server.port);
    await loadingThroughRestart;

    // Every committed event, once it has all been recorded, but a case.approaching routed after a later
    // event of its case (fan-out.ts drops it: it would arrive after the call); the endpoint wants every event.
    const recorded = async () =>
      (
        await sql.query<{ id: string; case_id: number | null; type: string; dropped: boolean }>(
          `SELECT e.id::text, e.case_id, e.type::text,
                  e.dispatched_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
                    AS dropped
             FROM webhook_events e ORDER BY e.id`,
        )
      ).rows;
    const committed = async () => (await recorded()).filter((event) => !event.dropped);
    const waitUntil = Date.now() + 90_000;
    let events = await committed();
    while (receiver.delivered().length < events.length && Date.now() < waitUntil) {
      await sleep(200);
      events = await committed();
    }
    const delivered = receiver.delivered();
    if (delivered.length < events.length) {
      // What was left, for the failure's report.
      const left = await sql.query<{ status: string; lane: number; n: number; next: Date | null }>(
        `SELECT d.status::text, d.lane, count(*)::int AS n, min(d.next_attempt_at) AS next FROM webhook_deliveries d GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      const jobs = await sql.query(
        `SELECT task_identifier, locked_by IS NOT NULL AS locked, run_at < now() AS due, attempts, count(*)::int AS n,
                min(left(last_error, 80)) AS error FROM graphile_worker.jobs GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      );
      const backends = await sql.query(
        `SELECT application_name, state, left(query, 60) AS query, count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 12`,
      );
      console.log('backends', JSON.stringify(backends.rows));
      const undispatched = await sql.query(`SELECT count(*)::int AS n FROM webhook_events WHERE dispatched_at IS NULL`);
      console.log(
        'left',
        JSON.stringify(left.rows.filter((row) => row.status === 'PENDING').length),
        'jobs',
        JSON.stringify(jobs.rows),
        'undispatched',
        JSON.stringify(undispatched.rows),
      );
      for (const gateway of gateways)
        console.log(
          'GATEWAY',
          gateway.pid,
          await Promise.race([gateway.exited.then((exit) => JSON.stringify(exit)), sleep(100).then(() => 'running')]),
          gateway
            .output()
            .split('\n')
            .filter((line) => /job queue|webhooks:|pool/i.test(line) && !/outbox could not/.test(line))
            .slice(-12)
            .map((line) => line.slice(0, 260))
            .join(' | '),
        );
    }
    expect(events.length).toBeGreaterThan(50);
    const all = await recorded();
    const dropped = all.filter((event) => event.dropped);
    console.log(`[webhooks] ${all.length} events, ${dropped.length} late case.approaching not sent`);
    for (const event of dropped) {
      expect(event.type, `event ${event.id} was not sent`).toBe('case.approaching');
      expect(
        all.some((later) => later.case_id === event.case_id && BigInt(later.id) > BigInt(event.id)),
        `event ${event.id}: a later event of case ${event.case_id}`,
      ).toBe(true);
    }
    expect(delivered.map((entry) => String(entry.headers['webhook-id'])).sort()).toEqual(
      events.map((event) => `evt_${event.id}`).sort(),
    );
    // Per case, in the order the changes committed.
    const order = new Map(events.map((event, index) => [`evt_${event.id}`, index]));
    const byCase = new Map<number, number[]>();
    for (const entry of delivered) {
      const payload = JSON.parse(entry.body) as { data: { caseId?: number } };
      if (payload.data.caseId === undefined) continue;
      byCase.set(payload.data.caseId, [
        ...(byCase.get(payload.data.caseId) ?? []),
        order.get(String(entry.headers['webhook-id'])) ?? -1,
      ]);
    }
    const arrivals = (id: string) =>
      receiver.received
        .map((entry, index) => ({ entry, index }))
        .filter(({ entry }) => entry.headers['webhook-id'] === id)
        .map(({ entry, index }) => `#${index} ${String(entry.status)}`)
        .join(', ');
    for (const [caseId, positions] of byCase) {
      const described = positions.map((position) => {
        const event = events[position];
        return event ? `${event.id} ${event.type} (${arrivals(`evt_${event.id}`)})` : String(position);
      });
      const inOrder = positions.every((position, index) => index === 0 || position > (positions[index - 1] ?? -1));
      if (!inOrder) {
        // What the database says of that case's deliveries, for the failure's report.
        const deliveries = await sql.query(
          `SELECT d.id::text AS delivery, d.event_id::text AS event, e.type::text, d.lane, d.status::text, d.attempts,
                  e.dispatched_at, d.delivered_at,
                  (SELECT string_agg(a.attempt || ':' || a.outcome || '@' || to_char(a.at, 'HH24:MI:SS.MS'), ' ' ORDER BY a.id)
                     FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts_log
             FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
            WHERE e.case_id = $1 ORDER BY d.id`,
          [caseId],
        );
        console.log(`[webhooks] case ${caseId} out of order:`, JSON.stringify(deliveries.rows, null, 1));
      }
      expect(positions, `case ${caseId}: ${described.join('; ')}`).toEqual([...positions].sort((a, b) => a - b));
    }
    // Every request verifies; repeats (retries, and attempts cut off by the kills) share their event's id.
    expect(receiver.unverified(secret)).toEqual([]);
    expect(receiver.received.length).toBeGreaterThan(delivered.length);
    console.log(
      `webhooks: ${events.length} events, ${receiver.received.length} requests ` +
        `(${receiver.received.filter((entry) => entry.status === 500).length} answered 500, ` +
        `${receiver.received.filter((entry) => entry.status === 'hung').length} never answered, ` +
        `${receiver.received.filter((entry) => entry.status === 'held').length} held through the kills)`,
    );
  }, 180_000);
});
