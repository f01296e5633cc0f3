// Recovery of a data folder that a crashed gateway left behind. When a
// gateway dies without stopping its embedded server (kill -9, an OOM kill)
// and its watchdog could not stop it either, the server keeps running and
// the next start would fail on `postmaster.pid`. Called only while holding
// the data folder's lock (data-folder-lock.ts), so a server found on the
// folder belongs to no live gateway.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandLine, hasProcfs, isAlive, isPostgresServer, servesDataDir } from './process-info.js';

export type PostmasterState =
  /** No postmaster.pid: no server has the folder. */
  | { readonly kind: 'none' }
  /** postmaster.pid names a dead process, or one that is not a server on this folder (its pid was reused). */
  | { readonly kind: 'stale'; readonly pid: number; readonly alive: boolean }
  /** A PostgreSQL server runs on this folder. */
  | { readonly kind: 'running'; readonly pid: number; readonly port: number | undefined }
  /** A live process holds the pid and this system cannot tell what it is (no /proc). */
  | { readonly kind: 'unknown'; readonly pid: number };

/** Lines of postmaster.pid (PostgreSQL's miscadmin.h): pid, data folder, start time, port, ... */
export async function readPostmasterPid(
  dataDir: string,
): Promise<{ readonly pid: number; readonly port: number | undefined } | undefined> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // A file cut short by a crash while it was written: no server got as far as running.
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, port: undefined };
  return { pid, port: Number.isInteger(port) && port > 0 ? port : undefined };
}

/** What holds `dataDir` (an absolute, real path) according to its postmaster.pid and /proc. */
export async function inspectDataDir(dataDir: string): Promise<PostmasterState> {
  const found = await readPostmasterPid(dataDir);
  if (!found) return { kind: 'none' };
  const { pid, port } = found;
  if (pid === 0 || !isAlive(pid)) return { kind: 'stale', pid, alive: false };
  if (!hasProcfs()) return { kind: 'unknown', pid };
  const argv = commandLine(pid);
  if (argv === undefined) return { kind: 'unknown', pid };
  if (isPostgresServer(argv) && servesDataDir(pid, argv, dataDir)) return { kind: 'running', pid, port };
  return { kind: 'stale', pid, alive: true };
}

export interface StopTimeouts {
  /** After SIGINT (fast shutdown: roll back, checkpoint, exit). */
  readonly fastMs: number;
  /** After SIGQUIT (immediate shutdown: exit now, recover at next start). */
  readonly immediateMs: number;
  /** After SIGKILL. */
  readonly killMs: number;
}

export const STOP_TIMEOUTS: StopTimeouts = { fastMs: 15_000, immediateMs: 5_000, killMs: 5_000 };
const POLL_MS = 50;

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    // A pid reused by something else than a server means ours is gone.
    if (!isAlive(pid) || !isPostgresServer(commandLine(pid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/**
 * Stops a server that is not our child, the way PostgreSQL's documentation
 * says: fast shutdown first, immediate shutdown if that hangs, SIGKILL last.
 */
export async function stopOrphan(pid: number, timeouts: StopTimeouts = STOP_TIMEOUTS): Promise<void> {
  const steps: readonly [NodeJS.Signals, number][] = [
    ['SIGINT', timeouts.fastMs],
    ['SIGQUIT', timeouts.immediateMs],
    ['SIGKILL', timeouts.killMs],
  ];
  for (const [signal, withinMs] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await exited(pid, withinMs)) return;
  }
  throw new Error(`the orphaned PostgreSQL server (pid ${pid}) did not exit after SIGINT, SIGQUIT and SIGKILL`);
}

/**
 * Makes `dataDir` startable after a crash: stops a server left running on it
 * and removes a postmaster.pid whose pid now belongs to another process
 * (PostgreSQL itself would refuse to start while that process lives), or
 * one cut short. A dead pid is left to PostgreSQL, which removes its own
 * stale file.
 */
export async function recoverDataDir(dataDir: string, notice: (message: string) => void): Promise<PostmasterState> {
  const state = await inspectDataDir(dataDir);
  if (state.kind === 'running') {
    notice(
      `stopping the PostgreSQL server (pid ${state.pid}) left running on ${dataDir} by a gateway that did not stop`,
    );
    await stopOrphan(state.pid);
  } else if (state.kind === 'stale' && (state.alive || state.pid === 0)) {
    const why = state.alive ? `its pid ${state.pid} now belongs to another process` : 'it was cut short';
    notice(`removing ${join(dataDir, 'postmaster.pid')}: ${why}`);
    await rm(join(dataDir, 'postmaster.pid'), { force: true });
  }
  return state;
}
