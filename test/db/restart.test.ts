// The gateway with no DATABASE_URL: it starts its own PostgreSQL on a data
// folder, and what it stored is there again after a restart, also a restart
// at once after its server was killed half-way (what is left of the server
// is waited for, not tripped over).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DataFolderInUseError, lockDataFolder } from '../../src/db/data-folder-lock.js';
import { startEmbeddedPostgres, type EmbeddedPostgresOptions } from '../../src/db/embedded-postgres.js';
import { commandLine, isAlive, isZombie, postgresProcessesOn } from '../../src/db/process-info.js';
import { startGateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import {
  CreateServiceDocument,
  EnqueueCaseDocument,
  ServicesDocument,
} from '../../src/generated/operations/graphql.js';
import { expectData, graphqlClient } from '../helpers/graphql-client.js';
import { queryRows } from '../helpers/databases.js';

const folders: string[] = [];

afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function embeddedConfig() {
  const folder = await mkdtemp(join(tmpdir(), 'gateway-restart-'));
  await chmod(folder, 0o755);
  folders.push(folder);
  // Exactly what `npm start` sees on a fresh clone, but for the data folder's place.
  return loadConfig({ PORT: '0', EMBEDDED_PG_DATA_DIR: join(folder, 'postgres') });
}

interface CaseRow {
  readonly id: number;
  readonly subject: string | null;
  readonly status: string;
}

async function caseRow(databaseUrl: string, id: number): Promise<CaseRow | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<CaseRow>('SELECT id, subject, status FROM cases WHERE id = $1', [id])).rows[0];
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL across a restart', () => {
  it('keeps services and cases in the data folder', async () => {
    const config = await embeddedConfig();
    const first = await startGateway(config, silentLogger);
    let caseId: number;
    try {
      const request = graphqlClient(first.url);
      const { createService } = expectData(
        await request(CreateServiceDocument, { input: { name: 'Survivor', extRef: 'SURV' } }),
      );
      caseId = expectData(
        await request(EnqueueCaseDocument, { input: { serviceIdExtRef: 'SURV', subject: 'still here?' } }),
      ).enqueueCase.caseId;
      expect(createService.id).toBeGreaterThan(0);
    } finally {
      await first.stop();
    }
    expect((await stat(join(config.embedded.dataDir, 'PG_VERSION'))).isFile()).toBe(true);

    const second = await startGateway(config, silentLogger);
    try {
      const { services } = expectData(await graphqlClient(second.url)(ServicesDocument, {}));
      expect(services.map((service) => service.extRef)).toEqual(['SURV']);
      expect(await caseRow(second.databaseUrl, caseId)).toEqual({
        id: caseId,
        subject: 'still here?',
        status: 'WAITING',
      });
    } finally {
      await second.stop();
    }
  });
});

/** Options for an embedded server on a fresh data folder, as the gateway would start it. */
async function embeddedOptions(notices: string[]): Promise<EmbeddedPostgresOptions> {
  const { embedded } = await embeddedConfig();
  return { ...embedded, onNotice: (message) => void notices.push(message) };
}

/** Polls `condition` every 20 ms for up to `withinMs`; whether it came true. */
async function within(withinMs: number, condition: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(20);
  }
  return false;
}

