// npx tsx scripts/explain-queries.ts
// Plans of what screens poll (queue page, waiting count, standings,
// statistics) and of call-next and enqueue, on a queue of 100,000 waiting
// cases in one service. A throw-away embedded PostgreSQL is started, migrated,
// filled with generate_series and analysed. Every statement is built by the
// exported builders of src/queue/*.ts and sent with its own text and
// parameters, as the application sends it. Statements that write run in a
// transaction that is rolled back. docs/queries.md records what this printed.
//
// The same statements in three phases on the same server: (1) the fresh
// table, ANALYZEd only; (2) after VACUUM, so index-only scans need no heap
// visits (autovacuum's steady state); (3) after adding 400,000 closed cases of
// the previous 60 days, a table with history. Well under a minute on a shared
// 2-core machine.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../src/config.js';
import { applyPendingMigrations } from '../src/db/migrations.js';
import { sessionOptions } from '../src/db/session-settings.js';
import { startScratchPostgres } from '../src/db/scratch-postgres.js';
import type { Prisma } from '../src/generated/prisma/client.js';
import { CANDIDATES, callNextSql } from '../src/queue/call-next.js';
import { enqueueSql } from '../src/queue/enqueue-statement.js';
import { caseEnqueueRules, parseInput, queuePageRules, statisticsRules } from '../src/queue/input-rules.js';
import { queuePageSql, standingsSql, statisticsSql, waitingCountSql } from '../src/queue/queue-reads.js';

const WAITING = 100_000;
const CLOSED = 5_000;
const IN_SERVICE = 10;
const HISTORY = 400_000;
const DEEP = 90_000;
/** Runs per statement after one warm-up run, with and without EXPLAIN; medians are reported. */
const RUNS = 5;

// ---------------------------------------------------------------- data

/**
 * Service 1 ("A"): WAITING cases queued over the last 4 hours, id order =
 * queue order; CLOSED completed/cancelled cases called and closed over the
 * last 3 hours (a tenth auto-closed, never called); a few IN_SERVICE.
 * Service 2 ("B"): a short queue and some closed cases, so the planner sees
 * more than one service. Ticket numbers are unique per service.
 */
