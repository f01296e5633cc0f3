// Stopping the gateway the way operators do, then starting it again at once:
// SIGTERM to the gateway (a service manager, `kill`) and SIGINT to its whole
// process group (a terminal's Ctrl-C). The moment the gateway's process
// exits, its PostgreSQL must have exited and the log must say so, with no
// error on the way; everything left is then SIGKILLed, as a container
// runtime does once its main process has exited, and the next start, at
// once, must succeed. 20 rounds of each, and 10 where the kill comes before
// the gateway has stopped; and 10 rounds of SIGTERM to `npm start` itself.
import { realpath } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresProcessesOn, postgresServersOn } from '../../src/db/process-info.js';
import { ServicesDocument } from '../../src/generated/operations/graphql.js';
import { expectData, graphqlClient } from '../helpers/graphql-client.js';
import {
  childrenOf,
  startGatewayGroup,
  stopAllGatewayProcesses,
  temporaryDataFolder,
  timeUntil,
  type GatewayGroup,
} from './helpers/gateway-process.js';

const ROUNDS = 20;
const CUT_SHORT_ROUNDS = 10;
/** Rounds through `npm start`: each start costs npm's own second or so. */
const NPM_ROUNDS = 10;
/** A clean stop takes well under a second; this bounds a hung one. */
const EXIT_WITHIN_MS = 30_000;
/** The log is written in blocks; what the gateway wrote last may arrive just after its exit. */
const OUTPUT_WITHIN_MS = 2_000;
const STOPPED = /"msg":"stopped"/;
const DATABASE_STOPPED = /"msg":"database: embedded PostgreSQL \(pid \d+\) stopped in \d+ ms"/;
const ERROR_LINE = /"level":"error"/;
/** What a start says when it found something of the previous server on its data folder. */
const RECOVERED =
  /"msg":"database: (waited|removing|stopping the PostgreSQL|the PostgreSQL server|processes of an earlier)/;

let folder: Awaited<ReturnType<typeof temporaryDataFolder>>;
let env: Record<string, string>;

beforeAll(async () => {
  folder = await temporaryDataFolder();
  env = { EMBEDDED_PG_DATA_DIR: folder.dataDir, AUTH_MODE: 'open' };
});

afterAll(async () => {
  await stopAllGatewayProcesses();
  await folder.remove();
});

/** A gateway, its data folder's real path and its watchdog, the process a container runtime would also kill. */
interface Started {
  readonly gateway: GatewayGroup;
  readonly dataDir: string;
  readonly watchdogs: readonly number[];
}

async function start(npmStart = false): Promise<Started> {
  const gateway = await startGatewayGroup(env, { npmStart });
  const dataDir = await realpath(folder.dataDir);
  // Under `npm start` the gateway is npm's child (the script execs node), and the watchdog its child.
  const gateways = npmStart ? await childrenOf(gateway.pid, 'dist/main.js') : [gateway.pid];
  const watchdogs = await Promise.all(gateways.map((pid) => childrenOf(pid, 'fifo-gateway-pg-watchdog')));
  return { gateway, dataDir, watchdogs: watchdogs.flat() };
}

/** Some traffic first, so that the pools and the live listener hold connections when the signal comes. */
async function use(gateway: GatewayGroup): Promise<void> {
  const request = graphqlClient(gateway.url);
  const answers = await Promise.all(Array.from({ length: 6 }, () => request(ServicesDocument, {})));
  for (const answer of answers) expectData(answer);
}

