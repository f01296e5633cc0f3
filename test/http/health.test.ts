// The probes for orchestrators over real HTTP: /health/live answers while the
// process serves, whatever the database does; /health/ready only when the
// database answers in time and every migration in prisma/migrations is applied.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { STARVED_DEADLINE_MS, whilePoolTaken } from '../helpers/starved-pool.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

interface Probe {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
  readonly ms: number;
}

async function probe(gateway: TestGateway, path: string): Promise<Probe> {
  const started = Date.now();
  const response = await fetch(new URL(path, gateway.gateway.url), { signal: AbortSignal.timeout(10_000) });
  const body: unknown = await response.json();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body, ms: Date.now() - started };
}

/** The migration folders, newest last. */
async function migrationNames(): Promise<string[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Runs `body` with the newest migration's history row changed by `change` (a statement on that row, `$1` its name), then puts the row back. */
async function withNewestMigration(change: string, body: (newest: string) => Promise<void>): Promise<void> {
  const newest = (await migrationNames()).at(-1) ?? '';
  const { rows } = await t.sql.query<{ row: unknown }>(
    'SELECT to_jsonb(m) AS row FROM _prisma_migrations m WHERE migration_name = $1',
    [newest],
  );
  expect(rows).toHaveLength(1);
  await t.sql.query(change, [newest]);
  try {
    await body(newest);
  } finally {
    await t.sql.query('DELETE FROM _prisma_migrations WHERE migration_name = $1', [newest]);
    await t.sql.query(
      'INSERT INTO _prisma_migrations SELECT * FROM jsonb_populate_record(NULL::_prisma_migrations, $1::jsonb)',
      [JSON.stringify(rows[0]?.row)],
    );
  }
}

describe('/health/live', () => {
  it('answers 200 to GET and HEAD, 405 with Allow to anything else', async () => {
    expect(await probe(t, '/health/live')).toMatchObject({ status: 200, body: { status: 'live' } });
    const head = await fetch(new URL('/health/live', t.gateway.url), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const path of ['/health/live', '/health/ready']) {
      const response = await fetch(new URL(path, t.gateway.url), { method: 'POST', body: '{}' });
      expect(response.status, path).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });
});

describe('/health/ready', () => {
  it('answers 200 when the database answers and every migration is applied', async () => {
    expect(await probe(t, '/health/ready')).toMatchObject({ status: 200, retryAfter: null, body: { status: 'ready' } });
  });

  it('answers 503 naming the migration when the newest one is missing, and 200 once it is back', async () => {
    await withNewestMigration('DELETE FROM _prisma_migrations WHERE migration_name = $1', async (newest) => {
      const ready = await probe(t, '/health/ready');
      expect(ready).toMatchObject({
        status: 503,
        body: { status: 'unavailable', failed: 'migrations', missing: [newest] },
      });
      expect(ready.retryAfter).toMatch(/^\d+$/);
      // Liveness and the database-only /health do not look at migrations.
      expect((await probe(t, '/health/live')).status).toBe(200);
      expect((await probe(t, '/health')).status).toBe(200);
    });
    expect((await probe(t, '/health/ready')).status).toBe(200);
  });

  it('counts a rolled-back migration as missing', async () => {
    await withNewestMigration(
      'UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1',
      async (newest) => {
        expect(await probe(t, '/health/ready')).toMatchObject({
          status: 503,
          body: { failed: 'migrations', missing: [newest] },
        });
      },
    );
    expect((await probe(t, '/health/ready')).status).toBe(200);
  });

  it('answers 503 within its deadline when the database does not answer, while live stays 200', async () => {
    // Every connection of the main pool is taken: the check cannot reach the database.
    await whilePoolTaken(
      async (starved) => {
        const ready = await probe(starved, '/health/ready');
        expect(ready).toMatchObject({ status: 503, body: { status: 'unavailable', failed: 'database' } });
        expect(ready.retryAfter).toMatch(/^\d+$/);
        expect(ready.ms).toBeLessThan(STARVED_DEADLINE_MS + 2_000);
        const live = await probe(starved, '/health/live');
        expect(live.status).toBe(200);
        expect(live.ms).toBeLessThan(STARVED_DEADLINE_MS);
      },
      async (starved) => {
        expect((await probe(starved, '/health/ready')).status).toBe(200);
      },
    );
  });
});
