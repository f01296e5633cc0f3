// A pg_auto_failover cluster on loopback, for the failover suite: a monitor
// and two PostgreSQL 15 data nodes with synchronous replication (`ANY 1`)
// and short health timeouts, in a fresh temporary folder, run as the
// `postgres` OS user when the tests run as root (pg_autoctl refuses root).
//
// It gives the multi-host URL a gateway is pointed at, and the steps a test
// takes: which node is primary, a SIGKILL of the whole primary node (its
// pg_autoctl and every PostgreSQL process), the killed node started again
// until it is a secondary, and a planned switchover. Every step is bounded
// by a timeout, measured, and logged; a failure names the step and carries
// the monitor's view and the tail of pg_autoctl's output.
//
// `stop()` kills every process whose working folder is inside the cluster's
// folder (PostgreSQL works in its data folder, pg_autoctl in its node's) and
// every descendant of the pg_autoctl processes started here, then removes
// the folder; the same happens synchronously when the test process exits,
// and at the next start for folders whose test process has died.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { access, chmod, chown, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { constants, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { serverUserFor, type OsUser } from '../../src/db/os-user.js';

/** Where PostgreSQL's binaries are (Debian's postgresql-15). */
export const POSTGRES_BIN = process.env['FAILOVER_POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin';
/** pg_auto_failover's command (Debian's pg-auto-failover-cli). */
export const PG_AUTOCTL = process.env['FAILOVER_PG_AUTOCTL'] ?? '/usr/bin/pg_autoctl';
/** The Debian packages the cluster needs (.ci/run installs them). */
export const PACKAGES = ['postgresql-15', 'postgresql-15-auto-failover', 'pg-auto-failover-cli'] as const;
/** The database the gateway uses, and the role it connects as (trusted from 127.0.0.1). */
export const DATABASE = 'gateway';
export const DATABASE_USER = 'gateway';

/** Failover timing on the monitor (milliseconds), as docs/deployment.md gives them. */
export const MONITOR_SETTINGS = {
  'pgautofailover.health_check_period': 1000,
  'pgautofailover.health_check_timeout': 1000,
  'pgautofailover.health_check_max_retries': 1,
  'pgautofailover.health_check_retry_delay': 500,
  'pgautofailover.node_considered_unhealthy_timeout': 3000,
  'pgautofailover.primary_demote_timeout': 6000,
} as const;
/** Per node (seconds): below the monitor's demote timeout. */
export const NODE_SETTINGS = { 'timeout.network_partition_timeout': 4 } as const;

const FOLDER_PREFIX = 'pg-failover-';
const COMMAND_TIMEOUT_MS = 60_000;
const NODE_UP_TIMEOUT_MS = 120_000;
const REJOIN_TIMEOUT_MS = 120_000;
const FAILOVER_TIMEOUT_MS = 60_000;
const SWITCHOVER_TIMEOUT_MS = 60_000;
const KILL_TIMEOUT_MS = 10_000;
/** How often a wait asks the primary for an immediate checkpoint (a base backup waits for one). */
const CHECKPOINT_NUDGE_MS = 2_000;
const OUTPUT_LIMIT = 2_000_000;
const TAIL_LINES = 40;

export type NodeName = 'node1' | 'node2';

export interface ClusterNode {
  readonly name: NodeName;
  readonly port: number;
  /** The node's folder (pg_autoctl works here); its data folder is `pgdata` inside. */
  readonly dir: string;
  readonly pgdata: string;
  /** A single-host URL of this node (as the superuser), for checks. */
  readonly url: string;
}

/** One node as the monitor sees it. */
export interface NodeState {
  readonly name: string;
  readonly port: number;
  readonly reported: string;
  readonly assigned: string;
  /** 1 healthy, 0 unhealthy, -1 unknown (the monitor's health check). */
  readonly health: number;
  readonly lsn: string;
  readonly timeline: number;
}

export interface ClusterState {
  readonly nodes: readonly NodeState[];
  /** The node the monitor holds writable (primary, wait_primary or single, reported as assigned). */
  readonly primary: ClusterNode | undefined;
  /** The node in sync as secondary, if any. */
  readonly secondary: ClusterNode | undefined;
}

/** One measured step, also logged as `[cluster] step: ms`. */
export interface Step {
  readonly step: string;
  readonly ms: number;
  readonly detail: string;
}

export interface Kill {
  readonly node: ClusterNode;
  /** performance.now() when the last SIGKILL was sent. */
  readonly at: number;
  readonly pids: readonly number[];
}

export interface Switchover {
  readonly from: ClusterNode;
  readonly to: ClusterNode;
  /** performance.now() when `pg_autoctl perform switchover` was started. */
  readonly at: number;
  /** Until the command returned. */
  readonly commandMs: number;
  /** performance.now() when `to` was seen writable (by the monitor and by a write). */
  readonly writableAt: number;
  /** Until the monitor showed `to` writable and `from` secondary, and `to` took a write. */
  readonly ms: number;
}

export interface FailoverCluster {
  /** The libpq multi-host URL of both data nodes, for DATABASE_URL. */
  readonly url: string;
  /** `pg_autoctl show uri --formation default`, as the operator would copy it. */
  readonly formationUri: string;
  readonly monitorUrl: string;
  readonly folder: string;
  readonly nodes: readonly [ClusterNode, ClusterNode];
  readonly steps: readonly Step[];
  /** The monitor's view of the data nodes. */
  state(): Promise<ClusterState>;
  /** Waits until a node is writable (by the monitor and by a write on it), `node` if given; returns it. */
  waitForPrimary(node?: ClusterNode, timeoutMs?: number): Promise<ClusterNode>;
  /** SIGKILLs the primary's pg_autoctl and every PostgreSQL process of it. */
  killPrimary(): Promise<Kill>;
  /** Starts a killed node's pg_autoctl again; resolves once it is secondary (and the other primary), with the ms it took. */
  rejoin(node: ClusterNode): Promise<number>;
  /**
   * `pg_autoctl perform switchover`; resolves once the roles have swapped.
   * `stallOldPrimaryMs`: the old primary's pg_autoctl is stopped (SIGSTOP)
   * for that long as the command starts, as on a starved machine: its
   * PostgreSQL keeps running, and taking connections, after the standby is
   * promoted (once the monitor's demote timeout has passed).
   */
  switchover(options?: { readonly stallOldPrimaryMs?: number }): Promise<Switchover>;
  /** Runs SQL on one node as the superuser (a fresh connection). */
  query<Row extends pg.QueryResultRow>(node: ClusterNode, text: string, values?: unknown[]): Promise<Row[]>;
  /** The tail of every pg_autoctl process's output, for a failure message. */
  logs(lines?: number): string;
  /** Kills everything and removes the folder; safe to call twice, and after a failed start. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Where steps are logged; console.log by default. */
  readonly log?: (line: string) => void;
}

interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output(): string;
}