/** What a container runtime does once its main process has exited: SIGKILL to every process left. */
function killEverythingLeft({ gateway, dataDir, watchdogs }: Started): void {
  gateway.killGroup('SIGKILL');
  for (const pid of [...postgresProcessesOn(dataDir), ...watchdogs]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** The gateway's lines from the signal on, for a failure message. */
const fromSignal = (output: string): string => {
  const lines = output.trim().split('\n');
  const at = lines.findIndex((line) => /"msg":"SIG(INT|TERM)/.test(line));
  return lines.slice(at < 0 ? -8 : Math.max(0, at - 1)).join('\n');
};

/**
 * `ROUNDS` rounds of: some requests, `stop` (the signal), the checks on the
 * gateway's exit, everything left killed, a new start at once. Returns what
 * went wrong, one line per problem (empty when nothing did).
 */
async function restartRounds(
  stop: (gateway: GatewayGroup) => void,
  { rounds = ROUNDS, npmStart = false }: { rounds?: number; npmStart?: boolean } = {},
): Promise<string[]> {
  const problems: string[] = [];
  const stopMs: number[] = [];
  let current = await start(npmStart);
  for (let round = 1; round <= rounds; round++) {
    const { gateway, dataDir } = current;
    await use(gateway);
    const signalled = performance.now();
    // Checked on the exit event itself: a runtime kills what is left right after.
    const atExit = gateway.exited.then((exit) => ({ exit, servers: postgresServersOn(dataDir) }));
    stop(gateway);
    const timer = setTimeout(() => gateway.killGroup('SIGKILL'), EXIT_WITHIN_MS);
    const { exit, servers } = await atExit;
    clearTimeout(timer);
    stopMs.push(performance.now() - signalled);
    await timeUntil(() => STOPPED.test(gateway.output()), OUTPUT_WITHIN_MS);
    const output = gateway.output();
    const said = fromSignal(output);
    if (servers.length > 0)
      problems.push(`round ${round}: PostgreSQL (pid ${servers.join(', ')}) still ran when the gateway had exited`);
    if (exit.code !== 0) problems.push(`round ${round}: exited with ${exit.code ?? exit.signal}:\n${said}`);
    if (!DATABASE_STOPPED.test(output) || !STOPPED.test(output))
      problems.push(`round ${round}: the log does not say that the database and the gateway stopped:\n${said}`);
    // From the endpoint on: the database shutting down under the gateway shows up before the signal's own line.
    const errors = output
      .slice(output.indexOf('GraphQL endpoint'))
      .split('\n')
      .filter((line) => ERROR_LINE.test(line));
    if (errors.length > 0) problems.push(`round ${round}: errors were logged:\n${errors.join('\n')}`);
    killEverythingLeft(current);
    try {
      current = await start(npmStart);
    } catch (error) {
      problems.push(`round ${round}: the start right after failed: ${String(error)}`);
      return problems;
    }
  }
  const exit = await current.gateway.stop();
  expect(exit.code).toBe(0);
  expect(postgresProcessesOn(current.dataDir)).toEqual([]);
  console.info(
    `shutdown${npmStart ? ' (npm start)' : ''}: ${rounds} rounds, signal to exit in ${stopMs.map((ms) => Math.round(ms)).join(', ')} ms; ` +
      `${problems.length} problems`,
  );
  return problems;
}

/**
 * Stops cut short: SIGTERM, then a moment later everything SIGKILLed before
 * the gateway has stopped (a runtime that did not wait for it), or only its
 * process group (a terminal closed, a supervisor's group kill: the server,
 * in a group of its own, is then stopped by the watchdog). The server is
 * killed or left half-way; the start right after must still succeed.
 */
async function cutShortRounds(): Promise<{ problems: string[]; recovered: number }> {
  const problems: string[] = [];
  let recovered = 0;
  let current = await start();
  for (let round = 1; round <= CUT_SHORT_ROUNDS; round++) {
    await use(current.gateway);
    current.gateway.kill('SIGTERM');
    // From at once to about when a clean stop would be done, spread over the rounds.
    await sleep((round * 37) % 120);
    if (round % 2 === 1) killEverythingLeft(current);
    else current.gateway.killGroup('SIGKILL');
    await current.gateway.exited;
    try {
      current = await start();
      if (RECOVERED.test(current.gateway.output())) recovered++;
    } catch (error) {
      problems.push(`round ${round}: the start right after failed: ${String(error)}`);
      return { problems, recovered };
    }
  }
  expect((await current.gateway.stop()).code).toBe(0);
  console.info(
    `shutdown cut short: ${CUT_SHORT_ROUNDS} rounds, ${recovered} starts found the previous server's remains`,
  );
  return { problems, recovered };
}

describe('stopping the gateway and starting it again at once', () => {
  it('SIGTERM to the gateway: it exits after its PostgreSQL, says so, and every start right after succeeds', async () => {
    expect(await restartRounds((gateway) => gateway.kill('SIGTERM'))).toEqual([]);
  });

  it('SIGINT to its process group (a Ctrl-C): the same', async () => {
    expect(await restartRounds((gateway) => gateway.killGroup('SIGINT'))).toEqual([]);
  });

  it('SIGTERM to `npm start` (a service manager, a container runtime): npm exits after the gateway and its PostgreSQL', async () => {
    // npm passes the signal to its script's process: the script must exec node, not
    // keep a shell between them that dies at once and lets npm exit first.
    expect(await restartRounds((gateway) => gateway.kill('SIGTERM'), { rounds: NPM_ROUNDS, npmStart: true })).toEqual(
      [],
    );
  });

  it('SIGTERM, then killed before it has stopped: every start right after succeeds', async () => {
    expect((await cutShortRounds()).problems).toEqual([]);
  });
});