const FILL = [
  `INSERT INTO services (id, name, ext_ref, queue_code) VALUES (1, 'Enrolments', 'ENROL', 'A'), (2, 'Help desk', 'HELP', 'B')`,
  `SELECT setval(pg_get_serial_sequence('services', 'id'), 2)`,
  `INSERT INTO cases (service_id, subject, status, ticket_day, ticket_number, ticket, enqueued_at, queued_at, updated_at, last_action)
   SELECT 1, 'waiting ' || g, 'WAITING', (t.at AT TIME ZONE 'UTC')::date, g, 'A' || lpad(g::text, 3, '0'), t.at, t.at, t.at, 'ENQUEUE'
     FROM generate_series(1, ${WAITING}) g
     CROSS JOIN LATERAL (SELECT now() - interval '4 hours' + g * (interval '4 hours' / ${WAITING + 1}) AS at) t`,
  `INSERT INTO cases (service_id, subject, status, auto_close, ticket_day, ticket_number, ticket,
                      enqueued_at, queued_at, called_at, closed_at, updated_at, last_action, last_agent)
   SELECT 1, 'closed ' || g, CASE WHEN g % 5 = 0 THEN 'CANCELLED' ELSE 'COMPLETED' END::case_status, g % 10 = 1,
          (t.called AT TIME ZONE 'UTC')::date, ${WAITING} + g, 'A' || (${WAITING} + g),
          t.called - interval '20 minutes', t.called - interval '20 minutes',
          CASE WHEN g % 10 = 1 THEN NULL ELSE t.called END, t.called + interval '4 minutes', t.called + interval '4 minutes',
          CASE WHEN g % 10 = 1 THEN 'AUTO_CLOSE' WHEN g % 5 = 0 THEN 'CANCEL' ELSE 'COMPLETE' END::case_action, 'agent ' || g % 7
     FROM generate_series(1, ${CLOSED}) g
     CROSS JOIN LATERAL (SELECT greatest(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() - interval '3 hours' + g * (interval '3 hours' / ${CLOSED + 1}) - interval '5 minutes') AS called) t`,
  `INSERT INTO cases (service_id, subject, status, ticket_day, ticket_number, ticket, enqueued_at, queued_at, called_at, updated_at, last_action, last_agent)
   SELECT 1, 'in service ' || g, 'IN_SERVICE', current_date, ${WAITING + CLOSED} + g, 'A' || (${WAITING + CLOSED} + g),
          now() - interval '30 minutes', now() - interval '30 minutes', now() - g * interval '1 minute', now(), 'CALL_NEXT', 'agent ' || g
     FROM generate_series(1, ${IN_SERVICE}) g`,
  `INSERT INTO cases (service_id, subject, status, ticket_day, ticket_number, ticket, enqueued_at, queued_at, called_at, closed_at, updated_at, last_action)
   SELECT 2, 'other ' || g, CASE WHEN g <= 50 THEN 'WAITING' ELSE 'COMPLETED' END::case_status, current_date, g, 'B' || lpad(g::text, 3, '0'),
          now() - g * interval '1 minute', now() - g * interval '1 minute',
          CASE WHEN g > 50 THEN now() - g * interval '30 seconds' END, CASE WHEN g > 50 THEN now() - g * interval '20 seconds' END,
          now(), CASE WHEN g <= 50 THEN 'ENQUEUE' ELSE 'COMPLETE' END::case_action
     FROM generate_series(1, 250) g`,
  `INSERT INTO ticket_counters (service_id, day, started_on, last_number)
   SELECT DISTINCT ON (service_id) service_id, ticket_day, ticket_day, max(ticket_number) FROM cases
    GROUP BY service_id, ticket_day ORDER BY service_id, ticket_day DESC`,
  `ANALYZE`,
];

/**
 * History: closed cases of the previous 60 days (ending an hour before
 * today's midnight, UTC), three quarters in service 1, called 20 minutes and
 * closed 25 minutes after they were enqueued.
 */
const HISTORY_FILL = [
  `INSERT INTO cases (service_id, subject, status, ticket_day, ticket_number, ticket,
                      enqueued_at, queued_at, called_at, closed_at, updated_at, last_action, last_agent)
   SELECT CASE WHEN g % 4 = 0 THEN 2 ELSE 1 END, 'history ' || g, CASE WHEN g % 5 = 0 THEN 'CANCELLED' ELSE 'COMPLETED' END::case_status,
          (t.at AT TIME ZONE 'UTC')::date, g, 'H' || g, t.at, t.at, t.at + interval '20 minutes', t.at + interval '25 minutes',
          t.at + interval '25 minutes', CASE WHEN g % 5 = 0 THEN 'CANCEL' ELSE 'COMPLETE' END::case_action, 'agent ' || g % 7
     FROM generate_series(1, ${HISTORY}) g
     CROSS JOIN LATERAL (SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - interval '60 days'
                                + g * ((interval '60 days' - interval '1 hour') / ${HISTORY + 1}) AS at) t`,
  `VACUUM (ANALYZE) cases`,
];

const PHASES = [
  { title: `Phase 1: ${WAITING.toLocaleString('en')} waiting cases in service 1, ANALYZE only`, setup: FILL },
  {
    title: 'Phase 2: the same table after VACUUM (visibility map set, as autovacuum leaves it)',
    setup: ['VACUUM (ANALYZE) cases'],
  },
  {
    title: `Phase 3: plus ${HISTORY.toLocaleString('en')} closed cases of the previous 60 days, VACUUM ANALYZE`,
    setup: HISTORY_FILL,
  },
];

// ---------------------------------------------------------------- statements

