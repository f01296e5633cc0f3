// The database hanging or going away: timeouts, the coded retryable error
// (DATABASE_UNAVAILABLE, 503, Retry-After), /health, bounded error messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { databaseUnavailable, refusedByDatabase } from '../../src/db/prisma-errors.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import * as given from '../helpers/given.js';
import { lockWaiters, whileHolding } from '../helpers/locks.js';

const ENQUEUE = 'mutation ($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId } }';
const HOLD_SERVICE = 'SELECT 1 FROM services WHERE id = $1 FOR NO KEY UPDATE';

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  readonly bytes: number;
}

async function post(url: string, query: string, variables: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: JSON.parse(text) as Answer['body'],
    bytes: text.length,
  };
}

/** The captured error of `run`, which must fail. */
async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

let database: TestDatabase;
let sql: pg.Pool;
let seed: Database;

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  sql = testPool(database.url, 4);
  seed = createDatabaseClient(database.url, 2);
});

afterAll(async () => {
  await seed.$disconnect();
  await sql.end();
  await database.drop();
});

/** A gateway on the test's database with its own settings. */
async function withGateway<T>(env: Record<string, string>, body: (gateway: Gateway) => Promise<T>): Promise<T> {
  const gateway = await startGateway(loadConfig({ DATABASE_URL: database.url, PORT: '0', ...env }), silentLogger);
  try {
    return await body(gateway);
  } finally {
    await gateway.stop();
  }
}

describe('database errors, classified from real failures', () => {
  const timeouts = { statementMs: 300, lockMs: 200, acquireMs: 300 };

  it('a statement timeout (57014) and a lock timeout (55P03) are unavailability, not refusals to retry alone', async () => {
    const db = createDatabaseClient(database.url, 2, { timeouts });
    try {
      const slow = await failure(() => db.$queryRaw`SELECT pg_sleep(5)::text`);
      expect(databaseUnavailable(slow)).toBe('statement timeout (57014)');
      expect(refusedByDatabase(slow)).toBe(false);
      const locked = await whileHolding(sql, 'SELECT pg_advisory_xact_lock(4242)', [], () =>
        failure(() => db.$queryRaw`SELECT pg_advisory_xact_lock(4242)::text`),
      );
      expect(databaseUnavailable(locked)).toBe('lock timeout (55P03)');
      expect(refusedByDatabase(locked)).toBe(false);
      // A rule the database enforces is still a refusal, and no unavailability.
      const broken = await failure(() => db.$queryRaw`SELECT 1 / 0`);
      expect(databaseUnavailable(broken)).toBeUndefined();
      expect(refusedByDatabase(broken)).toBe(true);
    } finally {
      await db.$disconnect();
    }
  });

  it('a full pool gives up after the acquire timeout; a closed port is refused', async () => {
    const db = createDatabaseClient(database.url, 1, { timeouts: { ...timeouts, statementMs: 2_000 } });
    try {
      // Prisma starts a query when it is awaited or then'd: this one takes the only connection.
      const sleeping = db.$queryRaw`SELECT pg_sleep(1)::text`.then(() => undefined);
      const queued = await failure(() => db.$queryRaw`SELECT 1`);
      expect(databaseUnavailable(queued)).toBe('pool acquire timeout');
      await sleeping;
    } finally {
      await db.$disconnect();
    }
    const url = new URL(database.url);
    url.port = '1';
    const nowhere = createDatabaseClient(url.toString(), 1, { timeouts });
    try {
      expect(databaseUnavailable(await failure(() => nowhere.$queryRaw`SELECT 1`))).toMatch(/ECONNREFUSED/);
    } finally {
      await nowhere.$disconnect();
    }
  });
});

describe('a database that does not answer in time, over HTTP', () => {
  it('answers DATABASE_UNAVAILABLE with 503 and Retry-After, once per batch, not once per request', async () => {
    const service = await given.service(seed);
    let waitStatements = 0;
    const config = loadConfig({
      DATABASE_URL: database.url,
      PORT: '0',
      DATABASE_LOCK_TIMEOUT_MS: '1000',
    });
    const gateway = await startGateway(config, silentLogger, {
      onQuery: ({ sql: text }) => {
        if (text.startsWith('/* hot: enqueue wait */')) waitStatements += 1;
      },
    });
    try {
      const requests = 8;
      const answers = await whileHolding(sql, HOLD_SERVICE, [service.id], async () => {
        const started = Date.now();
        const sent = Array.from({ length: requests }, (_, index) =>
          post(gateway.url, ENQUEUE, { input: { serviceId: service.id, subject: `held ${index}` } }),
        );
        const all = await Promise.all(sent);
        return { all, ms: Date.now() - started };
      });
      for (const answer of answers.all) {
        expect(answer.status).toBe(503);
        expect(answer.retryAfter).toMatch(/^\d+$/);
        expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('DATABASE_UNAVAILABLE');
        expect(answer.body.errors?.[0]?.message).not.toMatch(/lock|55P03|Prisma|SQL/);
      }
      // Batches fail whole: a lock timeout is not retried one request at a time.
      expect(waitStatements).toBeLessThan(requests);
      expect(answers.ms).toBeLessThan(requests * 1000);
    } finally {
      await gateway.stop();
    }
  });

  it('cancels a statement at the statement timeout when the lock timeout is longer', async () => {
    const service = await given.service(seed);
    await withGateway({ DATABASE_STATEMENT_TIMEOUT_MS: '300', DATABASE_LOCK_TIMEOUT_MS: '60000' }, async (gateway) => {
      const answer = await whileHolding(sql, HOLD_SERVICE, [service.id], () =>
        post(gateway.url, ENQUEUE, { input: { serviceId: service.id, subject: 'slow' } }),
      );
      expect(answer.status).toBe(503);
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    });
  });
});

describe('/health', () => {
  it('answers GET and HEAD, and 405 with Allow to anything else', async () => {
    await withGateway({}, async (gateway) => {
      const health = new URL('/health', gateway.url);
      expect((await fetch(health)).status).toBe(200);
      const head = await fetch(health, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const response = await fetch(health, { method, body: method === 'DELETE' ? null : '{}' });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
      }
    });
  });

  it('says 503 within its deadline while every pool connection is taken', async () => {
    const service = await given.service(seed);
    const env = { DATABASE_POOL_SIZE: '1', HEALTH_TIMEOUT_MS: '300', DATABASE_LOCK_TIMEOUT_MS: '60000' };
    await withGateway(env, async (gateway) => {
      const health = new URL('/health', gateway.url);
      await whileHolding(sql, HOLD_SERVICE, [service.id], async (release) => {
        // This enqueue waits for the held service on the pool's only connection.
        const held = post(gateway.url, ENQUEUE, { input: { serviceId: service.id, subject: 'holds the pool' } });
        await lockWaiters(sql, 1);
        const started = Date.now();
        const response = await fetch(health);
        const ms = Date.now() - started;
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(ms).toBeLessThan(300 + 2_000);
        await release();
        expect((await held).status).toBe(200);
      });
    });
  });
});

describe('error messages quote input only up to a bound', () => {
  it('a 900 KB string in an Int variable gives a small error', async () => {
    await withGateway({}, async (gateway) => {
      const answer = await post(gateway.url, 'query ($id: Int!) { service(id: $id) { name } }', {
        id: 'x'.repeat(900_000),
      });
      expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(answer.body.errors?.[0]?.message).toContain('…');
      expect(answer.bytes).toBeLessThan(2_000);
    });
  });
});
