// PostgreSQL refuses to run as root. When the gateway runs as root (CI,
// containers) the embedded server runs as an unprivileged OS user instead,
// and every path it touches must be reachable by that user.
import { execFileSync, spawnSync } from 'node:child_process';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function lookup(name: string): OsUser | undefined {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
    return { name, uid, gid };
  } catch {
    return undefined;
  }
}

/** The user to run PostgreSQL as, or undefined when this process is not root. */
export function serverUserFor(name: string): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const existing = lookup(name);
  if (existing) return existing;
  // A system user with no home and no login: it only owns the data folder.
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
    stdio: 'ignore',
  });
  const created = lookup(name);
  if (!created) throw new Error(`could not create the OS user "${name}" to run PostgreSQL as`);
  return created;
}

/**
 * Whether `user` can reach `path` with the given test(1) flag ("-x" to
 * search or execute, "-w" to write). Asked of the kernel as that user, so
 * every folder on the way counts, as it does for the server itself.
 */
export function userCan(user: OsUser, flag: '-x' | '-w' | '-r', path: string): boolean {
  const result = spawnSync('test', [flag, path], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  return result.status === 0;
}
