// Running as root (CI, containers), PostgreSQL runs as another OS user, which
// often cannot reach the project (a clone under /root, mode 700). The gateway
// then stages the binaries and the data folder where that user can reach them.
// And a data folder left by a crashed gateway is recovered, never someone else's.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, cp, lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { DataFolderInUseError } from '../../src/db/data-folder-lock.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/db/embedded-postgres.js';
import { inspectDataDir } from '../../src/db/orphan-postgres.js';
import { commandLine, isAlive } from '../../src/db/process-info.js';
import { queryRows } from '../helpers/databases.js';

const isRoot = process.getuid?.() === 0;
/** What a @embedded-postgres/<platform> package exports that this test uses (its declarations are not found by a computed name). */
const binariesPackage = z.object({ postgres: z.string() });
const folders: string[] = [];

afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function select(url: string, sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

describe.skipIf(!isRoot)("as root, with the project out of the server user's reach", () => {
  it('stages binaries and data, and finds the data again after a restart', async () => {
    // Like a clone under /root: a folder only root can enter.
    const hidden = await mkdtemp(join(tmpdir(), 'gateway-hidden-'));
    const stageDir = await mkdtemp(join(tmpdir(), 'gateway-stage-'));
    folders.push(hidden, stageDir);
    await chmod(hidden, 0o700);
    await chmod(stageDir, 0o755);
    const { postgres } = binariesPackage.parse(await import(`@embedded-postgres/${process.platform}-${process.arch}`));
    const nativeDir = dirname(dirname(postgres));
    await cp(nativeDir, join(hidden, 'native'), { recursive: true, verbatimSymlinks: true });
    const options = {
      dataDir: join(hidden, 'data', 'postgres'),
      osUser: 'postgres',
      stageDir,
      binaries: {
        initdb: join(hidden, 'native', 'bin', 'initdb'),
        postgres: join(hidden, 'native', 'bin', 'postgres'),
      },
    };

    const first = await startEmbeddedPostgres(options);
    try {
      expect(first.dataDir.startsWith(stageDir)).toBe(true);
      expect((await lstat(options.dataDir)).isSymbolicLink()).toBe(true);
      expect(await readlink(options.dataDir)).toBe(first.dataDir);
      await select(first.url, 'CREATE TABLE kept (value text)');
      expect(await select(first.url, `INSERT INTO kept VALUES ('yes') RETURNING value`)).toEqual({ value: 'yes' });
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres(options);
    try {
      expect(second.dataDir).toBe(first.dataDir);
      expect(await select(second.url, 'SELECT value FROM kept')).toEqual({ value: 'yes' });
    } finally {
      await second.stop();
    }
  });
});

/** Options for an embedded server on a fresh data folder, as the gateway would start it. */
async function freshOptions(notices: string[] = []) {
  const folder = await mkdtemp(join(tmpdir(), 'gateway-orphan-'));
  await chmod(folder, 0o755);
  folders.push(folder);
  const { embedded } = loadConfig({});
  return {
    dataDir: join(folder, 'postgres'),
    osUser: embedded.osUser,
    stageDir: embedded.stageDir,
    onNotice: (message: string) => void notices.push(message),
  };
}

/** The uid and gid a process runs as, from /proc/<pid>/status. */
async function credentials(pid: number): Promise<{ uid: number; gid: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

/** Waits, bounded, until postmaster.pid says the server is ready (its last line, PostgreSQL's PM_STATUS). */
async function readyWithin(dataDir: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
    if (/^ready/m.test(text)) return true;
    await sleep(50);
  }
  return false;
}

/**
 * What a crashed gateway leaves: the server it started, still running with
 * the same command line as the same user, but no gateway (and no watchdog).
 */
async function orphanLike(server: RunningPostgres): Promise<ChildProcess> {
  const argv = commandLine(server.pid);
  const ids = await credentials(server.pid);
  if (!argv?.[0]) throw new Error(`cannot read the command line of pid ${server.pid}`);
  await server.stop();
  const orphan = spawn(argv[0], argv.slice(1), {
    ...(process.getuid?.() === 0 ? ids : {}),
    stdio: 'ignore',
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (!(await readyWithin(server.dataDir, 30_000))) throw new Error('the orphan-like server did not start');
  return orphan;
}

describe.skipIf(process.platform !== 'linux')('a data folder left by a crashed gateway', () => {
  it('stops the server left running on it, then starts on the same data', async () => {
    const notices: string[] = [];
    const options = await freshOptions(notices);
    const first = await startEmbeddedPostgres(options);
    await queryRows(first.url, `CREATE TABLE kept AS SELECT 'acknowledged' AS value`);
    const orphan = await orphanLike(first);
    try {
      expect(await inspectDataDir(first.dataDir)).toMatchObject({ kind: 'running', pid: orphan.pid });
      const second = await startEmbeddedPostgres(options);
      try {
        expect(isAlive(orphan.pid ?? 0)).toBe(false);
        expect(notices.join('\n')).toContain(`stopping the PostgreSQL server (pid ${orphan.pid})`);
        expect(await queryRows(second.url, 'SELECT value FROM kept')).toEqual([{ value: 'acknowledged' }]);
      } finally {
        await second.stop();
      }
    } finally {
      orphan.kill('SIGKILL');
    }
  });

  it("never touches another folder's server whose pid a stale postmaster.pid names", async () => {
    const other = await startEmbeddedPostgres(await freshOptions());
    const options = await freshOptions();
    try {
      const ours = await startEmbeddedPostgres(options);
      await ours.stop();
      // After a machine restart, the pid in a stale postmaster.pid may be a live server of someone else.
      const stale = `${other.pid}\n${ours.dataDir}\n1700000000\n${ours.port}\n\n127.0.0.1\n  0  0\nready   \n`;
      await writeFile(join(ours.dataDir, 'postmaster.pid'), stale, { mode: 0o600 });
      // Owned as the server would own it, so PostgreSQL itself can read it.
      const owner = await stat(ours.dataDir);
      await chown(join(ours.dataDir, 'postmaster.pid'), owner.uid, owner.gid);
      expect(await inspectDataDir(ours.dataDir)).toEqual({ kind: 'stale', pid: other.pid, alive: true });
      const again = await startEmbeddedPostgres(options);
      await again.stop();
      expect(isAlive(other.pid)).toBe(true);
      expect(await queryRows(other.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await other.stop();
    }
  });

  it('refuses a second start on a folder in use, and leaves the first server running', async () => {
    const options = await freshOptions();
    const first = await startEmbeddedPostgres(options);
    try {
      const refused = await startEmbeddedPostgres(options).then(
        async (second) => {
          await second.stop();
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(DataFolderInUseError);
      expect(String(refused)).toContain(`in use by another gateway (pid ${process.pid})`);
      expect(await queryRows(first.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await first.stop();
    }
  });
});
