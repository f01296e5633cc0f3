// A real streaming hot standby of a scratch embedded PostgreSQL, for tests
// of standby reads and failover. The embedded packages ship initdb, pg_ctl
// and postgres, not pg_basebackup, so the base backup is taken with the
// low-level API, as PostgreSQL's documentation describes it ("Making a base
// backup using the low level API"):
//
//   1. a physical replication slot on the primary (reserved at once), so the
//      WAL from the backup's start on is kept until the standby has streamed it;
//   2. `pg_backup_start(label, fast)` on one connection, held open;
//   3. a copy of the data folder, less postmaster.pid/.opts and the contents
//      of pg_wal and pg_replslot (the WAL comes by streaming, and the primary's
//      slots are not the standby's); files that vanish while copying are
//      skipped (temporary files; the WAL replay repairs torn pages);
//   4. `pg_backup_stop()`, whose labelfile becomes backup_label;
//   5. standby.signal, and primary_conninfo, primary_slot_name and port in
//      postgresql.auto.conf.
//
// The standby runs the very binary the primary runs (read from /proc), as
// the same OS user when this process is root (the copy keeps that owner and
// mode 0700), and is watched like the embedded server: it is stopped if this
// process dies.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, copyFile, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { freePort, startServer, stopServer, type RunningPostgres } from '../../src/db/embedded-postgres.js';
import { serverUserFor, type OsUser } from '../../src/db/os-user.js';

export interface Standby {
  /** Connection URL of the `postgres` database on the standby (the primary's superuser and password). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The standby's postmaster pid. */
  readonly pid: number;
  /** Stops applying WAL (it is still received): reads on the standby stay as they are until `resumeReplay`. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the standby has replayed all the primary had written when this was called. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Makes the standby a primary (`pg_promote`) and resolves once it takes writes. */
  promote(timeoutMs?: number): Promise<void>;
  /** Ends the server at once (SIGKILL), as a machine that dies. */
  kill(): Promise<void>;
  /** Stops the server (fast shutdown), drops its slot on the primary if that is still up, and deletes its folder. */
  stop(): Promise<void>;
}

export interface StandbyOptions {
  /** Extra server settings (`-c name=value`); the primary's shared_preload_libraries must be repeated here. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Server log lines. */
  readonly onLog?: (line: string) => void;
}

/** Left out of the copy: the primary's process files; pg_wal's and pg_replslot's contents (their folders are kept). */
const SKIPPED_FILES = new Set(['postmaster.pid', 'postmaster.opts']);
const EMPTIED_FOLDERS = new Set(['pg_wal', 'pg_replslot']);

const isMissing = (error: unknown): boolean => (error as { code?: unknown }).code === 'ENOENT';

/** Copies `from` into `to` (created), owned by `user` when given, folders 0700, skipping what a base backup leaves out. */
async function copyDataFolder(from: string, to: string, user: OsUser | undefined, top = true): Promise<void> {
  await mkdir(to, { mode: 0o700 });
  await chmod(to, 0o700);
  if (user) await chown(to, user.uid, user.gid);
  const entries = await readdir(from, { withFileTypes: true }).catch((error: unknown) => {
    if (isMissing(error)) return [];
    throw error;
  });
  for (const entry of entries) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      if (top && EMPTIED_FOLDERS.has(entry.name)) {
        await mkdir(target, { mode: 0o700 });
        if (entry.name === 'pg_wal') await mkdir(join(target, 'archive_status'), { mode: 0o700 });
        if (user)
          for (const made of [target, join(target, 'archive_status')])
            await chown(made, user.uid, user.gid).catch(() => undefined);
        continue;
      }
      await copyDataFolder(source, target, user, false);
    } else if (entry.isFile()) {
      if (top && SKIPPED_FILES.has(entry.name)) continue;
      try {
        await copyFile(source, target);
      } catch (error) {
        // Temporary files come and go while the server runs.
        if (isMissing(error)) continue;
        throw error;
      }
      await chmod(target, 0o600);
      if (user) await chown(target, user.uid, user.gid);
    } else {
      throw new Error(`cannot copy ${source}: tablespaces and other links are not supported`);
    }
  }
}

/** The postgres binary a running server was started from. */
async function serverBinary(pid: number): Promise<string> {
  try {
    return await readlink(`/proc/${pid}/exe`);
  } catch {
    throw new Error(`cannot find the binary of PostgreSQL ${pid} (test/helpers/standby.ts reads /proc, Linux only)`);
  }
}

/** Runs `use` on a connection of its own to `url`. */
async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A quoted value for a libpq connection string or postgresql.conf. */
const quoted = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Starts a hot standby of `primary` (a scratch or embedded server of this
 * process) that streams from it through a replication slot of its own.
 */