/** The uid and gid a process runs as, from /proc/<pid>/status. */
async function credentials(pid: number): Promise<{ uid: number; gid: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

interface ServerByHand {
  /** The postmaster's pid. */
  readonly pid: number;
  readonly url: string;
  readonly dataDir: string;
  /** The process the server was started by (see `reaped`). */
  readonly parent: ChildProcess;
}

/**
 * The server of `options`' data folder, run as a gateway would run it but
 * started by hand: by this process (`reaped`: its death is reaped at once),
 * or through a parent that never reaps (`sh` exec'ing `sleep`), as when the
 * gateway that started it died and an init that reaps late adopted it.
 */
async function serverByHand(options: EmbeddedPostgresOptions, reaped: boolean): Promise<ServerByHand> {
  const first = await startEmbeddedPostgres(options);
  const argv = commandLine(first.pid);
  const ids = await credentials(first.pid);
  if (!argv?.[0]) throw new Error(`cannot read the command line of pid ${first.pid}`);
  await first.stop();
  const [command, args] = reaped
    ? [argv[0], argv.slice(1)]
    : ['/bin/sh', ['-c', '"$@" & echo $!; exec sleep 60', 'sh', ...argv]];
  const parent = spawn(command, args, {
    ...(process.getuid?.() === 0 ? ids : {}),
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  let said = '';
  parent.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const ready = await within(30_000, async () =>
    /^ready/m.test(await readFile(join(first.dataDir, 'postmaster.pid'), 'utf8').catch(() => '')),
  );
  if (!ready) throw new Error('the server started by hand did not get ready');
  const pid = reaped ? (parent.pid ?? 0) : Number(said.trim());
  return { pid, url: first.url, dataDir: first.dataDir, parent };
}

describe.skipIf(process.platform !== 'linux')('a start right after its server was killed half-way', () => {
  it('waits for the gateway still stopping on its data folder, and refuses at once one that is not stopping', async () => {
    const { embedded } = await embeddedConfig();
    const notices: string[] = [];
    const first = await lockDataFolder(embedded.dataDir);
    first.stopping();
    const second = lockDataFolder(embedded.dataDir, { onNotice: (message) => void notices.push(message) });
    await sleep(300);
    await first.release();
    const taken = await second;
    expect(notices.join('\n')).toContain(`in use by another gateway (pid ${process.pid}), which is stopping: waiting`);
    expect(notices.join('\n')).toMatch(/waited \d+ ms for the gateway \(pid \d+\) that was stopping/);
    await expect(lockDataFolder(embedded.dataDir)).rejects.toBeInstanceOf(DataFolderInUseError);
    await taken.release();
  });

  it('removes the postmaster.pid of a killed server its parent has not reaped (PostgreSQL takes a zombie for a live server)', async () => {
    const notices: string[] = [];
    const options = await embeddedOptions(notices);
    const killed = await serverByHand(options, false);
    try {
      await queryRows(killed.url, `CREATE TABLE kept AS SELECT 'acknowledged' AS value`);
      process.kill(killed.pid, 'SIGKILL');
      expect(await within(5_000, () => isZombie(killed.pid))).toBe(true);
      // Its children notice their server's death and exit; the zombie stays.
      expect(await within(10_000, () => postgresProcessesOn(killed.dataDir).length === 0)).toBe(true);
      const again = await startEmbeddedPostgres(options);
      try {
        expect(notices.join('\n')).toContain(
          `its server (pid ${killed.pid}) was killed and has exited, but is not yet reaped`,
        );
        expect(await queryRows(again.url, 'SELECT value FROM kept')).toEqual([{ value: 'acknowledged' }]);
      } finally {
        await again.stop();
      }
    } finally {
      killed.parent.kill('SIGKILL');
    }
  });

  it("waits for a killed server's backend still busy with a statement, then starts", async () => {
    const notices: string[] = [];
    const options = await embeddedOptions(notices);
    const killed = await serverByHand(options, true);
    const client = new pg.Client({ connectionString: killed.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      // Busy without waiting on anything: a backend notices its server's death only when it waits.
      const busy = client
        .query(
          `DO $$ DECLARE t timestamptz := clock_timestamp(); BEGIN
             WHILE clock_timestamp() < t + interval '3 seconds' LOOP END LOOP; END $$`,
        )
        .catch(() => undefined);
      const running = async () =>
        (await queryRows(killed.url, `SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'DO%'`))
          .length > 0;
      expect(await within(5_000, running)).toBe(true);
      process.kill(killed.pid, 'SIGKILL');
      expect(await within(5_000, () => !isAlive(killed.pid))).toBe(true);
      const backends = postgresProcessesOn(killed.dataDir);
      expect(backends.length).toBeGreaterThan(0);
      const again = await startEmbeddedPostgres(options);
      try {
        expect(notices.join('\n')).toMatch(
          /processes of an earlier PostgreSQL server still run on .* waiting for them/,
        );
        expect(notices.join('\n')).toMatch(/waited \d+ ms for the previous PostgreSQL server/);
        expect(backends.filter(isAlive)).toEqual([]);
        expect(await queryRows(again.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      } finally {
        await again.stop();
      }
      await busy;
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
