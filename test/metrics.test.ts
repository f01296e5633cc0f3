// GET /metrics over real HTTP: request durations by operation and outcome,
// enqueues and hand-outs (GraphQL and REST alike), the queue read from the
// database, the connection pools, Node's event-loop lag; the bearer token,
// METRICS_ENABLED=false, and the bound on operation labels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallNextDocument, EnqueueCaseDocument } from '../src/generated/operations/graphql.js';
import { MAX_OPERATION_LABELS, operationLabels, OTHER_OPERATION } from '../src/metrics/operation-labels.js';
import * as given from './helpers/given.js';
import { expectData, expectError } from './helpers/graphql-client.js';
import { parseExposition, samples, valueOf, type Sample } from './helpers/prometheus-text.js';
import { STARVED_DEADLINE_MS, whilePoolTaken } from './helpers/starved-pool.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const DURATION_COUNT = 'gateway_http_request_duration_seconds_count';
const TOKEN = 'a-metrics-token-for-tests-0123';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

const metricsUrl = (gateway: TestGateway) => new URL('/metrics', gateway.gateway.url);

async function scrape(gateway: TestGateway = t): Promise<Sample[]> {
  const response = await fetch(metricsUrl(gateway));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await response.text());
}

/** A service's waiting cases and the oldest one's wait in seconds, by the test's own SQL. */
async function waitingBySql(serviceId: number): Promise<{ waiting: number; seconds: number }> {
  const { rows } = await t.sql.query<{ waiting: number; seconds: number }>(
    `SELECT count(*)::int AS waiting, extract(epoch FROM statement_timestamp() - min(queued_at))::float8 AS seconds
       FROM cases WHERE service_id = $1 AND status = 'WAITING'`,
    [serviceId],
  );
  const [row] = rows;
  if (!row) throw new Error('the count returned no row');
  return row;
}

/** Sends a GraphQL operation by name, as a client would. */
async function graphql(name: string, query: string): Promise<number> {
  const response = await fetch(t.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, operationName: name }),
  });
  await response.text();
  return response.status;
}

