// PostgreSQL frozen (SIGSTOP) and restarted under 16 enqueuing clients: the
// gateway answers the coded retryable error within its timeouts, /health says
// 503, nothing acknowledged is lost, and it recovers soon after the database.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/db/embedded-postgres.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';

const TIMEOUTS = {
  DATABASE_STATEMENT_TIMEOUT_MS: '1000',
  DATABASE_LOCK_TIMEOUT_MS: '500',
  DATABASE_ACQUIRE_TIMEOUT_MS: '1000',
  HEALTH_TIMEOUT_MS: '500',
  DATABASE_OUTCOME_TIMEOUT_MS: '1000',
};
// The longest a request may take while the database hangs: waiting for a
// connection, then a statement cut by the client (statement timeout + 1 s),
// twice (a group-commit batch may wait for the one in flight); then, for a
// write whose commit was cut, looking for it (the outcome timeout, and the
// last look's own connection and statement); plus a margin for a loaded machine.
const REQUEST_BOUND_MS = 2 * (1000 + 2000) + (1000 + 1000 + 2000) + 3000;
const HEALTH_BOUND_MS = 500 + 1500;
const RECOVERY_MS = 5000;
const OUTAGE_MS = 6000;
const CLIENTS = 16;

interface Outcome {
  readonly status: number;
  readonly ms: number;
  readonly code: string | undefined;
  readonly retryAfter: string | null;
  readonly caseId: number | undefined;
}

const ENQUEUE = 'mutation ($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId } }';

async function post(url: string, query: string, variables: unknown): Promise<Outcome> {
  const started = Date.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as {
    data?: { enqueueCase?: { caseId?: number } } | null;
    errors?: { extensions?: { code?: string } }[];
  };
  return {
    status: response.status,
    ms: Date.now() - started,
    code: body.errors?.[0]?.extensions?.code,
    retryAfter: response.headers.get('retry-after'),
    caseId: body.data?.enqueueCase?.caseId,
  };
}

/** The postmaster and its children (backends, checkpointer, ...): all must stop for the server to hang. */
async function serverPids(dataDir: string): Promise<number[]> {
  const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === postmaster) children.push(Number(entry));
  }
  return [postmaster, ...children];
}

let folder: string;
let server: RunningPostgres;
let gateway: Gateway;
let sql: pg.Pool;
let serviceId: number;
const { embedded } = loadConfig({});

async function startServer(port?: number): Promise<RunningPostgres> {
  return startEmbeddedPostgres({
    dataDir: join(folder, 'data'),
    port,
    osUser: embedded.osUser,
    stageDir: embedded.stageDir,
  });
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'fifo-outage-pg-'));
  await chmod(folder, 0o755);
  server = await startServer();
  gateway = await startGateway(loadConfig({ DATABASE_URL: server.url, PORT: '0', ...TIMEOUTS }), silentLogger);
  sql = new pg.Pool({ connectionString: server.url, max: 2 });
  sql.on('error', () => undefined);
  const created = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation { createService(input: { name: "Outage" }) { id } }' }),
  });
  serviceId = Number(((await created.json()) as { data: { createService: { id: string } } }).data.createService.id);
});

