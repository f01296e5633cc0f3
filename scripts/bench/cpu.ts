// CPU time of other processes, read from /proc (Linux only); memory is in memory.ts.
//
// A gateway run with GATEWAY_WORKERS > 1 is a primary and its workers: its
// CPU is theirs together, counted as PostgreSQL's is below.
//
// PostgreSQL is a postmaster and one process per backend and background
// worker. A backend that exits during a window is no longer listed at its end,
// but the postmaster has reaped it, so its time sits in the postmaster's
// cutime/cstime: postmaster (own + reaped children) + live children, taken at
// both ends, differ by the CPU PostgreSQL used in between. (A backend exiting
// while one reading is being taken can be missed, so the workers hold their
// connections open until the readings are done: protocol.ts.)
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Clock ticks per second, the unit of /proc/<pid>/stat times. */
export const CLOCK_TICKS = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;

interface ProcessStat {
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  readonly ticks: number;
}

function readStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name, in parentheses, may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (index: number) => Number(fields[index] ?? 0);
  // After the name: state ppid ... utime(11) stime(12) cutime(13) cstime(14).
  return { ppid: field(1), ticks: field(11) + field(12) + field(13) + field(14) };
}

/** CPU ticks used by one process (and any children it reaped). */
export function processTicks(pid: number): number {
  return readStat(pid)?.ticks ?? 0;
}

/**
 * CPU ticks used by a process and all its children, reaped or alive: a
 * postmaster and its backends, a gateway and its workers (GATEWAY_WORKERS).
 */
export function familyTicks(parentPid: number): number {
  let total = processTicks(parentPid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid === parentPid) total += stat.ticks;
  }
  return total;
}

/** The postmaster's PID: the first line of postmaster.pid in its data folder. */
export function postmasterPid(dataDir: string): number {
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster PID in ${join(dataDir, 'postmaster.pid')}`);
  return pid;
}

/**
 * Busy ticks of the whole machine, all cores (user, nice, system, irq,
 * softirq of /proc/stat): beside the processes above it shows how much else
 * ran, such as a neighbour's tests on a shared machine.
 */
export function machineBusyTicks(): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = (
    readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  )
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq;
}

export interface CpuSnapshot {
  readonly atMs: number;
  readonly gateway: number;
  readonly postgres: number;
  readonly machine: number;
}

export function cpuSnapshot(gatewayPid: number, postmaster: number): CpuSnapshot {
  return {
    atMs: performance.now(),
    gateway: familyTicks(gatewayPid),
    postgres: familyTicks(postmaster),
    machine: machineBusyTicks(),
  };
}

/** CPU used between two snapshots, as % of one core over the wall time between them. */
export function cpuPercent(
  before: CpuSnapshot,
  after: CpuSnapshot,
): { gateway: number; postgres: number; machine: number } {
  const seconds = (after.atMs - before.atMs) / 1000;
  const percent = (ticks: number) => (seconds > 0 ? (ticks / CLOCK_TICKS / seconds) * 100 : 0);
  return {
    gateway: percent(after.gateway - before.gateway),
    postgres: percent(after.postgres - before.postgres),
    machine: percent(after.machine - before.machine),
  };
}

/** Processors available to this process, as `nproc` counts them. */
export function nproc(): number {
  return Number(execSync('nproc').toString().trim());
}