interface Place {
  readonly id: number;
  readonly queuedAt: Date;
  readonly queueSeq: bigint;
}

interface Statement {
  readonly name: string;
  readonly sql: Prisma.Sql;
  /** Run each time inside BEGIN ... ROLLBACK. */
  readonly writes?: boolean;
}

/** What the application sends, for service 1 (and 2 for call-next), with the inputs' defaults. */
function statements(first: Place, deep: Place, lastIds: readonly number[]): Statement[] {
  const limit = parseInput(queuePageRules, {}).first + 1;
  return [
    { name: `queue page rows, first page (LIMIT ${limit})`, sql: queuePageSql(1, null, limit) },
    {
      name: `queue page rows after the case at position ${DEEP.toLocaleString('en')}`,
      sql: queuePageSql(1, deep, limit),
    },
    { name: 'waiting count, whole queue (totalCount)', sql: waitingCountSql(1, null) },
    {
      name: `waiting count up to position ${DEEP.toLocaleString('en')} (edge positions after that cursor)`,
      sql: waitingCountSql(1, deep),
    },
    { name: 'standings of the first case', sql: standingsSql([first.id]) },
    ...[1, 20, 100].map((n) => ({
      name:
        n === 1
          ? `standings of the last case (position ${WAITING.toLocaleString('en')})`
          : `standings of the last ${n} cases`,
      sql: standingsSql(lastIds.slice(-n)),
    })),
    { name: 'statistics, default window', sql: statisticsSql(1, parseInput(statisticsRules, {}).windowMinutes) },
    ...CANDIDATES.map((n) => ({
      name: `call next, services [1, 2], ${n} candidates per service`,
      sql: callNextSql([1, 2], ['explain'], n),
      writes: true,
    })),
    ...[1, 64].map((size) => ({
      name: `enqueue a batch of ${size} into service 1`,
      sql: enqueueSql(
        Array.from({ length: size }, (_, index) =>
          parseInput(caseEnqueueRules, {
            serviceId: 1,
            subject: `explain ${index}`,
            customProperties: [{ key: 'n', value: String(index) }],
          }),
        ),
        'skip-held',
      ),
      writes: true,
    })),
  ];
}

// ---------------------------------------------------------------- measuring

/** Per statement name, per phase: medians of EXPLAIN ANALYZE's "Execution Time" (server) and of the wall time without EXPLAIN (client). */
const figures = new Map<string, string[]>();

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Runs `text` once with the statement's parameters (rolled back when it writes); returns its rows and wall time. */
async function once(
  client: pg.Client,
  { sql, writes = false }: Statement,
  text: string,
): Promise<{ rows: Record<string, unknown>[]; ms: number }> {
  if (writes) await client.query('BEGIN');
  try {
    const began = performance.now();
    const { rows } = await client.query<Record<string, unknown>>(text, sql.values);
    return { rows, ms: performance.now() - began };
  } finally {
    if (writes) await client.query('ROLLBACK');
  }
}

/** A warm-up run, then RUNS runs with EXPLAIN and RUNS without; prints the last plan and the medians. */
async function explain(client: pg.Client, statement: Statement, label: string, showSql: boolean): Promise<void> {
  await once(client, statement, statement.sql.text);
  const explained: number[] = [];
  const plain: number[] = [];
  let plan: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { rows } = await once(client, statement, `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${statement.sql.text}`);
    plan = rows.map((row) => String(row['QUERY PLAN']));
    const time = /^Execution Time: ([\d.]+) ms/.exec(plan.at(-1) ?? '');
    if (!time) throw new Error(`no execution time in the plan:\n${plan.join('\n')}`);
    explained.push(Number(time[1]));
    plain.push((await once(client, statement, statement.sql.text)).ms);
  }
  const values = JSON.stringify(statement.sql.values, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  console.log(`\n=== ${label} ${statement.name} ===`);
  if (showSql)
    console.log(
      `${statement.sql.text.trim()}\n-- values: ${values.length > 300 ? `${values.slice(0, 300)}...` : values}\n---`,
    );
  console.log(plan.join('\n'));
  const result = `${median(explained).toFixed(3)} / ${median(plain).toFixed(3)}`;
  console.log(`--- medians of ${RUNS} runs: EXPLAIN ANALYZE execution time / wall time without EXPLAIN: ${result} ms`);
  figures.set(statement.name, [...(figures.get(statement.name) ?? []), result]);
}

