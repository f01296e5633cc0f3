// GET /metrics over real HTTP: request durations by operation and outcome,
// enqueues and hand-outs (GraphQL and REST alike), the queue read from the
// database, the connection pools, Node's event-loop lag; the bearer token,
// closed without one once credentials are required, METRICS_ENABLED=false, and
// operation labels only for the names the project knows.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallNextDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import { knownOperations, OTHER_OPERATION } from '../../src/metrics/operation-labels.js';
import { operationNamesIn } from '../../src/metrics/operations-folder.js';
import { issueKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { parseExposition, samples, valueOf, type Sample } from '../helpers/prometheus-text.js';
import { STARVED_DEADLINE_MS, whilePoolTaken } from '../helpers/starved-pool.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

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
async function graphql(name: string, query: string, gateway: TestGateway = t): Promise<number> {
  const response = await fetch(gateway.gateway.url, {
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

  it('labels only the operation names of operations/, the rest "other", and never writes another name', async () => {
    const before = await scrape();
    const personal = 'Jane_Doe_SSN_123456789';
    // Well-formed names the project does not know, and one too long for a label.
    for (const name of [personal, 'Bound_1', `L${'o'.repeat(64)}ng`])
      expect(await graphql(name, `query ${name} { __typename }`)).toBe(200);
    // A name of operations/ keeps its label, whatever the document it names.
    expect(await graphql('Services', 'query Services { __typename }')).toBe(200);
    const response = await fetch(metricsUrl(t));
    const text = await response.text();
    const after = parseExposition(text);

    expect(text).not.toContain('Jane_Doe');
    expect(text).not.toContain('Bound_1');
    const delta = (operation: string) =>
      valueOf(after, DURATION_COUNT, { route: '/graphql', operation, outcome: 'OK' }) -
      valueOf(before, DURATION_COUNT, { route: '/graphql', operation, outcome: 'OK' });
    expect(delta(OTHER_OPERATION)).toBe(3);
    expect(delta('Services')).toBe(1);
    // Every label is one the project chose.
    const allowed = new Set(['', 'anonymous', OTHER_OPERATION, ...operationNamesIn()]);
    const labels = samples(after, DURATION_COUNT).map((sample) => sample.labels['operation'] ?? '');
    expect(labels.filter((operation) => !allowed.has(operation))).toEqual([]);
  });

  it('the rule: known names and anonymous kept, null (no GraphQL operation) kept, any other name "other"', () => {
    const label = knownOperations(['EnqueueCase', 'KioskPing']);
    expect([null, 'anonymous', 'EnqueueCase', 'KioskPing', 'enqueueCase', 'Jane_Doe', 'other', ''].map(label)).toEqual([
      null,
      'anonymous',
      'EnqueueCase',
      'KioskPing',
      'other',
      'other',
      'other',
      'other',
    ]);
  });

  it('reads the names of the operations in operations/ (not its fragments); a broken file stops the start', () => {
    const names = operationNamesIn();
    expect(names).toEqual(expect.arrayContaining(['EnqueueCase', 'CallNext', 'FollowCase', 'Services']));
    expect(names).not.toContain('CaseDetail');

    const dir = mkdtempSync(join(tmpdir(), 'operations-'));
    try {
      mkdirSync(join(dir, 'nested'));
      writeFileSync(join(dir, 'nested', 'a.graphql'), 'query Deep { __typename } fragment F on Query { __typename }');
      writeFileSync(join(dir, 'b.graphql'), 'mutation Top { __typename } { __typename }');
      writeFileSync(join(dir, 'notes.txt'), 'query NotRead { __typename }');
      expect(operationNamesIn(dir)).toEqual(['Deep', 'Top']);
      expect(operationNamesIn(join(dir, 'missing'))).toEqual([]);
      writeFileSync(join(dir, 'broken.graphql'), 'query Broken {');
      expect(() => operationNamesIn(dir)).toThrow(/broken\.graphql: not a GraphQL document/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('/metrics when the pool is taken', () => {
  it('scrapes within the deadline, with one read of each kind in flight however many scrapes, and counts the failures', async () => {
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
        // The first scrape's reads (the queue's, the webhook backlog's) still wait for the connection;
        // later scrapes share them.
        expect(valueOf(last, 'gateway_db_pool_waiting_requests', { pool: 'main' })).toBe(2);
        expect(samples(last, 'gateway_queue_waiting_cases')).toEqual([]);
        expect(samples(last, 'gateway_webhook_deliveries_pending')).toEqual([]);
        // A scrape shows the failures of the ones before it.
        expect(valueOf(last, 'gateway_queue_state_read_failures_total')).toBe(2);
        expect(valueOf(last, 'gateway_webhook_backlog_read_failures_total')).toBe(2);
      },
      async (starved, serviceId) => {
        const recovered = await scrape(starved);
        expect(valueOf(recovered, 'gateway_queue_waiting_cases', { service_id: String(serviceId) })).toBe(1);
      },
    );
  });
});

describe('/metrics settings', () => {
  it('wants the bearer token when METRICS_TOKEN is set, and labels the names of METRICS_OPERATION_NAMES', async () => {
    const guarded = await startTestGateway({}, { METRICS_TOKEN: TOKEN, METRICS_OPERATION_NAMES: 'KioskPing' });
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
      expect(await graphql('KioskPing', 'query KioskPing { __typename }', guarded)).toBe(200);
      const scraped = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      const labels = { route: '/graphql', operation: 'KioskPing', outcome: 'OK' };
      expect(valueOf(parseExposition(await scraped.text()), DURATION_COUNT, labels)).toBe(1);
    } finally {
      await guarded.stop();
    }
  });

  it('without METRICS_TOKEN: answers while the gateway is open, 401 naming METRICS_TOKEN once an API key exists', async () => {
    // Open because nothing is configured (auto, on loopback): the first key closes it at run time.
    const auto = await startTestGateway({}, { AUTH_MODE: 'auto', AUTH_KEY_CACHE_MS: '0' });
    try {
      const url = metricsUrl(auto);
      expect((await fetch(url)).status).toBe(200);
      const admin = await issueKey(auto.db, 'ADMIN');
      // Noticed within a second (the open gateway's recheck); nothing but scrapes is sent meanwhile.
      await expect.poll(async () => (await fetch(url)).status, { timeout: 5_000, interval: 200 }).toBe(401);
      // No credential of the API opens it, an ADMIN's included: only METRICS_TOKEN would.
      for (const authorization of [undefined, admin.authorization]) {
        const response = await fetch(url, { headers: authorization === undefined ? {} : { authorization } });
        expect(response.status, authorization).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
        const body: unknown = await response.json();
        // The coded refusal, naming the setting, and nothing of the metrics or the configuration.
        expect(body).toEqual({
          errors: [
            {
              message: 'Metrics want the header "Authorization: Bearer <METRICS_TOKEN>"',
              extensions: { code: 'UNAUTHENTICATED' },
            },
          ],
        });
      }
    } finally {
      await auto.stop();
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
