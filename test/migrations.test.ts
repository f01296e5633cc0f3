// prisma/migrations and prisma/schema.prisma must describe the same database:
// a change to one without the other fails here.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MIGRATED_SCHEMA_FILE, MIGRATIONS_DIR, PRISMA_SCHEMA_FILE } from '../src/config.js';
import { readCatalog } from '../src/db/catalog.js';
import { applyPendingMigrations, migrationSql, readMigrations } from '../src/db/migrations.js';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';

const databases: TestDatabase[] = [];

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

async function emptyDatabase(): Promise<string> {
  const database = await createTestDatabase(inject('serverUrl'), { migrated: false });
  databases.push(database);
  return database.url;
}

async function execute(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const isEmptyMigration = (sql: string): boolean => sql.trim() === '' || sql.includes('This is an empty migration.');

describe('migrations and the datamodel', () => {
  it('build the same tables, columns, constraints, indexes and enums', async () => {
    const schema = await readFile(PRISMA_SCHEMA_FILE, 'utf8');
    const [migrated, fromDatamodel] = await Promise.all([emptyDatabase(), emptyDatabase()]);
    await applyPendingMigrations(migrated, MIGRATIONS_DIR);
    const sql = await migrationSql(fromDatamodel, undefined, schema);
    expect(isEmptyMigration(sql)).toBe(false);
    await execute(fromDatamodel, sql);

    const [expected, actual] = await Promise.all([readCatalog(fromDatamodel), readCatalog(migrated)]);
    expect(actual.columns.length).toBeGreaterThan(10);
    expect(actual).toEqual(expected);
  });

  it('leave nothing for `npm run migrate:new` to write', async () => {
    const [snapshot, schema] = await Promise.all([readFile(MIGRATED_SCHEMA_FILE, 'utf8'), readFile(PRISMA_SCHEMA_FILE, 'utf8')]);
    const sql = await migrationSql(await emptyDatabase(), snapshot, schema);
    expect(isEmptyMigration(sql), `schema.prisma changed since the last migration:\n${sql}`).toBe(true);
  });

  it('are recorded in _prisma_migrations as `prisma migrate deploy` records them', async () => {
    const url = await emptyDatabase();
    const first = await applyPendingMigrations(url, MIGRATIONS_DIR);
    const { migrationDirectories } = await readMigrations(MIGRATIONS_DIR);
    expect(first).toEqual(migrationDirectories.map((migration) => migration.path));
    expect(await applyPendingMigrations(url, MIGRATIONS_DIR)).toEqual([]);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    await client.end();
    for (const [index, row] of rows.entries()) {
      const sql = await readFile(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.migration_name).toBe(first[index]);
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
    }
  });
});
