// Writes whose connection is cut mid-commit (a failover, a network cut): the
// gateway finds out itself whether each committed, before it answers
// (src/queue/unknown-outcome.ts). A proxy cuts the one connection that sends
// a marked statement, before the server sees it or after it has answered.
// Whatever the moment, the request gets its case exactly once, and nothing
// is written twice, with or without an idempotency key.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/config.js';
import type { RunningPostgres } from '../../src/db/embedded-postgres.js';
import { applyPendingMigrations } from '../../src/db/migrations.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { startScratchPostgres } from '../../src/db/scratch-postgres.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createCaller } from '../../src/queue/call-next.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { completeCase, returnToQueue } from '../../src/queue/transitions.js';
import { afterWrite } from '../../src/queue/unknown-outcome.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import { startCuttingProxy, type CutMoment, type CuttingProxy } from '../helpers/cutting-proxy.js';
import * as given from '../helpers/given.js';
import { startStandby, type Standby } from '../helpers/standby.js';

let database: TestDatabase;
let proxy: CuttingProxy;
/** The gateway's side: through the proxy, with short timeouts so an empty answer is trusted soon. */
let db: Database;
/** The test's own view of the database, not through the proxy. */
let seed: Database;
let sql: pg.Pool;

const STATEMENT_MS = 1_000;

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  const { hostname, port } = new URL(database.url);
  proxy = await startCuttingProxy({ host: hostname, port: Number(port) });
  db = createDatabaseClient(proxy.url(database.url), 4, {
    timeouts: { statementMs: STATEMENT_MS, lockMs: 1_000, acquireMs: 2_000, outcomeMs: 10_000 },
  });
  seed = createDatabaseClient(database.url, 2);
  sql = testPool(database.url, 2);
});

afterAll(async () => {
  await db.$disconnect();
  await seed.$disconnect();
  await sql.end();
  await proxy.close();
  await database.drop();
});

const MOMENTS: readonly CutMoment[] = ['before-sending', 'after-sending'];

async function casesWithExtRef(extRef: string): Promise<number[]> {
  const { rows } = await sql.query<{ id: number }>('SELECT id FROM cases WHERE ext_ref = $1 ORDER BY id', [extRef]);
  return rows.map((row) => row.id);
}

describe.each(MOMENTS)('a connection cut %s', (moment) => {
  it.each([
    ['without', null],
    ['with', 'key'],
  ])('answers an enqueue %s an idempotency key with its one case', async (_, key) => {
    const service = await given.service(seed);
    const enqueuer = createEnqueuer(db, db);
    const extRef = `cut-${moment}-${key ?? 'none'}-${service.id}`;
    const cut = proxy.cut(extRef, moment);
    const answer = await enqueuer.enqueue(
      { serviceId: service.id, extRef, idempotencyKey: key && `${key}-${service.id}` },
      OPEN_ACTOR,
    );
    await cut;
    expect(await casesWithExtRef(extRef)).toEqual([answer.id]);
    expect(answer.extRef).toBe(extRef);
    expect(answer.serviceId).toBe(service.id);
    expect((await answer.standing()).position).toBe(1);
  });

  it('hands each case out once: the cut call gets its case, the next call the next one', async () => {
    const service = await given.service(seed);
    const first = await given.waitingCase(seed, { serviceId: service.id });
    const second = await given.waitingCase(seed, { serviceId: service.id });
    const caller = createCaller(db, db);
    const agent = `cut-agent-${moment}-${service.id}`;
    const cut = proxy.cut(agent, moment);
    const called = await caller.callNext({ serviceIds: [service.id], agent }, OPEN_ACTOR);
    await cut;
    expect(called?.id).toBe(first.id);
    const next = await caller.callNext({ serviceIds: [service.id], agent: 'other-desk' }, OPEN_ACTOR);
    expect(next?.id).toBe(second.id);
    const { rows } = await sql.query<{ case_id: number; n: number }>(
      `SELECT case_id, count(*)::int AS n FROM case_events WHERE action = 'CALL_NEXT' AND case_id = ANY($1) GROUP BY case_id ORDER BY case_id`,
      [[first.id, second.id]],
    );
    expect(rows).toEqual([
      { case_id: first.id, n: 1 },
      { case_id: second.id, n: 1 },
    ]);
  });

  it('answers a completion with the completed case, applied once', async () => {
    const inService = await given.caseIn(seed, 'IN_SERVICE');
    const agent = `cut-closer-${moment}-${inService.id}`;
    const cut = proxy.cut(agent, moment);
    const completed = await completeCase(db, { caseId: inService.id, agent }, OPEN_ACTOR);
    await cut;
    expect(completed.status).toBe('COMPLETED');
    expect(completed.lastAgent).toBe(agent);
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM case_events WHERE action = 'COMPLETE' AND case_id = $1`,
      [inService.id],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('answers a return to the queue (a transaction of two statements) with the returned case, applied once', async () => {
    const inService = await given.caseIn(seed, 'IN_SERVICE');
    const agent = `cut-returner-${moment}-${inService.id}`;
    const cut = proxy.cut(agent, moment);
    const returned = await returnToQueue(
      db,
      { caseId: inService.id, agent, placement: 'BACK', reason: 'cut' },
      OPEN_ACTOR,
    );
    await cut;
    expect(returned.status).toBe('WAITING');
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM case_events WHERE action = 'RETURN_TO_QUEUE' AND case_id = $1`,
      [inService.id],
    );
    expect(rows[0]?.n).toBe(1);
  });
});

