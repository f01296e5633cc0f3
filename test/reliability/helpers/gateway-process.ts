// Real gateway OS processes, for tests that kill, restart or run several of
// them: from source (`node --import tsx src/main.ts`, no build needed), or
// through `npm start` itself, which builds and runs the compiled gateway.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PROJECT_ROOT } from '../../../src/config.js';
import { stopOrphan } from '../../../src/db/orphan-postgres.js';
import { commandLine, parentPid, postgresServersOn } from '../../../src/db/process-info.js';

export interface GatewayProcess {
  /** The GraphQL endpoint the gateway printed. */
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal now (SIGKILL for a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<Exit>;
  /** SIGINT (a clean shutdown), SIGKILL if it has not exited within `withinMs`. */
  stop(withinMs?: number): Promise<Exit>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const START_TIMEOUT_MS = 60_000;
// The log is JSON lines: the URL ends at the message's closing quote.
const ENDPOINT = /GraphQL endpoint: ([^\s"]+)/;
const running = new Set<GatewayProcess>();

interface SpawnOptions {
  /** Its own process group (pgid = its pid), as a terminal or a service manager starts it. */
  readonly processGroup?: boolean;
  /** Through `npm start`, as the README says, rather than node directly: the child is then npm. */
  readonly npmStart?: boolean;
}

function spawnGateway(
  env: Readonly<Record<string, string>>,
  { processGroup = false, npmStart = false }: SpawnOptions = {},
): { child: ChildProcess; output: () => string } {
  // The test runner's own DATABASE_URL (if any) must not leak into a gateway that should embed its server.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL' && !name.startsWith('EMBEDDED_PG_DATA')),
  );
  // npm_execpath is npm's own script when the tests run under npm; `npm` on the PATH otherwise.
  const [command, args] = npmStart
    ? process.env.npm_execpath
      ? [process.execPath, [process.env.npm_execpath, 'start', '--silent']]
      : ['npm', ['start', '--silent']]
    : [process.execPath, ['--import', 'tsx', 'src/main.ts']];
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    // Every test client connects from 127.0.0.1: the whole connection cap is theirs (see test-gateway.ts).
    env: { ...inherited, PORT: '0', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '1024', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: processGroup,
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
}

/** Starts a gateway and waits for its endpoint; rejects with its output when it exits or stalls first. */
export async function startGatewayProcess(
  env: Readonly<Record<string, string>>,
  options: SpawnOptions = {},
): Promise<GatewayProcess> {
  const { child, output } = spawnGateway(env, options);
  const exited = exitOf(child);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gateway did not start within ${START_TIMEOUT_MS} ms:\n${output()}`));
    }, START_TIMEOUT_MS);
    const onData = () => {
      const match = ENDPOINT.exec(output());
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolveUrl(match[1]);
    };
    child.stdout?.on('data', onData);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${exit.code ?? exit.signal}) before starting:\n${output()}`));
    });
  });
  const gateway: GatewayProcess = {
    url,
    pid: child.pid ?? 0,
    output,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    exited,
    async stop(withinMs = 20_000) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), withinMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
  running.add(gateway);
  void exited.then(() => running.delete(gateway));
  return gateway;
}

/** Runs a gateway that is expected not to start; resolves with its exit and output. */
export async function failingGatewayProcess(
  env: Readonly<Record<string, string>>,
  withinMs = START_TIMEOUT_MS,
): Promise<Exit & { readonly output: string }> {
  const { child, output } = spawnGateway(env);
  const timer = setTimeout(() => child.kill('SIGKILL'), withinMs);
  const exit = await exitOf(child);
  clearTimeout(timer);
  return { ...exit, output: output() };
}

/** Stops every gateway still running (for afterAll, also when a test failed half-way). */
export async function stopAllGatewayProcesses(): Promise<void> {
  await Promise.all([...running].map((gateway) => gateway.stop(10_000)));
}

