// GET /metrics with GATEWAY_WORKERS=2 answers for the whole gateway, whichever
// worker the scrape's connection reaches: the primary aggregates its workers'
// metrics (src/metrics/cluster-metrics.ts). Requests spread over both workers
// are counted once each on every scrape; a gauge read from the database is
// not doubled, a pool gauge is the sum of both workers' pools. When the
// primary, or a worker, does not answer, the scrape is 503, never one
// worker's numbers.
import { Agent, request as httpRequest } from 'node:http';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CreateServiceDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import { LIVE_PATH } from '../../src/http/health-probes.js';
import { expectData, graphqlClient } from '../helpers/graphql-client.js';
import { plainRequest, type PlainAnswer } from '../helpers/plain-http.js';
import { parseExposition, samples, valueOf } from '../helpers/prometheus-text.js';
import {
  embeddedDatabaseUrl,
  startGatewayGroup,
  stopAllGatewayProcesses,
  temporaryDataFolder,
  timeUntil,
  type GatewayGroup,
} from '../reliability/helpers/gateway-process.js';
import { logLines } from '../helpers/log-lines.js';

/** Enqueues sent, each over a connection of its own: cluster's round-robin spreads them over both workers. */
const ENQUEUES = 40;
const SCRAPES = 6;
const POOL_SIZE = 5;
const HOT_POOL_SIZE = 2;
/** Log lines are written in blocks, at least every 250 ms (src/log.ts). */
const LOGGED_WITHIN_MS = 2_000;

/**
 * The pids that answered requests on `route` in the output after its first
 * `from` characters, in order. (Counted in characters, not lines: a line
 * being written when `from` was taken is no line yet.)
 */
const answeredBy = (output: string, route: string, from: number): number[] =>
  logLines(output.slice(from))
    .filter((line) => line.msg === 'request' && line.route === route)
    .map((line) => line.pid);

