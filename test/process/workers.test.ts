// GATEWAY_WORKERS=2: one primary process, which starts the embedded
// PostgreSQL, and two gateway workers on one port, one of which delivers webhooks. Through that one port,
// agents and kiosks get every case exactly once, with requests landing on
// both workers (told by the pid on each request's log line); a worker killed
// with SIGKILL under load is replaced and nothing acknowledged is lost; a
// signal stops everything, database last, and the primary exits with 0.
import { readdirSync, readFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, postgresProcessesOn } from '../../src/db/process-info.js';
import { CreateServiceDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import { restartDelays } from '../../src/process/restart-delay.js';
import { expectEveryCaseHandedOutOnce } from '../helpers/exactly-once.js';
import { expectData, graphqlClient } from '../helpers/graphql-client.js';
import { plainRequest } from '../helpers/plain-http.js';
import {
  embeddedDatabaseUrl,
  failingGatewayProcess,
  startGatewayGroup,
  stopAllGatewayProcesses,
  temporaryDataFolder,
  timeUntil,
  type GatewayGroup,
} from '../reliability/helpers/gateway-process.js';
import { logLines } from '../helpers/log-lines.js';

const WORKERS = { GATEWAY_WORKERS: '2' } as const;
const CLIENTS = 16;
/**
 * A connection stranded by a kill (below) is given up on after this. Giving
 * up on a slow answer is safe here: that enqueue only counts as not acknowledged.
 */
const REQUEST_TIMEOUT_MS = 5_000;
/** A replacement starts in a few seconds; this bounds a stuck one. */
const REPLACED_WITHIN_MS = 30_000;
/** A clean stop takes a second or two; this bounds a hung one. */
const EXIT_WITHIN_MS = 45_000;
/** SHUTDOWN_GRACE_MS of the gateways stopped under load. */
const GRACE_MS = 2_000;
/** Log lines are written in blocks, at least every 250 ms (src/log.ts). */
const LOGGED_WITHIN_MS = 2_000;

/** The workers the primary forked, by the pid its `worker N: started` lines give. */
const workerPids = (output: string): number[] =>
  logLines(output).flatMap((line) => (/^worker \d+: started/.test(line.msg) && line.workerPid ? [line.workerPid] : []));

/** The processes that wrote request lines, after the first `skip` lines of output. */
const servingPids = (output: string, skip = 0): Set<number> =>
  new Set(
    logLines(output)
      .slice(skip)
      .filter((line) => line.msg === 'request')
      .map((line) => line.pid),
  );

/** Processes whose process group is `pgid` (field 5 of /proc/<pid>/stat). */
function processGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

type Outcome = { readonly caseId: number } | { readonly failed: string };

/** One enqueue; a dropped connection (its worker killed) is an outcome, not a throw. */
async function enqueue(url: string, serviceId: number, subject: string, idempotencyKey?: string): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: print(EnqueueCaseDocument),
        variables: { input: { serviceId, subject, ...(idempotencyKey && { idempotencyKey }) } },
      }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = (await response.json()) as { data?: { enqueueCase?: { caseId: number } } | null; errors?: unknown };
    const caseId = body.data?.enqueueCase?.caseId;
    return caseId === undefined ? { failed: JSON.stringify(body.errors) } : { caseId };
  } catch (error) {
    return { failed: String(error) };
  }
}

interface Acknowledged {
  readonly caseId: number;
  readonly subject: string;
}