describe('/metrics', () => {
  it('counts requests by operation and outcome, enqueues from both edges, hand-outs, and shows the queue as SQL sees it', async () => {
    const service = await given.service(t.db);
    const empty = await given.service(t.db);
    const before = await scrape();

    for (const subject of ['first', 'second', 'third']) {
      expectData(await t.request(EnqueueCaseDocument, { input: { serviceId: service.id, subject } }));
    }
    for (const subject of ['fourth', 'fifth']) {
      const response = await fetch(new URL('/api/Cases', t.gateway.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ServiceId: service.id, Subject: subject }),
      });
      expect(response.status).toBe(200);
    }
    const { callNext } = expectData(
      await t.request(CallNextDocument, { input: { serviceIds: [service.id], agent: 'desk' } }),
    );
    expect(callNext?.subject).toBe('first');
    // A call that finds nothing hands nothing out.
    expect(
      expectData(await t.request(CallNextDocument, { input: { serviceIds: [empty.id], agent: 'desk' } })).callNext,
    ).toBeNull();
    const failed = await t.request(EnqueueCaseDocument, { input: { serviceId: 2_000_000_000, subject: 'nowhere' } });
    expect(expectError(failed).extensions.code).toBe('NOT_FOUND');

    const sqlBefore = await waitingBySql(service.id);
    const after = await scrape();
    const sqlAfter = await waitingBySql(service.id);

    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta(DURATION_COUNT, { route: '/graphql', operation: 'EnqueueCase', outcome: 'OK' })).toBe(3);
    expect(delta(DURATION_COUNT, { route: '/graphql', operation: 'EnqueueCase', outcome: 'NOT_FOUND' })).toBe(1);
    expect(delta(DURATION_COUNT, { route: '/graphql', operation: 'CallNext', outcome: 'OK' })).toBe(2);
    expect(delta(DURATION_COUNT, { route: '/api/Cases', operation: '', outcome: 'OK' })).toBe(2);
    // The scrape before counts itself once it is answered.
    expect(delta(DURATION_COUNT, { route: '/metrics', operation: '', outcome: 'OK' })).toBe(1);
    const buckets = samples(after, 'gateway_http_request_duration_seconds_bucket', {
      route: '/graphql',
      operation: 'EnqueueCase',
      outcome: 'OK',
    });
    expect(buckets.find((bucket) => bucket.labels['le'] === '+Inf')?.value).toBe(
      valueOf(after, DURATION_COUNT, { route: '/graphql', operation: 'EnqueueCase', outcome: 'OK' }),
    );

    expect(delta('gateway_cases_enqueued_total')).toBe(5);
    expect(delta('gateway_cases_handed_out_total', { via: 'callNext' })).toBe(1);

    expect(sqlBefore.waiting).toBe(4);
    expect(valueOf(after, 'gateway_queue_waiting_cases', { service_id: String(service.id) })).toBe(sqlBefore.waiting);
    // Read by the database's clock between the two SQL reads.
    const longest = valueOf(after, 'gateway_queue_longest_wait_seconds', { service_id: String(service.id) });
    expect(longest).toBeGreaterThanOrEqual(sqlBefore.seconds - 0.001);
    expect(longest).toBeLessThanOrEqual(sqlAfter.seconds + 0.001);
    // An active service with an empty queue shows 0, so an alert can tell empty from unknown.
    expect(samples(after, 'gateway_queue_waiting_cases', { service_id: String(empty.id) })).toHaveLength(1);
    expect(valueOf(after, 'gateway_queue_waiting_cases', { service_id: String(empty.id) })).toBe(0);
    expect(valueOf(after, 'gateway_queue_longest_wait_seconds', { service_id: String(empty.id) })).toBe(0);
  });

  it('shows both pools and the event-loop lag', async () => {
    const after = await scrape();
    expect(valueOf(after, 'gateway_db_pool_max_connections', { pool: 'main' })).toBe(20);
    expect(valueOf(after, 'gateway_db_pool_max_connections', { pool: 'hot' })).toBe(4);
    for (const pool of ['main', 'hot']) {
      const open =
        valueOf(after, 'gateway_db_pool_connections', { pool, state: 'in_use' }) +
        valueOf(after, 'gateway_db_pool_connections', { pool, state: 'idle' });
      expect(open, pool).toBeGreaterThanOrEqual(1);
      expect(samples(after, 'gateway_db_pool_waiting_requests', { pool })).toHaveLength(1);
    }
    expect(samples(after, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
    expect(valueOf(after, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    expect(await (await fetch(metricsUrl(t), { method: 'HEAD' })).text()).toBe('');
    const post = await fetch(metricsUrl(t), { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('labels at most the first 100 operation names, the rest "other"', async () => {
    const before = await scrape();
    const names = Array.from({ length: MAX_OPERATION_LABELS + 20 }, (_unused, index) => `Bound_${index}`);
    for (const name of names) expect(await graphql(name, `query ${name} { __typename }`)).toBe(200);
    const tooLong = `L${'o'.repeat(64)}ng`;
    expect(await graphql(tooLong, `query ${tooLong} { __typename }`)).toBe(200);
    const after = await scrape();

    const labelled = new Set(
      samples(after, DURATION_COUNT, { route: '/graphql' })
        .map((sample) => sample.labels['operation'])
        .filter((operation) => operation !== OTHER_OPERATION && operation !== ''),
    );
    expect(labelled.size).toBe(MAX_OPERATION_LABELS);
    const unlabelled = names.filter((name) => !labelled.has(name)).length + 1;
    const other = (samples: readonly Sample[]) =>
      valueOf(samples, DURATION_COUNT, { route: '/graphql', operation: OTHER_OPERATION, outcome: 'OK' });
    expect(other(after) - other(before)).toBe(unlabelled);
  });

  it('the bound: well-formed names in arrival order up to the limit, then the same names again', () => {
    const label = operationLabels(2);
    expect([null, 'A', 'bad-name', 'B', 'C', 'A', 'B'].map(label)).toEqual(['', 'A', 'other', 'B', 'other', 'A', 'B']);
  });
});

describe('/metrics when the pool is taken', () => {
  it('scrapes within the deadline, with one queue read in flight however many scrapes, and counts the failures', async () => {
    await whilePoolTaken(
      async (starved) => {
        const scrapes: Sample[][] = [];
        for (let scrapeNumber = 0; scrapeNumber < 3; scrapeNumber += 1) {
          const started = Date.now();
          scrapes.push(await scrape(starved));
          expect(Date.now() - started).toBeLessThan(STARVED_DEADLINE_MS + 2_000);
        }
        const last = scrapes.at(-1) ?? [];
        expect(valueOf(last, 'gateway_db_pool_connections', { pool: 'main', state: 'in_use' })).toBe(1);
        // The first scrape's read still waits for the connection; later scrapes share it.
        expect(valueOf(last, 'gateway_db_pool_waiting_requests', { pool: 'main' })).toBe(1);
        expect(samples(last, 'gateway_queue_waiting_cases')).toEqual([]);
        // A scrape shows the failures of the ones before it.
        expect(valueOf(last, 'gateway_queue_state_read_failures_total')).toBe(2);
      },
      async (starved, serviceId) => {
        const recovered = await scrape(starved);
        expect(valueOf(recovered, 'gateway_queue_waiting_cases', { service_id: String(serviceId) })).toBe(1);
      },
    );
  });
});

describe('/metrics settings', () => {
  it('wants the bearer token when METRICS_TOKEN is set', async () => {
    const guarded = await startTestGateway({}, { METRICS_TOKEN: TOKEN });
    try {
      const url = metricsUrl(guarded);
      for (const authorization of [
        undefined,
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(1)}`,
        TOKEN,
        `Basic ${TOKEN}`,
      ]) {
        const response = await fetch(url, { headers: authorization === undefined ? {} : { authorization } });
        expect(response.status, authorization).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
      }
      for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
        const response = await fetch(url, { headers: { authorization } });
        expect(response.status, authorization).toBe(200);
        expect(await response.text()).toContain('gateway_http_request_duration_seconds');
      }
    } finally {
      await guarded.stop();
    }
  });

  it('answers 404 when METRICS_ENABLED=false, and the gateway works as before', async () => {
    const off = await startTestGateway({}, { METRICS_ENABLED: 'false' });
    try {
      const response = await fetch(metricsUrl(off));
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
      const service = await given.service(off.db);
      expectData(await off.request(EnqueueCaseDocument, { input: { serviceId: service.id, subject: 'still works' } }));
    } finally {
      await off.stop();
    }
  });
});
