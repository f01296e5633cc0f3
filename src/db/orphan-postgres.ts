// Recovery of a data folder that a crashed gateway left behind. When a
// gateway dies without stopping its embedded server (kill -9, an OOM kill)
// and its watchdog could not stop it either, the server keeps running and
// the next start would fail on `postmaster.pid`. When the gateway's whole
// process group is killed while it stops (a container runtime once its main
// process has exited), the server is killed half-way: until its parent reaps
// it, it is a zombie that PostgreSQL takes for a live server, and its
// children run on for a moment holding its shared memory. Either way the
// next start would fail at once. Called only while holding the data
// folder's lock (data-folder-lock.ts), so a server found on the folder
// belongs to no live gateway.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  commandLine,
  hasProcfs,
  isAlive,
  isPostgresServer,
  isZombie,
  postgresProcessesOn,
  servesDataDir,
} from './process-info.js';
import { STOP_SEQUENCE, type StopSequence } from './stop-sequence.js';

export type PostmasterState =
  /** No postmaster.pid: no server has the folder. */
  | { readonly kind: 'none' }
  /** postmaster.pid names a dead process, or one that is not a server on this folder (its pid was reused). */
  | { readonly kind: 'stale'; readonly pid: number; readonly alive: boolean }
  /** A PostgreSQL server runs on this folder; `stopping` once it has begun to shut down. */
  | { readonly kind: 'running'; readonly pid: number; readonly port: number | undefined; readonly stopping: boolean }
  /** postmaster.pid names a process that has exited but is not yet reaped: a killed server whose parent is gone. */
  | { readonly kind: 'zombie'; readonly pid: number }
  /** A live process holds the pid and this system cannot tell what it is (no /proc). */
  | { readonly kind: 'unknown'; readonly pid: number };

/**
 * Lines of postmaster.pid (PostgreSQL's miscadmin.h): pid, data folder, start
 * time, port, socket folder, listen address, shared memory key, status (the
 * 8th: `starting`, `ready`, `standby`, or `stopping` once a shutdown began).
 */
export async function readPostmasterPid(dataDir: string): Promise<
  | {
      readonly pid: number;
      readonly port: number | undefined;
      readonly status: string | undefined;
    }
  | undefined
> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // A file cut short by a crash while it was written: no server got as far as running.
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, port: undefined, status: undefined };
  return { pid, port: Number.isInteger(port) && port > 0 ? port : undefined, status: lines[7]?.trim() || undefined };
}

/** What holds `dataDir` (an absolute, real path) according to its postmaster.pid and /proc. */
export async function inspectDataDir(dataDir: string): Promise<PostmasterState> {
  const found = await readPostmasterPid(dataDir);
  if (!found) return { kind: 'none' };
  const { pid, port, status } = found;
  if (pid === 0) return { kind: 'stale', pid, alive: false };
  if (isZombie(pid)) return { kind: 'zombie', pid };
  if (!isAlive(pid)) return { kind: 'stale', pid, alive: false };
  if (!hasProcfs()) return { kind: 'unknown', pid };
  const argv = commandLine(pid);
  if (argv === undefined) return { kind: 'unknown', pid };
  if (isPostgresServer(argv) && servesDataDir(pid, argv, dataDir))
    return { kind: 'running', pid, port, stopping: status === 'stopping' };
  return { kind: 'stale', pid, alive: true };
}

const POLL_MS = 50;

/** Polls `done` until it holds (true) or `withinMs` has passed (false). */
async function within(withinMs: number, done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

// A pid reused by something else than a server means ours is gone.
const exited = (pid: number, withinMs: number): Promise<boolean> =>
  within(withinMs, () => !isAlive(pid) || !isPostgresServer(commandLine(pid)));

/**
 * Stops a server that is not our child, the way PostgreSQL's documentation
 * says (stop-sequence.ts): fast shutdown first, immediate shutdown if that
 * hangs, SIGKILL last.
 */
export async function stopOrphan(pid: number, steps: StopSequence = STOP_SEQUENCE): Promise<void> {
  for (const { signal, waitMs } of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await exited(pid, waitMs)) return;
  }
  const signals = steps.map((step) => step.signal);
  throw new Error(
    `the orphaned PostgreSQL server (pid ${pid}) did not exit after ${signals.slice(0, -1).join(', ')} and ${signals.at(-1)}`,
  );
}

