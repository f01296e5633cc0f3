// A schema-aware fuzz: 10,000 requests generated from schema.graphql with
// fast-check (valid-shaped operations, edge-case values, stale and forged
// references, raw malformed bodies), sent 12 at a time to a real gateway.
// Every answer must be free of 5xx and INTERNAL_SERVER_ERROR and have every
// error coded; afterwards the database must satisfy the queue's invariants
// and hold exactly what was acknowledged.
//
// Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> generates the
// same requests (FUZZ_CONCURRENCY=1 sends them in the same order; pool picks
// still depend on what the gateway answered). FUZZ_REQUESTS scales the run
// for local experiments.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { buildSchema } from 'graphql';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, SCHEMA_FILE } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import type { Logger } from '../../src/log.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import { CORRUPTIONS } from './fuzz/corruptions.js';
import { brokenInvariants, brokenPromises } from './fuzz/invariants.js';
import { describeFinding, Ledger } from './fuzz/ledger.js';
import { requestPlans, type RequestPlan } from './fuzz/plans.js';
import { Pools } from './fuzz/pools.js';
import { SEED_REFERENCE_DATA, seedEnqueue } from './fuzz/seed-data.js';
import { sendAll, sendOne } from './fuzz/send.js';

const REQUESTS = Number(process.env['FUZZ_REQUESTS'] ?? 10_000);
const CONCURRENCY = Number(process.env['FUZZ_CONCURRENCY'] ?? 12);
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
/** Requests per property run: each run is one batch, sent on the same gateway as the ones before. */
const BATCH = 250;
/** Sending stops after this (a failure): 10,000 requests took 80–110 s on a loaded 2-core machine. */
const SENDING_BUDGET_MS = 200_000;
const TEST_TIMEOUT_MS = 260_000;
/** Findings printed in full; the rest are counted. */
const SHOWN = 10;

interface CountingLogger extends Logger {
  /** The first few error lines. */
  readonly errors: string[];
  count: number;
}

/** Counts what the gateway logs as errors, keeping the first few. */
function countingLogger(): CountingLogger {
  const logger: CountingLogger = {
    errors: [],
    count: 0,
    info: () => undefined,
    warn: () => undefined,
    error: (message, error) => {
      logger.count += 1;
      if (logger.errors.length < 5)
        logger.errors.push(`${message}: ${error instanceof Error ? error.message : String(error)}`);
    },
  };
  return logger;
}

/** A batch prints as its size: the ledger reports failing requests exactly as sent. */
const batchOf = (plans: readonly RequestPlan[]) =>
  Object.assign([...plans], { [fc.toStringMethod]: () => `<${plans.length} requests>` });

const histogram = (counts: ReadonlyMap<string | number, number>): string =>
  [...counts]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([key, n]) => `${key}: ${n}`)
    .join(', ');

function summary(ledger: Ledger, pools: Pools, sendingMs: number, log: CountingLogger): string {
  const costliest = [...ledger.timeByLabel]
    .sort(([, a], [, b]) => b.ms - a.ms)
    .slice(0, 6)
    .map(([label, { count, ms }]) => `${label} ×${count} ${Math.round(ms / count)} ms`);
  return [
    `fuzz: ${ledger.sent} requests in ${(sendingMs / 1000).toFixed(1)} s (${Math.round(ledger.sent / (sendingMs / 1000))}/s), slowest answer ${Math.round(ledger.slowestMs)} ms`,
    `  statuses ${histogram(ledger.statuses)}`,
    `  error codes ${histogram(ledger.codes)}`,
    `  acknowledged ${ledger.enqueueAcks.length} enqueues and ${ledger.transitionAcks.length} transitions; known ${pools.size('services')} services, ${pools.size('cases')} cases`,
    `  most time: ${costliest.join(', ')}`,
    `  gateway error log lines: ${log.count}${log.errors.length ? ` (${log.errors.join(' | ')})` : ''}`,
  ].join('\n');
}