afterAll(async () => {
  // Each step even when an earlier one (or beforeAll) failed.
  const quietly = (step: () => Promise<unknown>) =>
    Promise.resolve()
      .then(step)
      .catch(() => undefined);
  await quietly(() => sql.end());
  await quietly(() => gateway.stop());
  await quietly(() => server.stop());
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** 16 clients enqueuing until `stop()`; every outcome is kept with when it was sent. */
function load(): { stop: () => Promise<(Outcome & { at: number })[]> } {
  const outcomes: (Outcome & { at: number })[] = [];
  let running = true;
  const deadline = Date.now() + 60_000;
  const client = async (): Promise<void> => {
    for (let sent = 0; running && sent < 5_000 && Date.now() < deadline; sent += 1) {
      const at = Date.now();
      const outcome = await post(gateway.url, ENQUEUE, {
        input: { serviceId, subject: 'outage', idempotencyKey: randomUUID() },
      }).catch(() => ({ status: 0, ms: Date.now() - at, code: 'FETCH_FAILED', retryAfter: null, caseId: undefined }));
      outcomes.push({ ...outcome, at });
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      return outcomes;
    },
  };
}

async function health(): Promise<{ status: number; ms: number; retryAfter: string | null }> {
  const started = Date.now();
  const response = await fetch(new URL('/health', gateway.url), { signal: AbortSignal.timeout(30_000) });
  return { status: response.status, ms: Date.now() - started, retryAfter: response.headers.get('retry-after') };
}

/** How long after `since` the first enqueue succeeds, polling up to RECOVERY_MS + a margin. */
async function recovery(since: number): Promise<number> {
  for (let tries = 0; tries < 200 && Date.now() - since < RECOVERY_MS + 5_000; tries += 1) {
    const outcome = await post(gateway.url, ENQUEUE, { input: { serviceId, subject: 'probe' } });
    if (outcome.status === 200 && outcome.caseId !== undefined) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Number.POSITIVE_INFINITY;
}

/** Each failure is the coded retryable error; nothing acknowledged is missing from the table. */
async function checkOutcomes(outcomes: readonly Outcome[]): Promise<void> {
  const failed = outcomes.filter((outcome) => outcome.status !== 200);
  expect(failed.length).toBeGreaterThan(0);
  for (const outcome of failed) {
    expect({ status: outcome.status, code: outcome.code }).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    expect(outcome.retryAfter).toMatch(/^\d+$/);
  }
  expect(Math.max(...outcomes.map((outcome) => outcome.ms))).toBeLessThan(REQUEST_BOUND_MS);
  const acknowledged = outcomes.flatMap((outcome) => (outcome.caseId === undefined ? [] : [outcome.caseId]));
  const { rows } = await sql.query<{ stored: number }>('SELECT count(*)::int AS stored FROM cases WHERE id = ANY($1)', [
    acknowledged,
  ]);
  expect(rows[0]?.stored).toBe(acknowledged.length);
}

describe('PostgreSQL hangs or goes away under load', () => {
  it('frozen (SIGSTOP): coded 503s within the timeouts, /health 503, recovery within 5 s', async () => {
    const running = load();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const pids = await serverPids(server.dataDir);
    let resumedAt: number;
    let during: Awaited<ReturnType<typeof health>>;
    try {
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
      during = await health();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Gone already: nothing to resume.
        }
      }
      resumedAt = Date.now();
    }
    const recovered = await recovery(resumedAt);
    const outcomes = await running.stop();
    console.log(
      `frozen ${OUTAGE_MS} ms: ${outcomes.length} requests, ${outcomes.filter((o) => o.status === 503).length} answered 503, ` +
        `slowest ${Math.max(...outcomes.map((o) => o.ms))} ms, /health ${during.status} in ${during.ms} ms, recovered in ${recovered} ms`,
    );
    expect(during.status).toBe(503);
    expect(during.retryAfter).toMatch(/^\d+$/);
    expect(during.ms).toBeLessThan(HEALTH_BOUND_MS);
    expect(recovered).toBeLessThan(RECOVERY_MS);
    expect((await health()).status).toBe(200);
    await checkOutcomes(outcomes);
  });

  it('restarted (stopped, then started on the same data and port): the same', async () => {
    const running = load();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    const during = await health();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
    server = await startServer(server.port);
    const startedAt = Date.now();
    const recovered = await recovery(startedAt);
    const outcomes = await running.stop();
    console.log(
      `stopped ${OUTAGE_MS} ms: ${outcomes.length} requests, ${outcomes.filter((o) => o.status === 503).length} answered 503, ` +
        `slowest ${Math.max(...outcomes.map((o) => o.ms))} ms, /health ${during.status} in ${during.ms} ms, recovered in ${recovered} ms`,
    );
    expect(during.status).toBe(503);
    expect(during.retryAfter).toMatch(/^\d+$/);
    expect(during.ms).toBeLessThan(HEALTH_BOUND_MS);
    expect(recovered).toBeLessThan(RECOVERY_MS);
    await sql.end();
    sql = new pg.Pool({ connectionString: server.url, max: 2 });
    sql.on('error', () => undefined);
    await checkOutcomes(outcomes);
  });
});
