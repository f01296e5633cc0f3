// The gateway killed with SIGKILL (an OOM kill, a `kill -9`) while 16
// clients enqueue with idempotency keys, restarted the way `npm start` runs
// it: it comes back by itself on the same data, nothing acknowledged is
// lost, no key makes two cases, a retry gets the acknowledged case, and the
// embedded PostgreSQL does not outlive the gateway.
import { realpath } from 'node:fs/promises';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresServersOn } from '../../src/db/process-info.js';
import { CreateServiceDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import { expectData, graphqlClient } from '../helpers/graphql-client.js';
import {
  childrenOf,
  embeddedDatabaseUrl,
  failingGatewayProcess,
  startGatewayProcess,
  stopAllGatewayProcesses,
  temporaryDataFolder,
  timeUntil,
  type GatewayProcess,
} from './helpers/gateway-process.js';

const CLIENTS = 16;
const ROUNDS = 5;
/** Acknowledged enqueues per round before the kill. */
const ACKS_BEFORE_KILL = 40;
const REQUEST_TIMEOUT_MS = 15_000;
/** How long the embedded server may outlive its gateway. */
const SERVER_GONE_WITHIN_MS = 10_000;

let folder: Awaited<ReturnType<typeof temporaryDataFolder>>;
let env: Record<string, string>;

beforeAll(async () => {
  folder = await temporaryDataFolder();
  env = { EMBEDDED_PG_DATA_DIR: folder.dataDir };
});

afterAll(async () => {
  await stopAllGatewayProcesses();
  await folder.remove();
});

type Outcome = { readonly caseId: number } | { readonly failed: string };

/** One enqueue with an idempotency key, as a kiosk would send it; a dropped connection is an outcome, not a throw. */
async function enqueue(url: string, serviceId: number, key: string): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: print(EnqueueCaseDocument),
        variables: { input: { serviceId, subject: key, idempotencyKey: key } },
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

async function sqlRows<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('SIGKILL of the gateway under 16 enqueuing clients, restarted each time', () => {
  it('loses no acknowledged case, makes no duplicate, answers every retry with the acknowledged case', async () => {
    let gateway: GatewayProcess = await startGatewayProcess(env);
    const serviceId = expectData(
      await graphqlClient(gateway.url)(CreateServiceDocument, { input: { name: 'Crash', extRef: 'CRASH' } }),
    ).createService.id;
    const dataDir = await realpath(folder.dataDir);
    const acknowledged = new Map<string, number>();
    const goneMs: number[] = [];
    const restartMs: number[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const url = gateway.url;
      let killed = false;
      let acksThisRound = 0;
      const sent: string[] = [];
      const clients = Array.from({ length: CLIENTS }, async (_, client) => {
        // Bounded: a client stops at its first failure after the kill, or after 10,000 requests.
        for (let index = 0; index < 10_000; index++) {
          const key = `r${round}-c${client}-${index}`;
          sent.push(key);
          const outcome = await enqueue(url, serviceId, key);
          if ('caseId' in outcome) {
            acknowledged.set(key, outcome.caseId);
            acksThisRound++;
          } else if (killed) return;
          else throw new Error(`enqueue failed before the kill: ${outcome.failed}`);
        }
      });
      const enough = await timeUntil(() => acksThisRound >= ACKS_BEFORE_KILL, 30_000);
      expect(enough, 'enqueues were acknowledged before the kill').toBeDefined();
      killed = true;
      gateway.kill('SIGKILL');
      await gateway.exited;
      await Promise.all(clients);

      // The embedded server does not outlive its gateway (the watchdog stops it).
      const gone = await timeUntil(() => postgresServersOn(dataDir).length === 0, SERVER_GONE_WITHIN_MS);
      expect(gone, `PostgreSQL still runs ${SERVER_GONE_WITHIN_MS} ms after its gateway was killed`).toBeDefined();
      goneMs.push(gone ?? Infinity);

      const restarting = performance.now();
      gateway = await startGatewayProcess(env);
      restartMs.push(performance.now() - restarting);

      // Every request of the round retried with its key: the acknowledged
      // ones get their case back, the rest get the one case their key makes.
      for (let start = 0; start < sent.length; start += CLIENTS) {
        const keys = sent.slice(start, start + CLIENTS);
        const outcomes = await Promise.all(keys.map((key) => enqueue(gateway.url, serviceId, key)));
        keys.forEach((key, index) => {
          const outcome = outcomes[index];
          expect(outcome, `retry of ${key}`).toHaveProperty('caseId');
          if (!outcome || !('caseId' in outcome)) return;
          const before = acknowledged.get(key);
          if (before !== undefined) expect(outcome.caseId, `retry of acknowledged ${key}`).toBe(before);
          acknowledged.set(key, outcome.caseId);
        });
      }
    }

    const databaseUrl = await embeddedDatabaseUrl(gateway, folder.dataDir);
    const rows = await sqlRows<{ id: number; subject: string; idempotency_key: string }>(
      databaseUrl,
      'SELECT id, subject, idempotency_key FROM cases WHERE service_id = $1',
      [serviceId],
    );
    // One case per key, and it is the acknowledged one: none lost, none doubled.
    const caseOf = new Map(rows.map((row) => [row.subject, row.id]));
    expect(rows.every((row) => row.subject === row.idempotency_key)).toBe(true);
    expect(caseOf.size, 'keys with two cases').toBe(rows.length);
    expect(rows.length).toBe(acknowledged.size);
    const lost = [...acknowledged].filter(([key, caseId]) => caseOf.get(key) !== caseId);
    expect(lost, 'acknowledged cases lost').toEqual([]);
    expect(acknowledged.size).toBeGreaterThanOrEqual(ROUNDS * ACKS_BEFORE_KILL);
    console.info(
      `crash recovery: ${ROUNDS} rounds, ${acknowledged.size} cases; PostgreSQL gone after the kill in ` +
        `${goneMs.map((ms) => Math.round(ms)).join(', ')} ms; restart to endpoint in ${restartMs.map((ms) => Math.round(ms)).join(', ')} ms`,
    );
    await gateway.stop();
  });

  it('stops an orphaned server left on its data folder (watchdog killed too) and starts on the same data', async () => {
    const gateway = await startGatewayProcess(env);
    const dataDir = await realpath(folder.dataDir);
    const [server] = postgresServersOn(dataDir);
    expect(server).toBeDefined();
    const watchdogs = await childrenOf(gateway.pid, 'fifo-gateway-pg-watchdog');
    expect(watchdogs).toHaveLength(1);
    // The worst case: the gateway and its watchdog die at once, the server stays.
    for (const pid of watchdogs) process.kill(pid, 'SIGKILL');
    gateway.kill('SIGKILL');
    await gateway.exited;
    expect(postgresServersOn(dataDir)).toEqual([server]);

    const restarted = await startGatewayProcess(env);
    expect(restarted.output()).toContain(`stopping the PostgreSQL server (pid ${server})`);
    expect(postgresServersOn(dataDir)).not.toContain(server);
    const cases = await sqlRows<{ count: number }>(
      await embeddedDatabaseUrl(restarted, folder.dataDir),
      'SELECT count(*)::int AS count FROM cases',
      [],
    );
    expect(cases[0]?.count).toBeGreaterThanOrEqual(ROUNDS * ACKS_BEFORE_KILL);
    await restarted.stop();
    expect(postgresServersOn(dataDir)).toEqual([]);
  });

  it('refuses a second gateway on a data folder in use, leaving the first one working', async () => {
    const first = await startGatewayProcess(env);
    const dataDir = await realpath(folder.dataDir);
    const servers = postgresServersOn(dataDir);
    expect(servers).toHaveLength(1);

    const second = await failingGatewayProcess(env, 60_000);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`is in use by another gateway (pid ${first.pid})`);

    expect(postgresServersOn(dataDir)).toEqual(servers);
    const services = await sqlRows<{ id: number }>(
      await embeddedDatabaseUrl(first, folder.dataDir),
      `SELECT id FROM services WHERE ext_ref = 'CRASH'`,
      [],
    );
    const serviceId = services[0]?.id ?? 0;
    expect(await enqueue(first.url, serviceId, 'after the refused start')).toHaveProperty('caseId');
    await first.stop();
  });
});