/** Applies each corruption in a rolled-back transaction; returns those the checks did not notice. */
async function unnoticedCorruptions(pool: pg.Pool, ledger: Ledger): Promise<string[]> {
  const unnoticed: string[] = [];
  const client = await pool.connect();
  try {
    for (const corruption of CORRUPTIONS) {
      await client.query('BEGIN');
      try {
        const { rowCount } = await client.query(corruption.sql);
        const report = [...(await brokenInvariants(client)), ...(await brokenPromises(client, ledger))].join('\n');
        if (!rowCount) unnoticed.push(`${corruption.name}: changed no row, so proves nothing`);
        else if (!report.includes(corruption.noticedAs)) unnoticed.push(`${corruption.name}: not noticed (${report})`);
      } finally {
        await client.query('ROLLBACK');
      }
    }
  } finally {
    client.release();
  }
  return unnoticed;
}

describe('schema-aware fuzz', () => {
  let database: TestDatabase | undefined;
  let gateway: Gateway | undefined;
  const log = countingLogger();

  beforeAll(async () => {
    database = await createTestDatabase(inject('serverUrl'));
    // Open for good: the fuzz calls createApiKey too, and in the default mode
    // (auto) the first key would close the gateway, leaving the rest of the
    // run to 401s and rate limits instead of the queue's rules.
    gateway = await startGateway(loadConfig({ DATABASE_URL: database.url, PORT: '0', AUTH_MODE: 'open' }), log);
  });

  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
  });

  it(
    `answers ${REQUESTS} generated requests without 5xx or internal errors, and the database keeps its invariants`,
    async () => {
      if (!gateway || !database) throw new Error('the gateway did not start');
      const { url } = gateway;
      console.log(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} generates the same requests), ${CONCURRENCY} in flight`);
      const started = performance.now();
      const pools = new Pools();
      const ledger = new Ledger();
      for (const request of SEED_REFERENCE_DATA) await sendOne(url, request, pools, ledger);
      await sendOne(url, seedEnqueue(Number(pools.pick('services', 0) ?? 1)), pools, ledger);
      expect(ledger.findings.map(describeFinding), 'seeding').toEqual([]);

      const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
      const batch = fc.array(requestPlans(schema), { minLength: BATCH, maxLength: BATCH }).map(batchOf);
      const details = await fc.check(
        fc.asyncProperty(batch, async (plans) => {
          const before = ledger.findings.length;
          await sendAll(url, plans, CONCURRENCY, pools, ledger);
          return ledger.findings.length === before;
        }),
        {
          seed: SEED,
          numRuns: Math.ceil(REQUESTS / BATCH),
          // A stateful run cannot be shrunk by sending again: stop at the first failing batch.
          endOnFailure: true,
          plugins: [fc.interruptAfterTimeLimit(SENDING_BUDGET_MS, { failOnInterrupt: true })],
        },
      );
      const sendingMs = performance.now() - started;

      const sql = testPool(database.url, 2);
      try {
        const invariants = await brokenInvariants(sql);
        const promises = await brokenPromises(sql, ledger);
        console.log(summary(ledger, pools, sendingMs, log));
        const findings = ledger.findings.map(describeFinding);
        const shown = [
          ...findings.slice(0, SHOWN),
          ...(findings.length > SHOWN ? [`…and ${findings.length - SHOWN} more`] : []),
        ];
        const seed = `seed ${SEED}${details.failed ? ` (${fc.defaultReportMessage(details).split('\n')[0]})` : ''}`;
        expect.soft(shown, `answers that broke the contract, ${seed}`).toEqual([]);
        expect.soft(invariants, `broken database invariants, ${seed}`).toEqual([]);
        expect.soft(promises, `acknowledged writes the database does not match, ${seed}`).toEqual([]);
        expect(
          details.failed,
          `${seed}: the property failed (see the findings above) or ran past its time budget`,
        ).toBe(false);
        expect(ledger.sent).toBeGreaterThanOrEqual(REQUESTS);
        // The run reached the queue's rules: the open gateway never turned requests away at the door.
        expect(ledger.codes.get('UNAUTHENTICATED') ?? 0).toBe(0);
        expect(ledger.codes.get('RATE_LIMITED') ?? 0).toBe(0);
        // The checks are not vacuous: each corruption of the consistent database is noticed.
        expect(await unnoticedCorruptions(sql, ledger)).toEqual([]);
      } finally {
        await sql.end();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