const allExited = (pids: readonly number[], withinMs: number): Promise<boolean> =>
  within(withinMs, () => pids.every((pid) => !isAlive(pid)));

/**
 * Waits for the processes of an earlier server still working in `dataDir`
 * (a killed server's backends and helpers, which exit once they notice, or
 * once a statement they are busy with ends); those still there after an
 * immediate shutdown's wait are killed, as PostgreSQL's hint for the case
 * says. Meant for when no server runs on the folder; one found anyway (its
 * postmaster.pid removed by hand) is stopped first, as `stopOrphan` does.
 * Returns the pids it waited for.
 */
export async function leftoversGone(
  dataDir: string,
  notice: (message: string) => void,
  steps: StopSequence = STOP_SEQUENCE,
): Promise<number[]> {
  const left = postgresProcessesOn(dataDir);
  if (left.length === 0) return [];
  const [, immediate, kill] = steps;
  notice(
    `processes of an earlier PostgreSQL server still run on ${dataDir} (pids ${left.join(', ')}): ` +
      `waiting for them to exit (up to ${immediate.waitMs / 1000} s, then ${kill.signal})`,
  );
  for (const pid of left.filter((pid) => isPostgresServer(commandLine(pid)))) await stopOrphan(pid, steps);
  if (await allExited(left, immediate.waitMs)) return left;
  for (const pid of left) {
    try {
      process.kill(pid, kill.signal);
    } catch {
      // Gone meanwhile.
    }
  }
  if (await allExited(left, kill.waitMs)) return left;
  throw new Error(
    `processes of an earlier PostgreSQL server on ${dataDir} (pids ${left.filter(isAlive).join(', ')}) did not exit, even after ${kill.signal}`,
  );
}

/**
 * Makes `dataDir` startable after a crash: stops a server left running on it
 * (or waits for one still shutting down), removes a postmaster.pid whose pid
 * is a zombie or now belongs to another process (PostgreSQL itself would
 * refuse to start while that process exists), or one cut short, and waits
 * for what is left of a killed server. A dead pid is left to PostgreSQL,
 * which removes its own stale file.
 */
export async function recoverDataDir(dataDir: string, notice: (message: string) => void): Promise<PostmasterState> {
  const started = Date.now();
  const state = await inspectDataDir(dataDir);
  const removeLockFile = async (why: string) => {
    notice(`removing ${join(dataDir, 'postmaster.pid')}: ${why}`);
    await rm(join(dataDir, 'postmaster.pid'), { force: true });
  };
  // A zombie has exited and holds nothing; only its parent's wait is
  // missing, which an init may do seconds later or never. What it left
  // running is waited for below, and PostgreSQL's shared-memory check stays.
  const zombie = (pid: number) =>
    removeLockFile(
      `its server (pid ${pid}) was killed and has exited, but is not yet reaped (PostgreSQL would take it for a running server)`,
    );
  let waitedFor = '';
  if (state.kind === 'running') {
    notice(
      state.stopping
        ? `the PostgreSQL server (pid ${state.pid}) on ${dataDir} is still shutting down: waiting for it to exit`
        : `stopping the PostgreSQL server (pid ${state.pid}) left running on ${dataDir} by a gateway that did not stop`,
    );
    await stopOrphan(state.pid);
    waitedFor = `pid ${state.pid}`;
    // Killed in the end (a hung shutdown), it leaves its postmaster.pid, and a zombie when nobody reaps it.
    const after = await inspectDataDir(dataDir);
    if (after.kind === 'zombie') await zombie(after.pid);
  } else if (state.kind === 'zombie') {
    await zombie(state.pid);
  } else if (state.kind === 'stale' && (state.alive || state.pid === 0)) {
    await removeLockFile(state.alive ? `its pid ${state.pid} now belongs to another process` : 'it was cut short');
  }
  // Only where no server runs: a live process that cannot be inspected
  // ('unknown') may be a server of another user, whose children are its own.
  if (state.kind !== 'unknown') {
    const left = await leftoversGone(dataDir, notice);
    if (left.length > 0) waitedFor += `${waitedFor ? '; ' : ''}its processes ${left.join(', ')}`;
  }
  if (waitedFor)
    notice(`waited ${Date.now() - started} ms for the previous PostgreSQL server on ${dataDir} to exit (${waitedFor})`);
  return state;
}
