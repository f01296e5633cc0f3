// What Linux's /proc says about another process: whether it lives, its
// command line and working folder. Used to tell an orphaned embedded
// PostgreSQL from a live one or from an unrelated process that got its pid.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';

/** Whether `pid` names a process that has not exited (a zombie has). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return processState(pid) !== 'Z';
}

/**
 * Whether `pid` has exited but not yet been reaped by its parent (a zombie).
 * PostgreSQL's own postmaster.pid check (kill(pid, 0)) takes a zombie for a
 * live server: a killed server whose parent died too waits for the system's
 * init to reap it, which some inits do only every few seconds, or never.
 */
export function isZombie(pid: number): boolean {
  return processState(pid) === 'Z';
}

/** The one-letter state of /proc/<pid>/stat (R, S, D, Z, ...), undefined when unknown. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** The parent pid from /proc/<pid>/stat, undefined when unknown. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** The arguments a process was started with, undefined when they cannot be read. */
export function commandLine(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, index, parts) => part !== '' || index < parts.length - 1);
  } catch {
    return undefined;
  }
}

/** The process's current folder (PostgreSQL's postmaster changes into its data folder). */
export function workingDir(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Whether this machine has a /proc that answers these questions. */
export function hasProcfs(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/** The value after `-D` in a postgres command line. */
export function dataDirArgument(argv: readonly string[]): string | undefined {
  const flag = argv.indexOf('-D');
  if (flag >= 0) return argv[flag + 1];
  const joined = argv.find((arg) => arg.startsWith('-D') && arg.length > 2);
  return joined?.slice(2);
}

/** Whether a command line is that of a PostgreSQL server binary (not a backend, whose title is rewritten). */
export function isPostgresServer(argv: readonly string[] | undefined): boolean {
  const program = argv?.[0];
  return program !== undefined && ['postgres', 'postmaster'].includes(basename(program));
}

/** Whether the postgres process `pid` (command line `argv`) runs on `dataDir` (an absolute, real path). */
export function servesDataDir(pid: number, argv: readonly string[], dataDir: string): boolean {
  // The postmaster works in its data folder; /proc shows that as a real path.
  if (workingDir(pid) === dataDir) return true;
  const argument = dataDirArgument(argv);
  if (argument === undefined || !isAbsolute(argument)) return false;
  try {
    return realpathSync(argument) === dataDir;
  } catch {
    return false;
  }
}

/** Every process id /proc lists (none where there is no /proc). */
function processIds(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** Live PostgreSQL servers (postmasters) whose data folder is `dataDir`, by pid. */
export function postgresServersOn(dataDir: string): number[] {
  return processIds().filter((pid) => {
    const argv = commandLine(pid);
    return isPostgresServer(argv) && servesDataDir(pid, argv ?? [], dataDir) && isAlive(pid);
  });
}

/** Whether a command line is any PostgreSQL process: a server, or one of its children (whose title reads `postgres: ...`). */
function isPostgresProcess(argv: readonly string[] | undefined): boolean {
  return isPostgresServer(argv) || (argv?.[0]?.startsWith('postgres: ') ?? false);
}

/**
 * Live PostgreSQL processes working in `dataDir` (an absolute, real path):
 * its server and the server's children (backends, checkpointer, ...), which
 * inherit its working folder. Children of a killed server run on until they
 * notice, and hold its shared memory meanwhile: a new server on the folder
 * refuses to start ("pre-existing shared memory block ... is still in use").
 */
export function postgresProcessesOn(dataDir: string): number[] {
  return processIds()
    .filter((pid) => pid !== process.pid && workingDir(pid) === dataDir)
    .filter((pid) => isPostgresProcess(commandLine(pid)) && isAlive(pid));
}