describe("a committed write's answer", () => {
  it('waits out a database that is away for a moment, where a plain read fails', async () => {
    const started = await given.waitingCase(seed);
    proxy.down();
    setTimeout(() => proxy.up(), 1_000);
    const plain = db.$queryRaw`SELECT 1`.then(
      () => 'answered',
      () => 'failed',
    );
    const patient = afterWrite(db, () => db.case.findUniqueOrThrow({ where: { id: started.id } }));
    expect(await plain).toBe('failed');
    expect((await patient).id).toBe(started.id);
  });
});

// A commit waits for its synchronous standby, which has died: it outlasts
// statement_timeout (PostgreSQL turns that off before committing) and the
// client's own timeout, and is invisible meanwhile. Written again, both
// copies would commit once replication is made asynchronous. The gateway
// ends its own session first (db/prisma-client.ts fenceEndedSessions), which
// makes the waiting commit visible, and answers with that one case.
describe('a commit waiting for a synchronous standby that died', () => {
  let primary: RunningPostgres;
  let standby: Standby;
  let gatewaySide: Database;
  let primarySql: pg.Pool;
  /** Set once started: beforeAll may fail half-way. */
  const started: { primary?: RunningPostgres; standby?: Standby; gatewaySide?: Database; primarySql?: pg.Pool } = {};

  beforeAll(async () => {
    primary = started.primary = await startScratchPostgres();
    await applyPendingMigrations(primary.url, MIGRATIONS_DIR);
    standby = started.standby = await startStandby(primary);
    primarySql = started.primarySql = testPool(primary.url, 2);
    await primarySql.query(`ALTER SYSTEM SET synchronous_standby_names = '*'`);
    await primarySql.query('SELECT pg_reload_conf()');
    gatewaySide = started.gatewaySide = createDatabaseClient(primary.url, 2, {
      timeouts: { statementMs: STATEMENT_MS, lockMs: 1_000, acquireMs: 2_000, outcomeMs: 10_000 },
    });
  }, 120_000);

  afterAll(async () => {
    await started.gatewaySide?.$disconnect();
    await started.primarySql?.end();
    await started.standby?.stop();
    await started.primary?.stop();
  });

  it('is answered with its one case, not written twice', async () => {
    const service = await given.service(gatewaySide);
    await standby.kill();
    const extRef = `sync-wait-${service.id}`;
    const answering = createEnqueuer(gatewaySide, gatewaySide).enqueue({ serviceId: service.id, extRef }, OPEN_ACTOR);
    let answered = false;
    void answering.then(
      () => (answered = true),
      () => (answered = true),
    );
    // The commit cannot be confirmed while no standby answers: the case is found (the gateway ended
    // its session), but not taken as written, so no answer comes yet.
    await new Promise((resolve) => setTimeout(resolve, STATEMENT_MS + 2_500));
    expect(answered, 'answered before the standby confirmed or replication was made asynchronous').toBe(false);
    // Replication made asynchronous, as the failover manager does a few seconds after losing the
    // standby: what waits is released, and the case found is the answer.
    await primarySql.query(`ALTER SYSTEM SET synchronous_standby_names = ''`);
    await primarySql.query('SELECT pg_reload_conf()');
    const answer = await answering;
    expect(answer.extRef).toBe(extRef);
    const { rows } = await primarySql.query<{ id: number }>('SELECT id FROM cases WHERE ext_ref = $1', [extRef]);
    expect(rows.map((row) => row.id)).toEqual([answer.id]);
  }, 60_000);
});