/** Clusters not yet stopped, killed synchronously if the test process exits first. */
const live = new Set<{ folder: string; pids: () => number[] }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cluster of live) {
      killProcessesSync(() => [...cluster.pids(), ...processesUnder(cluster.folder)]);
      removeSharedMemory(
        ['monitor', 'node1', 'node2'].flatMap((name) => sharedMemoryOf(join(cluster.folder, name, 'pgdata')) ?? []),
      );
      try {
        rmSync(cluster.folder, { recursive: true, force: true });
      } catch {
        // Best effort: the next start removes it.
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Processes, from /proc.

function processIds(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a zombie holds nothing but its pid). */
function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

function workingFolder(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** A process's command name (/proc/<pid>/comm), or undefined once it is gone. */
function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Running processes whose working folder is `folder` or inside it. */
function processesUnder(folder: string): number[] {
  return processIds().filter((pid) => {
    if (pid === process.pid) return false;
    const cwd = workingFolder(pid);
    return cwd !== undefined && (cwd === folder || cwd.startsWith(`${folder}/`)) && isRunning(pid);
  });
}

/** `roots` and every running descendant of them. */
function descendants(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of processIds()) {
    const parent = Number(statFields(pid)?.[1]);
    if (!Number.isInteger(parent)) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found = new Set<number>();
  const queue = roots.filter((pid) => isRunning(pid));
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (found.has(pid)) continue;
    found.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...found].filter((pid) => pid !== process.pid);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * Freezes (SIGSTOP) what `find` names until it names nothing new, so no
 * process forks or restarts a child meanwhile, then SIGKILLs all of them at
 * once. Returns the pids killed.
 */
function killProcessesSync(find: () => number[]): number[] {
  const frozen = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const fresh = find().filter((pid) => !frozen.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, 'SIGSTOP');
      frozen.add(pid);
    }
  }
  for (const pid of frozen) signal(pid, 'SIGKILL');
  return [...frozen];
}

/** Kills what `find` names, again until nothing of it runs; throws past `timeoutMs`. */
async function killProcesses(what: string, find: () => number[], timeoutMs = KILL_TIMEOUT_MS): Promise<number[]> {
  const started = performance.now();
  const killed = new Set<number>();
  for (;;) {
    for (const pid of killProcessesSync(find)) killed.add(pid);
    await sleep(20);
    const left = [...killed, ...find()].filter((pid) => isRunning(pid));
    if (left.length === 0) return [...killed];
    if (performance.now() - started > timeoutMs)
      throw new Error(`${what}: processes ${left.join(', ')} still run ${timeoutMs} ms after SIGKILL`);
  }
}

// ---------------------------------------------------------------------------

/**
 * The System V shared memory segment a server on `pgdata` registered in its
 * postmaster.pid (line 7: key and id), as `key id`. A server killed with
 * SIGKILL leaves it behind (56 bytes, attached by none); a server that starts
 * on the folder again replaces it.
 */
function sharedMemoryOf(pgdata: string): string | undefined {
  try {
    const line = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[6] ?? '';
    const [key, id] = line.trim().split(/\s+/);
    return key && id && /^\d+$/.test(key) && /^\d+$/.test(id) ? `${key} ${id}` : undefined;
  } catch {
    return undefined;
  }
}

/** How many processes have the segment (`key id`) attached; undefined when it is gone. */
function attachments(segment: string): number | undefined {
  try {
    const fields = readFileSync('/proc/sysvipc/shm', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((each) => `${each[0]} ${each[1]}` === segment);
    return fields ? Number(fields[6]) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the segments (`key id`) that still exist and that no process has attached; best effort. */
function removeSharedMemory(segments: Iterable<string>): void {
  for (const segment of new Set(segments)) {
    if (attachments(segment) !== 0) continue;
    spawnSync('ipcrm', ['-m', segment.split(' ')[1]!], { stdio: 'ignore' });
  }
}

/** A port nothing listens on now (the OS picks; closed again at once). */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Folders of earlier runs whose test process has died: their processes are killed, the folders removed. */
async function removeStaleClusters(log: (line: string) => void): Promise<void> {
  const root = tmpdir();
  for (const entry of await readdir(root)) {
    const owner = new RegExp(`^${FOLDER_PREFIX}(\\d+)-`).exec(entry)?.[1];
    if (!owner || isRunning(Number(owner))) continue;
    const folder = join(root, entry);
    const pids = await killProcesses(`stale cluster ${folder}`, () => processesUnder(folder));
    removeSharedMemory(
      ['monitor', 'node1', 'node2'].flatMap((name) => sharedMemoryOf(join(folder, name, 'pgdata')) ?? []),
    );
    await rm(folder, { recursive: true, force: true });
    log(`[cluster] removed a stale cluster folder ${folder} (killed ${pids.length} processes)`);
  }
}

/** Throws a clear error unless pg_autoctl and PostgreSQL 15 are installed. */
async function checkInstalled(): Promise<void> {
  const missing: string[] = [];
  for (const [path, what] of [
    [join(POSTGRES_BIN, 'pg_ctl'), 'PostgreSQL 15 (postgresql-15)'],
    [PG_AUTOCTL, 'pg_autoctl (pg-auto-failover-cli)'],
  ] as const) {
    await access(path, constants.X_OK).catch(() => missing.push(`${what} at ${path}`));
  }
  // The monitor's extension, in the server's share folder.
  const pgConfig = spawnSync(join(POSTGRES_BIN, 'pg_config'), ['--sharedir'], { encoding: 'utf8' });
  const share = pgConfig.error ? '' : pgConfig.stdout.trim();
  const control = join(share || '/usr/share/postgresql/15', 'extension', 'pgautofailover.control');
  await access(control).catch(() =>
    missing.push(`the pgautofailover extension (postgresql-15-auto-failover) at ${control}`),
  );
  if (missing.length > 0)
    throw new Error(
      `the failover suite needs ${missing.join(' and ')}: apt-get install ${PACKAGES.join(' ')} ` +
        `(.ci/run does; FAILOVER_POSTGRES_BIN and FAILOVER_PG_AUTOCTL name other paths)`,
    );
}

/** Starts a monitor and two data nodes, primary and synchronous secondary; rejects (after cleaning up) when any step fails. */
export async function startFailoverCluster(options: ClusterOptions = {}): Promise<FailoverCluster> {
  const log = options.log ?? ((line: string) => console.log(line));
  await removeStaleClusters(log);
  const user: OsUser | undefined = serverUserFor('postgres');
  const folder = await mkdtemp(join(tmpdir(), `${FOLDER_PREFIX}${process.pid}-`));
  const xdg = {
    config: join(folder, 'xdg', 'config'),
    data: join(folder, 'xdg', 'data'),
    run: join(folder, 'xdg', 'run'),
  };
  const services = new Map<string, Service>();
  const steps: Step[] = [];
  const registration = { folder, pids: () => descendants([...services.values()].flatMap((s) => s.child.pid ?? [])) };
  live.add(registration);
  installExitHook();

  const env: NodeJS.ProcessEnv = {
    PATH: `${POSTGRES_BIN}:/usr/local/bin:/usr/bin:/bin`,
    HOME: folder,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    XDG_CONFIG_HOME: xdg.config,
    XDG_DATA_HOME: xdg.data,
    XDG_RUNTIME_DIR: xdg.run,
  };
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};

  const record = (step: string, started: number, detail = ''): number => {
    const ms = Math.round(performance.now() - started);
    steps.push({ step, ms, detail });
    log(`[cluster] ${step}: ${ms} ms${detail ? ` (${detail})` : ''}`);
    return ms;
  };

  const allLogs = (lines = TAIL_LINES): string =>
    [...services.values()].map((service) => `--- ${service.name} ---\n${tail(service.output(), lines)}`).join('\n');

  /** A pg_autoctl command that ends; rejects with its output on failure or after `timeoutMs`. */
  const pgAutoctl = async (args: readonly string[], cwd: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> => {
    const child = spawn(PG_AUTOCTL, args, { cwd, env, ...asUser, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code, signalName] = await new Promise<[number | null, NodeJS.Signals | null]>((resolveExit) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        output += `\n(killed after ${timeoutMs} ms)`;
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        output += `\n${String(error)}`;
        resolveExit([null, null]);
      });
      child.once('exit', (exitCode, exitSignal) => {
        clearTimeout(timer);
        resolveExit([exitCode, exitSignal]);
      });
    });
    if (code !== 0)
      throw new Error(`pg_autoctl ${args.join(' ')} failed (exit ${code ?? signalName ?? 'error'}):\n${tail(output)}`);
    return output;
  };

  /** A long-running pg_autoctl (`run`), its output kept for failure messages. */
  const startService = (name: string, args: readonly string[], cwd: string): Service => {
    const child = spawn(PG_AUTOCTL, args, {
      cwd,
      env,
      ...asUser,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C meant for the test runner is not a failover.
      detached: true,
    });
    const previous = services.get(name)?.output() ?? '';
    let output = previous ? `${previous}\n(started again)\n` : '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<void>((resolveExit) => {
      child.once('exit', (code, exitSignal) => {
        output += `\n(pg_autoctl exited: ${code ?? exitSignal})\n`;
        resolveExit();
      });
      child.once('error', (error) => {
        output += `\n(pg_autoctl did not start: ${String(error)})\n`;
        resolveExit();
      });
    });
    const service = { name, child, exited, output: () => output };
    services.set(name, service);
    return service;
  };

  const superuserUrl = (port: number, database: string) =>
    `postgres://postgres@127.0.0.1:${port}/${database}?sslmode=disable`;

  const query = async <Row extends pg.QueryResultRow>(
    url: string,
    text: string,
    values: unknown[] = [],
  ): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.query<Row>(text, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  /** Every data folder of the cluster, for the shared memory its servers leave. */
  const pgdatas: string[] = [];
  /** The segments of servers killed by killPrimary(). */
  const killedSegments = new Set<string>();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const started = performance.now();
    const roots = [...services.values()].flatMap((service) => service.child.pid ?? []);
    const pids = await killProcesses(`stopping the cluster in ${folder}`, () => [
      ...descendants(roots),
      ...processesUnder(folder),
    ]);
    await Promise.all([...services.values()].map((service) => service.exited));
    removeSharedMemory([...killedSegments, ...pgdatas.flatMap((pgdata) => sharedMemoryOf(pgdata) ?? [])]);
    await rm(folder, { recursive: true, force: true });
    live.delete(registration);
    record('stop', started, `${pids.length} processes killed, ${folder} removed`);
  };

  try {
    await checkInstalled();
    const [monitorPort, port1, port2] = await Promise.all([freePort(), freePort(), freePort()]);
    if (new Set([monitorPort, port1, port2]).size !== 3) throw new Error('the OS gave the same free port twice');
    const makeNode = (name: NodeName, port: number): ClusterNode => {
      const dir = join(folder, name);
      return { name, port, dir, pgdata: join(dir, 'pgdata'), url: superuserUrl(port, DATABASE) };
    };
    const nodes: [ClusterNode, ClusterNode] = [makeNode('node1', port1), makeNode('node2', port2)];
    const monitorDir = join(folder, 'monitor');
    const monitorPgdata = join(monitorDir, 'pgdata');
    pgdatas.push(monitorPgdata, ...nodes.map((node) => node.pgdata));
    for (const dir of [folder, ...Object.values(xdg), monitorDir, ...nodes.map((node) => node.dir)]) {
      await mkdir(dir, { recursive: true });
      if (user) await chown(dir, user.uid, user.gid);
      await chmod(dir, 0o700);
    }
    const monitorUrl = `postgres://autoctl_node@127.0.0.1:${monitorPort}/pg_auto_failover?sslmode=disable`;
    const monitorSuperuser = superuserUrl(monitorPort, 'pg_auto_failover');
    const common = ['--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl', '--pgctl', join(POSTGRES_BIN, 'pg_ctl')];

    /** The monitor's view; throws when it cannot be asked. */
    const monitorState = async (): Promise<NodeState[]> => {
      const rows = await query<{
        nodename: string;
        nodeport: number;
        current_group_state: string;
        assigned_group_state: string;
        health: number;
        reported_lsn: string;
        reported_tli: number;
      }>(monitorSuperuser, `SELECT * FROM pgautofailover.current_state('default') ORDER BY node_id`);
      return rows.map((row) => ({
        name: row.nodename,
        port: row.nodeport,
        reported: row.current_group_state,
        assigned: row.assigned_group_state,
        health: row.health,
        lsn: row.reported_lsn,
        timeline: row.reported_tli,
      }));
    };
    const describeState = async (): Promise<string> =>
      monitorState()
        .then((states) =>
          states
            .map(
              (s) => `${s.name} :${s.port} ${s.reported}→${s.assigned} health ${s.health} tli ${s.timeline} ${s.lsn}`,
            )
            .join('; '),
        )
        .catch((error: unknown) => `(monitor not reachable: ${String(error)})`);

    const nodeOf = (name: string) => nodes.find((node) => node.name === name);
    const WRITABLE = ['primary', 'wait_primary', 'single'];
    const state = async (): Promise<ClusterState> => {
      const states = await monitorState();
      const stable = states.filter((s) => s.reported === s.assigned);
      const primary = stable.find((s) => WRITABLE.includes(s.reported));
      const secondary = stable.find((s) => s.reported === 'secondary');
      return {
        nodes: states,
        primary: primary && nodeOf(primary.name),
        secondary: secondary && nodeOf(secondary.name),
      };
    };

    /** Whether `node` takes writes now: not in recovery, not read-only (a just-promoted node briefly is). */
    const writable = async (node: ClusterNode): Promise<boolean> => {
      const [row] = await query<{ ok: boolean }>(
        node.url,
        `SELECT NOT pg_is_in_recovery() AND NOT current_setting('transaction_read_only')::bool AS ok`,
      ).catch(() => [{ ok: false }]);
      return row?.ok ?? false;
    };

    /** Polls `check` until it holds; throws naming `what` with the monitor's view and pg_autoctl's output. */
    const waitUntil = async (
      what: string,
      check: () => Promise<boolean>,
      timeoutMs: number,
      nudge?: () => Promise<void>,
    ): Promise<number> => {
      const started = performance.now();
      let nudged = started;
      for (;;) {
        if (await check().catch(() => false)) return performance.now() - started;
        const now = performance.now();
        if (now - started > timeoutMs)
          throw new Error(`${what}: not within ${timeoutMs} ms. Monitor: ${await describeState()}\n${allLogs()}`);
        if (nudge && now - nudged > CHECKPOINT_NUDGE_MS) {
          nudged = now;
          await nudge().catch(() => undefined);
        }
        await sleep(100);
      }
    };

    /** A base backup (a standby's first copy, or a rejoin's fallback) waits for a checkpoint; ask for one now. */
    const checkpointPrimary = async (): Promise<void> => {
      const { primary } = await state();
      if (primary) await query(primary.url, 'CHECKPOINT');
    };

    const nodeReached = (node: ClusterNode, states: readonly string[]) => async () => {
      const current = (await monitorState()).find((s) => s.name === node.name);
      return current !== undefined && current.reported === current.assigned && states.includes(current.reported);
    };

    // The monitor: created, started, then told the short timeouts.
    let started = performance.now();
    await pgAutoctl(
      [
        'create',
        'monitor',
        '--pgdata',
        monitorPgdata,
        '--pgport',
        String(monitorPort),
        '--listen',
        '127.0.0.1',
        ...common,
      ],
      monitorDir,
    );
    startService('monitor', ['run', '--pgdata', monitorPgdata], monitorDir);
    await waitUntil('the monitor accepts connections', async () => (await monitorState(), true), NODE_UP_TIMEOUT_MS);
    for (const [name, value] of Object.entries(MONITOR_SETTINGS))
      await query(monitorSuperuser, `ALTER SYSTEM SET ${name} = ${value}`);
    await query(monitorSuperuser, 'SELECT pg_reload_conf()');
    record('monitor up', started, `port ${monitorPort}`);

    // The data nodes, one after the other: the second registers once the first is `single`.
    const createNode = async (node: ClusterNode, states: readonly string[]): Promise<void> => {
      const nodeStarted = performance.now();
      await pgAutoctl(
        [
          'create',
          'postgres',
          '--pgdata',
          node.pgdata,
          '--pgport',
          String(node.port),
          '--listen',
          '127.0.0.1',
          '--name',
          node.name,
          '--dbname',
          DATABASE,
          '--monitor',
          monitorUrl,
          ...common,
        ],
        node.dir,
        NODE_UP_TIMEOUT_MS,
      );
      for (const [name, value] of Object.entries(NODE_SETTINGS))
        await pgAutoctl(['config', 'set', '--pgdata', node.pgdata, name, String(value)], node.dir);
      startService(node.name, ['run', '--pgdata', node.pgdata], node.dir);
      await waitUntil(
        `${node.name} reaches ${states.join(' or ')}`,
        nodeReached(node, states),
        NODE_UP_TIMEOUT_MS,
        checkpointPrimary,
      );
      record(`${node.name} up`, nodeStarted, `port ${node.port}, ${states.join('/')}`);
    };
    started = performance.now();
    await createNode(nodes[0], ['single']);
    await createNode(nodes[1], ['secondary']);
    await waitUntil('node1 is primary', nodeReached(nodes[0], ['primary']), NODE_UP_TIMEOUT_MS);

    // The gateway's role and database, and the check that replication is synchronous.
    const [sync] = await query<{ names: string }>(
      nodes[0].url,
      `SELECT current_setting('synchronous_standby_names') AS names`,
    );
    if (!sync?.names)
      throw new Error(`replication is not synchronous: synchronous_standby_names is empty. ${await describeState()}`);
    await query(nodes[0].url, `CREATE ROLE ${DATABASE_USER} LOGIN`);
    await query(nodes[0].url, `ALTER DATABASE ${DATABASE} OWNER TO ${DATABASE_USER}`);
    const formationUri = (
      await pgAutoctl(['show', 'uri', '--pgdata', monitorPgdata, '--formation', 'default'], monitorDir)
    ).trim();
    const url =
      `postgres://${DATABASE_USER}@${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}/${DATABASE}` +
      `?target_session_attrs=read-write`;
    record('cluster up', started, `synchronous_standby_names = ${sync.names}; ${url}`);

    const waitForPrimary = async (node?: ClusterNode, timeoutMs = FAILOVER_TIMEOUT_MS): Promise<ClusterNode> => {
      let found: ClusterNode | undefined;
      await waitUntil(
        node ? `${node.name} becomes a writable primary` : 'a node becomes a writable primary',
        async () => {
          const { primary } = await state();
          if (!primary || (node && primary.name !== node.name) || !(await writable(primary))) return false;
          found = primary;
          return true;
        },
        timeoutMs,
      );
      return found!;
    };

    const killPrimary = async (): Promise<Kill> => {
      const before = await state();
      const node = before.primary;
      if (!node) throw new Error(`killPrimary: no node is primary. Monitor: ${await describeState()}`);
      const service = services.get(node.name);
      const roots = service?.child.pid ? [service.child.pid] : [];
      const pids = await killProcesses(`killing ${node.name}`, () => [
        ...descendants(roots),
        ...processesUnder(node.dir),
      ]);
      const at = performance.now();
      // Its shared memory stays behind; removed at stop() unless a restart took it over.
      const segment = sharedMemoryOf(node.pgdata);
      if (segment !== undefined) killedSegments.add(segment);
      await service?.exited;
      log(`[cluster] SIGKILL ${node.name} (primary, port ${node.port}): ${pids.length} processes`);
      return { node, at, pids };
    };

    const rejoin = async (node: ClusterNode): Promise<number> => {
      const rejoinStarted = performance.now();
      const other = nodes.find((each) => each !== node)!;
      const running = services.get(node.name);
      if (running && running.child.exitCode === null && running.child.signalCode === null)
        throw new Error(`rejoin: ${node.name}'s pg_autoctl still runs`);
      startService(node.name, ['run', '--pgdata', node.pgdata], node.dir);
      await waitUntil(
        `${node.name} rejoins as secondary`,
        async () => (await nodeReached(node, ['secondary'])()) && (await nodeReached(other, ['primary'])()),
        REJOIN_TIMEOUT_MS,
        checkpointPrimary,
      );
      return record(`${node.name} rejoined`, rejoinStarted);
    };

    /** SIGSTOPs `node`'s pg_autoctl processes (not its PostgreSQL) and SIGCONTs them `ms` later. */
    const stallKeeper = (node: ClusterNode, ms: number): Promise<void> => {
      const service = services.get(node.name);
      const keeper = [
        ...new Set([...descendants(service?.child.pid ? [service.child.pid] : []), ...processesUnder(node.dir)]),
      ].filter((pid) => commandName(pid) === 'pg_autoctl');
      for (const pid of keeper) signal(pid, 'SIGSTOP');
      log(`[cluster] SIGSTOP ${node.name}'s pg_autoctl (${keeper.join(', ')}) for ${ms} ms`);
      return sleep(ms).then(() => {
        for (const pid of keeper) signal(pid, 'SIGCONT');
      });
    };

    const switchover = async ({ stallOldPrimaryMs = 0 } = {}): Promise<Switchover> => {
      const before = await state();
      if (!before.primary || !before.secondary)
        throw new Error(`switchover: needs a primary and a secondary. Monitor: ${await describeState()}`);
      const from = before.primary;
      const to = before.secondary;
      const at = performance.now();
      const stalled = stallOldPrimaryMs > 0 ? stallKeeper(from, stallOldPrimaryMs) : Promise.resolve();
      await pgAutoctl(
        ['perform', 'switchover', '--pgdata', monitorPgdata, '--formation', 'default', '--group', '0'],
        monitorDir,
        SWITCHOVER_TIMEOUT_MS,
      );
      const commandMs = performance.now() - at;
      await waitForPrimary(to, SWITCHOVER_TIMEOUT_MS);
      const writableAt = performance.now();
      await waitUntil(
        `${from.name} follows ${to.name} after the switchover`,
        nodeReached(from, ['secondary']),
        SWITCHOVER_TIMEOUT_MS,
        checkpointPrimary,
      );
      await stalled;
      const ms = record(
        `switchover ${from.name} → ${to.name}`,
        at,
        `command ${Math.round(commandMs)} ms${stallOldPrimaryMs > 0 ? `, ${from.name}'s pg_autoctl stalled ${stallOldPrimaryMs} ms` : ''}`,
      );
      return { from, to, at, commandMs, writableAt, ms };
    };

    return {
      url,
      formationUri,
      monitorUrl,
      folder,
      nodes,
      steps,
      state,
      waitForPrimary,
      killPrimary,
      rejoin,
      switchover,
      query: (node, text, values) => query(node.url, text, values),
      logs: allLogs,
      stop,
    };
  } catch (error) {
    const logs = allLogs();
    await stop().catch(() => undefined);
    if (error instanceof Error)
      error.message = `starting the failover cluster: ${error.message}${error.message.includes('--- monitor ---') ? '' : `\n${logs}`}`;
    throw error;
  }
}