/** CLIENTS kiosks enqueuing into one service until stopped, half with idempotency keys; each subject is unique. */
function enqueueUntilStopped(url: string, serviceId: number, tag: string) {
  const acknowledged: Acknowledged[] = [];
  const failures: string[] = [];
  let running = true;
  const done = Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = 0; running; n++) {
        const subject = `${tag} ${client}-${n}`;
        const outcome = await enqueue(url, serviceId, subject, client % 2 === 0 ? subject : undefined);
        if ('caseId' in outcome) acknowledged.push({ caseId: outcome.caseId, subject });
        else failures.push(outcome.failed);
      }
    }),
  );
  return {
    acknowledged,
    failures,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Waits until `count` enqueues have been acknowledged. */
async function acknowledgedAtLeast(acknowledged: readonly Acknowledged[], count: number): Promise<void> {
  expect(await timeUntil(() => acknowledged.length >= count, 30_000)).toBeDefined();
}

describe('the restart delay', () => {
  it('doubles while workers die soon after starting, and starts over after one lived', () => {
    const next = restartDelays({ firstMs: 100, maxMs: 1_000, stableMs: 60_000 });
    expect([next(500), next(2_000), next(10), next(10), next(10), next(10)]).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(next(60_000)).toBe(0);
    expect(next(5_000)).toBe(100);
  });
});

describe('GATEWAY_WORKERS=2 on one port', () => {
  let folder: Awaited<ReturnType<typeof temporaryDataFolder>>;
  let gateway: GatewayGroup;
  let sql: pg.Client | undefined;

  beforeAll(async () => {
    folder = await temporaryDataFolder();
    gateway = await startGatewayGroup({
      ...WORKERS,
      EMBEDDED_PG_DATA_DIR: folder.dataDir,
      AUTH_MODE: 'open',
      WEBHOOK_DELIVERY: 'on',
    });
    const client = new pg.Client({ connectionString: await embeddedDatabaseUrl(gateway, folder.dataDir) });
    await client.connect();
    sql = client;
  });

  afterAll(async () => {
    await sql?.end();
    await stopAllGatewayProcesses();
    await folder.remove();
  });

  it('starts one PostgreSQL and two workers', async () => {
    const lines = logLines(gateway.output());
    expect(lines.filter((line) => line.msg.startsWith('database: embedded PostgreSQL on'))).toHaveLength(1);
    expect(workerPids(gateway.output())).toHaveLength(2);
    expect(postgresProcessesOn(await realpath(folder.dataDir)).length).toBeGreaterThan(0);
    // One webhook runner for the machine, in one of the workers (src/process/workers.ts); it starts
    // once the job queue is installed, a moment after the worker serves.
    const delivering = () =>
      logLines(gateway.output())
        .filter((line) => line.msg === 'webhooks: delivering')
        .map((line) => line.pid);
    expect(await timeUntil(() => delivering().length > 0, 10_000)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, LOGGED_WITHIN_MS));
    expect(delivering()).toHaveLength(1);
    expect(workerPids(gateway.output())).toContain(delivering()[0]);
  });

  it('hands every case out exactly once, oldest first per service, through both workers', async () => {
    const skip = logLines(gateway.output()).length;
    // Two clients of the one port, as two kiosk halls behind one address.
    const clients = [graphqlClient(gateway.url), graphqlClient(gateway.url)];
    await expectEveryCaseHandedOutOnce(clients, sql!, { cases: 400, tag: 'Workers' });
    const workers = workerPids(gateway.output());
    // Both served: each wrote request lines (blocks reach the pipe within 250 ms).
    expect(
      await timeUntil(() => workers.every((pid) => servingPids(gateway.output(), skip).has(pid)), LOGGED_WITHIN_MS),
    ).toBeDefined();
    expect([...servingPids(gateway.output(), skip)].sort()).toEqual([...workers].sort());
  }, 180_000);

  it('replaces a worker killed with SIGKILL under load and loses nothing acknowledged', async () => {
    const serviceId = expectData(
      await graphqlClient(gateway.url)(CreateServiceDocument, {
        input: { name: 'Workers killed', extRef: 'WORKERS-KILLED', queueCode: 'K' },
      }),
    ).createService.id;
    const load = enqueueUntilStopped(gateway.url, serviceId, 'kill');
    await acknowledgedAtLeast(load.acknowledged, 100);
    const alive = workerPids(gateway.output()).filter((pid) => isAlive(pid));
    const victim = alive[0];
    if (victim === undefined) throw new Error(`no worker is running:\n${gateway.output()}`);
    process.kill(victim, 'SIGKILL');
    const killedAt = load.acknowledged.length;

    const replaced = await timeUntil(
      () => /worker \d+: serving, in place of worker/.test(gateway.output()),
      REPLACED_WITHIN_MS,
    );
    expect(replaced, gateway.output().slice(-4000)).toBeDefined();
    const replacement = workerPids(gateway.output()).find((pid) => !alive.includes(pid));
    expect(replacement).toBeDefined();
    // Enqueues go on being acknowledged through the kill and the replacement.
    await acknowledgedAtLeast(load.acknowledged, killedAt + 100);
    await load.stop();

    // The replacement serves: new connections go to each worker in turn.
    const skip = logLines(gateway.output()).length;
    const port = Number(new URL(gateway.url).port);
    for (let i = 0; i < 10; i++) {
      const answer = await plainRequest(port, '/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(answer.status).toBe(200);
    }
    expect(
      await timeUntil(() => servingPids(gateway.output(), skip).has(replacement ?? 0), LOGGED_WITHIN_MS),
    ).toBeDefined();

    // Every acknowledged case is in the database, once; the failures were the killed worker's connections.
    const { rows } = await sql!.query<{ id: number; subject: string }>(
      'SELECT id, subject FROM cases WHERE service_id = $1',
      [serviceId],
    );
    const idsBySubject = new Map<string, number[]>();
    for (const row of rows) idsBySubject.set(row.subject, [...(idsBySubject.get(row.subject) ?? []), row.id]);
    const lost = load.acknowledged.filter(({ caseId, subject }) => idsBySubject.get(subject)?.[0] !== caseId);
    const doubled = [...idsBySubject].filter(([, ids]) => ids.length > 1);
    console.info(
      `workers: ${load.acknowledged.length} enqueues acknowledged, ${load.failures.length} failed with the killed worker ` +
        `(${[...new Set(load.failures)].slice(0, 3).join('; ')}); replaced within ${Math.round(replaced ?? 0)} ms`,
    );
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    // Requests on the killed worker's connections fail; so may a connection the primary was handing
    // to it as it died, which nothing then reads (Node's round-robin cluster): its client times out.
    expect(load.failures.length).toBeLessThanOrEqual(2 * CLIENTS);
    expect(load.failures.filter((failure) => !/fetch failed|TimeoutError/.test(failure))).toEqual([]);
  }, 120_000);
});

describe.each([
  { how: 'SIGTERM to the primary', stop: (gateway: GatewayGroup) => gateway.kill('SIGTERM') },
  {
    how: "SIGINT to the process group (a terminal's Ctrl-C)",
    stop: (gateway: GatewayGroup) => gateway.killGroup('SIGINT'),
  },
])('GATEWAY_WORKERS=2, stopped by $how', ({ stop }) => {
  let folder: Awaited<ReturnType<typeof temporaryDataFolder>>;

  beforeAll(async () => {
    folder = await temporaryDataFolder();
  });

  afterAll(async () => {
    await stopAllGatewayProcesses();
    await folder.remove();
  });

  it('drains every worker, stops the database last, exits with 0 and leaves no process behind', async () => {
    const gateway = await startGatewayGroup({
      ...WORKERS,
      EMBEDDED_PG_DATA_DIR: folder.dataDir,
      AUTH_MODE: 'open',
      // The kiosks below keep their kept-alive connections busy, which a
      // stopping worker answers until the grace is over, as one gateway does.
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    const dataDir = await realpath(folder.dataDir);
    const workers = workerPids(gateway.output());
    expect(workers).toHaveLength(2);
    const serviceId = expectData(
      await graphqlClient(gateway.url)(CreateServiceDocument, {
        input: { name: 'Workers stopped', extRef: 'WORKERS-STOPPED', queueCode: 'S' },
      }),
    ).createService.id;
    const load = enqueueUntilStopped(gateway.url, serviceId, 'stop');
    await acknowledgedAtLeast(load.acknowledged, 50);

    // Checked on the exit event itself: a runtime kills what is left right after.
    const atExit = gateway.exited.then((exit) => ({
      exit,
      postgres: postgresProcessesOn(dataDir),
      group: processGroup(gateway.pid),
      workers: workers.filter((pid) => isAlive(pid)),
    }));
    const signalled = performance.now();
    stop(gateway);
    const timer = setTimeout(() => gateway.killGroup('SIGKILL'), EXIT_WITHIN_MS);
    const { exit, postgres, group, workers: workersLeft } = await atExit;
    clearTimeout(timer);
    const stopMs = performance.now() - signalled;
    await load.stop();
    console.info(
      `workers: ${load.acknowledged.length} enqueues acknowledged before the stop, ${load.failures.length} refused after it; ` +
        `signal to exit in ${Math.round(stopMs)} ms`,
    );

    const output = gateway.output();
    expect(exit, output.slice(-4000)).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(GRACE_MS + 10_000);
    expect(workersLeft).toEqual([]);
    expect(group).toEqual([]);
    expect(postgres).toEqual([]);
    expect(await timeUntil(() => /"msg":"stopped"/.test(gateway.output()), LOGGED_WITHIN_MS)).toBeDefined();
    const primary = logLines(gateway.output()).filter((line) => line.pid === gateway.pid);
    const said = primary.map((line) => line.msg);
    // The workers have exited cleanly before the database stops, and the primary last.
    const workersExited = said.flatMap((msg, index) => (/^worker \d+: exited \(code 0\)$/.test(msg) ? [index] : []));
    const databaseStopped = said.findIndex((msg) => /^database: embedded PostgreSQL \(pid \d+\) stopped/.test(msg));
    expect(workersExited).toHaveLength(2);
    expect(databaseStopped).toBeGreaterThan(Math.max(...workersExited));
    expect(said.at(-1)).toBe('stopped');
    expect(output).not.toMatch(/"level":"error"/);
  }, 120_000);
});

describe('GATEWAY_WORKERS=2 that cannot start', () => {
  it('stops its database server and exits with 1 when a worker exits before it serves', async () => {
    const folder = await temporaryDataFolder();
    try {
      // Each worker refuses to run open on an address others can reach, as
      // one gateway would; the primary does not decide that, so it has
      // started the database by then. (A busy port is refused before that:
      // test/main.test.ts.)
      const failed = await failingGatewayProcess({
        ...WORKERS,
        EMBEDDED_PG_DATA_DIR: folder.dataDir,
        AUTH_MODE: 'auto',
        HOST: '0.0.0.0',
      });
      expect(failed.code, failed.output.slice(-4000)).toBe(1);
      expect(failed.output).toMatch(/"msg":"refusing to start without credentials on HOST=0\.0\.0\.0/);
      expect(failed.output).toMatch(
        /"msg":"the gateway could not start: worker \d+ \(pid \d+\) exited \(code 1\) before it served"/,
      );
      expect(failed.output).toMatch(/"msg":"database: embedded PostgreSQL \(pid \d+\) stopped in \d+ ms"/);
      expect(postgresProcessesOn(await realpath(folder.dataDir))).toEqual([]);
    } finally {
      await folder.remove();
    }
  }, 120_000);
});