export async function startStandby(
  primary: Pick<RunningPostgres, 'url' | 'dataDir' | 'pid'>,
  { settings = {}, onLog = () => undefined }: StandbyOptions = {},
): Promise<Standby> {
  const user = serverUserFor(loadConfig().embedded.osUser);
  const binary = await serverBinary(primary.pid);
  const primaryUrl = new URL(primary.url);
  const folder = await mkdtemp(join(tmpdir(), 'fifo-gateway-standby-'));
  // Reachable by the server's OS user when running as root.
  await chmod(folder, 0o755);
  const dataDir = join(folder, 'data');
  const slot = `standby_${randomBytes(6).toString('hex')}`;
  const port = await freePort();
  try {
    await withClient(primary.url, async (client) => {
      await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
      // Fast: an immediate checkpoint, not a spread one (which takes minutes).
      await client.query('SELECT pg_backup_start($1, true)', [slot]);
      try {
        await copyDataFolder(primary.dataDir, dataDir, user);
      } catch (error) {
        await client.query('SELECT pg_backup_stop(false)').catch(() => undefined);
        throw error;
      }
      // Waits for the WAL the backup needs to be archived only when archiving is on; it is not.
      const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>(
        'SELECT labelfile, spcmapfile FROM pg_backup_stop(true)',
      );
      const [stopped] = rows;
      if (!stopped) throw new Error('pg_backup_stop returned no row');
      await writeFile(join(dataDir, 'backup_label'), stopped.labelfile, { mode: 0o600 });
      if (stopped.spcmapfile) await writeFile(join(dataDir, 'tablespace_map'), stopped.spcmapfile, { mode: 0o600 });
    });
    const conninfo = [
      'host=127.0.0.1',
      `port=${primaryUrl.port}`,
      `user=${quoted(decodeURIComponent(primaryUrl.username))}`,
      `password=${quoted(decodeURIComponent(primaryUrl.password))}`,
      `application_name=${slot}`,
    ].join(' ');
    await appendFile(
      join(dataDir, 'postgresql.auto.conf'),
      `\n# test/helpers/standby.ts\nprimary_conninfo = ${quoted(conninfo)}\nprimary_slot_name = '${slot}'\nport = ${port}\n`,
    );
    await writeFile(join(dataDir, 'standby.signal'), '', { mode: 0o600 });
    if (user)
      for (const file of ['backup_label', 'tablespace_map', 'standby.signal', 'postgresql.auto.conf'])
        await chown(join(dataDir, file), user.uid, user.gid).catch(() => undefined);
  } catch (error) {
    await withClient(primary.url, (client) => client.query('SELECT pg_drop_replication_slot($1)', [slot])).catch(
      () => undefined,
    );
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  let child: ChildProcess;
  try {
    // The embedded server's own start: a hot standby needs at least the primary's settings (max_connections).
    child = await startServer(binary, dataDir, port, user, onLog, settings);
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  const killOnExit = (): void => void child.kill('SIGINT');
  process.once('exit', killOnExit);
  const standbyUrl = new URL(primary.url);
  standbyUrl.port = String(port);
  const url = standbyUrl.toString();
  const onStandby = <T>(use: (client: pg.Client) => Promise<T>) => withClient(url, use);
  let removed = false;

  return {
    url,
    port,
    dataDir,
    pid: child.pid ?? 0,
    pauseReplay: () => onStandby((client) => client.query('SELECT pg_wal_replay_pause()')).then(() => undefined),
    resumeReplay: () => onStandby((client) => client.query('SELECT pg_wal_replay_resume()')).then(() => undefined),
    async caughtUp(timeoutMs = 10_000) {
      const { rows } = await withClient(primary.url, (client) =>
        client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'),
      );
      const lsn = rows[0]?.lsn;
      await onStandby((client) =>
        until('the standby replays the primary', timeoutMs, async () => {
          const { rows: replayed } = await client.query<{ done: boolean }>(
            'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS done',
            [lsn],
          );
          return replayed[0]?.done === true;
        }),
      );
    },
    async promote(timeoutMs = 30_000) {
      await onStandby((client) => client.query('SELECT pg_promote(true, $1)', [Math.ceil(timeoutMs / 1000)]));
      await onStandby((client) =>
        until('the promoted standby takes writes', timeoutMs, async () => {
          const { rows } = await client.query<{ writable: boolean }>(
            `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`,
          );
          return rows[0]?.writable === true;
        }),
      );
    },
    async kill() {
      const gone = new Promise((resolveExit) => child.once('exit', resolveExit));
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await gone;
      }
    },
    async stop() {
      if (removed) return;
      removed = true;
      process.removeListener('exit', killOnExit);
      await stopServer(child);
      // Without this the primary keeps its WAL for a standby that will never come back.
      await withClient(primary.url, (client) => client.query('SELECT pg_drop_replication_slot($1)', [slot])).catch(
        () => undefined,
      );
      await rm(folder, { recursive: true, force: true });
    },
  };
}