/**
 * A temporary folder the embedded server's OS user can reach, with `dataDir`
 * inside it for EMBEDDED_PG_DATA_DIR. `remove` first stops any server still
 * running on it, so a failed test leaves no PostgreSQL behind.
 */
export async function temporaryDataFolder(): Promise<{ readonly dataDir: string; remove(): Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), 'gateway-process-'));
  await chmod(folder, 0o755);
  const dataDir = join(folder, 'postgres');
  return {
    dataDir,
    async remove() {
      const real = await realpath(dataDir).catch(() => undefined);
      if (real) await Promise.all(postgresServersOn(real).map((pid) => stopOrphan(pid)));
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** The connection URL of a gateway's embedded server: its port from the log, its password beside the data folder. */
export async function embeddedDatabaseUrl(gateway: GatewayProcess, dataDir: string): Promise<string> {
  const port = /embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(gateway.output())?.[1];
  if (!port) throw new Error(`the gateway did not say where its PostgreSQL listens:\n${gateway.output()}`);
  const password = (await readFile(`${dataDir}.password`, 'utf8')).trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/** Two gateway processes on one database (the first's embedded server), and a SQL client of it. */
export interface ProcessPair {
  readonly first: GatewayProcess;
  readonly second: GatewayProcess;
  /** Direct SQL on their database, for checking what was stored. */
  readonly sql: pg.Client;
  /** Closes the client, stops every gateway and removes the data folder (for afterAll). */
  stop(): Promise<void>;
}

/** `env` goes to both processes; the first starts the embedded server, the second uses it. */
export async function startProcessPair(env: Readonly<Record<string, string>> = {}): Promise<ProcessPair> {
  const folder = await temporaryDataFolder();
  let sql: pg.Client | undefined;
  const stop = async () => {
    await sql?.end();
    await stopAllGatewayProcesses();
    await folder.remove();
  };
  try {
    const first = await startGatewayProcess({ ...env, EMBEDDED_PG_DATA_DIR: folder.dataDir });
    const databaseUrl = await embeddedDatabaseUrl(first, folder.dataDir);
    const second = await startGatewayProcess({ ...env, DATABASE_URL: databaseUrl });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    sql = client;
    return { first, second, sql: client, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Child processes of `pid` whose command line contains `marker`. */
export async function childrenOf(pid: number, marker: string): Promise<number[]> {
  const entries = await readdir('/proc');
  return entries
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((child) => parentPid(child) === pid && (commandLine(child) ?? []).join(' ').includes(marker));
}

/** Waits until `condition` holds, polling every `everyMs`; returns the time it took, or undefined past `withinMs`. */
export async function timeUntil(condition: () => boolean, withinMs: number, everyMs = 25): Promise<number | undefined> {
  const started = performance.now();
  for (;;) {
    if (condition()) return performance.now() - started;
    if (performance.now() - started > withinMs) return undefined;
    await sleep(everyMs);
  }
}

/** A gateway in a process group of its own, as `npm start` runs in a terminal or under a service manager. */
export interface GatewayGroup extends GatewayProcess {
  /** Sends `signal` to the whole group: SIGINT as a terminal's Ctrl-C, SIGKILL as a container runtime's clean-up. */
  killGroup(signal: NodeJS.Signals): void;
}

/** Starts a gateway (or `npm start`) as the leader of a new process group and waits for its endpoint. */
export async function startGatewayGroup(
  env: Readonly<Record<string, string>>,
  { npmStart = false }: Pick<SpawnOptions, 'npmStart'> = {},
): Promise<GatewayGroup> {
  const gateway = await startGatewayProcess(env, { processGroup: true, npmStart });
  const pgid = gateway.pid;
  return {
    ...gateway,
    killGroup(signal) {
      try {
        process.kill(-pgid, signal);
      } catch (error) {
        // ESRCH: nothing is left in the group.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
  };
}