const heading = (text: string): void => console.log(`\n${'#'.repeat(78)}\n# ${text}\n${'#'.repeat(78)}`);

async function main(): Promise<void> {
  const started = performance.now();
  const server = await startScratchPostgres();
  try {
    await applyPendingMigrations(server.url, MIGRATIONS_DIR);
    const client = new pg.Client({ connectionString: server.url, options: sessionOptions() });
    await client.connect();
    try {
      const settings = await client.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'jit', 'max_parallel_workers_per_gather', 'work_mem', 'shared_buffers', 'random_page_cost')`,
      );
      console.log(`PostgreSQL ${settings.rows.map((row) => `${row.name}=${row.setting}`).join(' ')}`);
      let list: Statement[] = [];
      for (const [index, phase] of PHASES.entries()) {
        heading(phase.title);
        const setupStarted = performance.now();
        for (const step of phase.setup) await client.query(step);
        const counts = await client.query<{ service_id: number; status: string; n: number }>(
          `SELECT service_id, status::text, count(*)::int AS n FROM cases GROUP BY 1, 2 ORDER BY 1, 2`,
        );
        const contents = counts.rows.map((row) => `service ${row.service_id} ${row.status} ${row.n}`).join(', ');
        console.log(`set up in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s: ${contents}`);
        if (index === 0) {
          // The waiting cases of service 1 at positions 1 and DEEP, and the last 100, in queue order.
          const places = await client.query<Omit<Place, 'queueSeq'> & { queueSeq: string; position: number }>(
            `SELECT id, queued_at AS "queuedAt", queue_seq AS "queueSeq", position FROM (
               SELECT id, queued_at, queue_seq, row_number() OVER (ORDER BY queued_at, queue_seq)::int AS position
                 FROM cases WHERE service_id = 1 AND status = 'WAITING') q
              WHERE position IN (1, $1) OR position > $2 ORDER BY position`,
            [DEEP, WAITING - 100],
          );
          // pg gives bigint columns as strings.
          const [first, deep, ...last] = places.rows.map((row) => ({ ...row, queueSeq: BigInt(row.queueSeq) }));
          if (first?.position !== 1 || deep?.position !== DEEP || last.length !== 100)
            throw new Error('the queue is not as filled');
          list = statements(
            first,
            deep,
            last.map((row) => row.id),
          );
          // Sent through pg, the builders' statements must give the positions the fill implies.
          const check = standingsSql(last.map((row) => row.id));
          const positions = (await client.query<{ positions: number[] }>(check.text, check.values)).rows.flatMap(
            (row) => row.positions,
          );
          if (positions.sort((a, b) => a - b).join() !== last.map((row) => row.position).join())
            throw new Error('standings gave other positions');
        }
        for (const statement of list) await explain(client, statement, `${index + 1}:`, index === 0);
      }
      const left = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM cases WHERE status = 'WAITING' AND service_id = 1`,
      );
      if (left.rows[0]?.n !== WAITING)
        throw new Error(`the rolled-back statements changed the queue: ${left.rows[0]?.n} waiting`);
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
  heading('Summary, ms: EXPLAIN ANALYZE execution time (server) / wall time without EXPLAIN (client), medians');
  console.log(`${'phase 1'.padEnd(19)}${'phase 2'.padEnd(19)}${'phase 3'.padEnd(19)}statement`);
  for (const [name, phases] of figures) console.log(`${phases.map((figure) => figure.padEnd(19)).join('')}${name}`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