/** GET `path` on one kept-alive connection (the agent's one socket), so every request reaches the same worker. */
function getOn(agent: Agent, port: number, path: string): Promise<PlainAnswer & { readonly reused: boolean }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path, agent, timeout: 20_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          reused: outgoing.reusedSocket,
        }),
      );
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer to GET ${path} within 20 s`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const errorAnswer = z.object({
  errors: z.array(z.object({ message: z.string(), extensions: z.object({ code: z.string() }) })).length(1),
});

describe('GATEWAY_WORKERS=2: /metrics for the whole gateway', () => {
  let folder: Awaited<ReturnType<typeof temporaryDataFolder>>;
  let gateway: GatewayGroup;
  let port: number;
  let sql: pg.Client | undefined;
  let workers: number[];

  beforeAll(async () => {
    folder = await temporaryDataFolder();
    gateway = await startGatewayGroup({
      GATEWAY_WORKERS: '2',
      EMBEDDED_PG_DATA_DIR: folder.dataDir,
      AUTH_MODE: 'open',
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      DATABASE_HOT_POOL_SIZE: String(HOT_POOL_SIZE),
      // The kept-alive connections below wait between requests for log lines.
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '30000',
    });
    port = Number(new URL(gateway.url).port);
    workers = logLines(gateway.output()).flatMap((line) =>
      /^worker \d+: started/.test(line.msg) && line.workerPid ? [line.workerPid] : [],
    );
    expect(workers).toHaveLength(2);
    const client = new pg.Client({ connectionString: await embeddedDatabaseUrl(gateway, folder.dataDir) });
    await client.connect();
    sql = client;
  }, 120_000);

  afterAll(async () => {
    await sql?.end();
    // A test that failed half-way may have left a process stopped.
    for (const pid of [gateway.pid, ...workers]) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // exited
      }
    }
    await stopAllGatewayProcesses();
    await folder.remove();
  });

  it('counts every request once on every scrape, whichever worker answers, and does not double the queue', async () => {
    const serviceId = expectData(
      await graphqlClient(gateway.url)(CreateServiceDocument, {
        input: { name: 'Workers metrics', extRef: 'WORKERS-METRICS', queueCode: 'M' },
      }),
    ).createService.id;
    const from = gateway.output().length;
    for (let n = 0; n < ENQUEUES; n++) {
      const answer = await plainRequest(port, '/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: print(EnqueueCaseDocument),
          operationName: 'EnqueueCase',
          variables: { input: { serviceId, subject: `metrics ${n}` } },
        }),
      });
      expect(answer.status, answer.body).toBe(200);
      expect(answer.body).toContain('"caseId"');
    }
    const { rows } = await sql!.query<{ waiting: number }>(
      "SELECT count(*)::int AS waiting FROM cases WHERE service_id = $1 AND status = 'WAITING'",
      [serviceId],
    );
    expect(rows[0]?.waiting).toBe(ENQUEUES);

    for (let scrape = 0; scrape < SCRAPES; scrape++) {
      // A connection of its own each: the scrapes reach both workers in turn.
      const answer = await plainRequest(port, '/metrics');
      expect(answer.status, answer.body).toBe(200);
      const all = parseExposition(answer.body);
      const enqueues = { route: '/graphql', operation: 'EnqueueCase', outcome: 'OK' };
      expect(valueOf(all, 'gateway_http_request_duration_seconds_count', enqueues), `scrape ${scrape}`).toBe(ENQUEUES);
      expect(valueOf(all, 'gateway_http_request_duration_seconds_bucket', { ...enqueues, le: '+Inf' })).toBe(ENQUEUES);
      expect(valueOf(all, 'gateway_cases_enqueued_total')).toBe(ENQUEUES);
      // Read from the one database by each worker: once, not twice.
      expect(valueOf(all, 'gateway_queue_waiting_cases', { service_id: String(serviceId) })).toBe(ENQUEUES);
      // Each worker has pools of its own: the gateway's are their sum.
      expect(valueOf(all, 'gateway_db_pool_max_connections', { pool: 'main' })).toBe(2 * POOL_SIZE);
      expect(valueOf(all, 'gateway_db_pool_max_connections', { pool: 'hot' })).toBe(2 * HOT_POOL_SIZE);
      // prom-client's own aggregators for Node's metrics: one version, no start time (a sum of two would mean nothing).
      expect(samples(all, 'nodejs_version_info')).toHaveLength(1);
      expect(samples(all, 'process_start_time_seconds')).toEqual([]);
    }

    // Both workers served enqueues, and both answered scrapes.
    expect(
      await timeUntil(() => answeredBy(gateway.output(), '/metrics', from).length === SCRAPES, LOGGED_WITHIN_MS),
    ).toBeDefined();
    expect(new Set(answeredBy(gateway.output(), '/graphql', from))).toEqual(new Set(workers));
    expect(new Set(answeredBy(gateway.output(), '/metrics', from))).toEqual(new Set(workers));
  }, 60_000);

  /**
   * A kept-alive connection to one worker, and that worker's pid: the one
   * that logged the connection's first request, on a route no other test
   * uses (a scrape's line from a test before may be written late).
   */
  async function connectionToAWorker(): Promise<{ agent: Agent; worker: number }> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const from = gateway.output().length;
    const first = await getOn(agent, port, LIVE_PATH);
    expect(first.status, first.body).toBe(200);
    expect(
      await timeUntil(() => answeredBy(gateway.output(), LIVE_PATH, from).length > 0, LOGGED_WITHIN_MS),
    ).toBeDefined();
    const answered = answeredBy(gateway.output(), LIVE_PATH, from);
    const [worker] = answered;
    expect(answered).toHaveLength(1);
    if (worker === undefined || !workers.includes(worker)) throw new Error(`no worker answered:\n${gateway.output()}`);
    return { agent, worker };
  }

  it('answers 503, not one worker’s numbers, while the primary does not answer', async () => {
    const { agent } = await connectionToAWorker();
    process.kill(gateway.pid, 'SIGSTOP');
    let answer;
    const asked = performance.now();
    try {
      answer = await getOn(agent, port, '/metrics');
    } finally {
      process.kill(gateway.pid, 'SIGCONT');
    }
    const waitedMs = performance.now() - asked;
    expect(answer.reused).toBe(true);
    expect(answer.status, answer.body).toBe(503);
    const [error] = errorAnswer.parse(JSON.parse(answer.body)).errors;
    expect(error?.extensions.code).toBe('METRICS_UNAVAILABLE');
    expect(error?.message).toMatch(/the primary process did not answer within \d+ ms/);
    expect(waitedMs).toBeLessThan(10_000);
    // The primary, running again, answers the next scrape (its late answer to the last one is ignored).
    const again = await getOn(agent, port, '/metrics');
    expect(again.reused).toBe(true);
    expect(again.status, again.body).toBe(200);
    agent.destroy();
  }, 60_000);

  it('answers 503 while a worker does not answer the primary, and 200 once it does again', async () => {
    const { agent, worker } = await connectionToAWorker();
    const stuck = workers.find((pid) => pid !== worker) ?? 0;
    const from = gateway.output().length;
    process.kill(stuck, 'SIGSTOP');
    let answer;
    try {
      answer = await getOn(agent, port, '/metrics');
    } finally {
      process.kill(stuck, 'SIGCONT');
    }
    expect(answer.reused).toBe(true);
    expect(answer.status, answer.body).toBe(503);
    const [error] = errorAnswer.parse(JSON.parse(answer.body)).errors;
    expect(error?.extensions.code).toBe('METRICS_UNAVAILABLE');
    expect(error?.message).toMatch(/not every worker answered within \d+ ms/);
    // The primary says so at `warn`; the stuck worker's late answer does not upset it.
    expect(
      await timeUntil(
        () =>
          logLines(gateway.output().slice(from)).some(
            (line) => line.pid === gateway.pid && line.msg.startsWith('metrics: /metrics answers 503'),
          ),
        LOGGED_WITHIN_MS,
      ),
    ).toBeDefined();
    const again = await getOn(agent, port, '/metrics');
    expect(again.status, again.body).toBe(200);
    expect(valueOf(parseExposition(again.body), 'gateway_cases_enqueued_total')).toBe(ENQUEUES);
    agent.destroy();
    expect(gateway.output()).not.toMatch(/"level":"error"/);
  }, 60_000);
});
