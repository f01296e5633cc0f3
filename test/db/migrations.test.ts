// prisma/migrations and prisma/schema.prisma must describe the same database:
// a change to one without the other fails here.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MIGRATED_SCHEMA_FILE, MIGRATIONS_DIR, PRISMA_SCHEMA_FILE } from '../../src/config.js';
import { readCatalog } from '../../src/db/catalog.js';
import { applyPendingMigrations, migrationSql, readMigrations } from '../../src/db/migrations.js';
import { withSchemaEngine } from '../../src/db/schema-engine.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

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
    const [snapshot, schema] = await Promise.all([
      readFile(MIGRATED_SCHEMA_FILE, 'utf8'),
      readFile(PRISMA_SCHEMA_FILE, 'utf8'),
    ]);
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

describe('upgrading a database that has cases', () => {
  it('gives existing cases tickets, queue times and a history', async () => {
    const { migrationDirectories, ...list } = await readMigrations(MIGRATIONS_DIR);
    const [first] = migrationDirectories;
    const url = await emptyDatabase();
    // Only the first migration, as a database made before the queue operations.
    await withSchemaEngine(url, (engine) =>
      engine.applyMigrations({
        migrationsList: { ...list, migrationDirectories: first ? [first] : [] },
        filters: { externalTables: [], externalEnums: [] },
      }),
    );
    await execute(
      url,
      `INSERT INTO services (id, name, queue_code) VALUES (1, 'Old', 'Q');
       INSERT INTO cases (service_id, subject, auto_close, status, enqueued_at, closed_at) VALUES
         (1, 'first', false, 'WAITING', '2026-11-27T10:00:00Z', NULL),
         (1, 'second', false, 'WAITING', '2026-11-27T10:05:00Z', NULL),
         (1, 'closed', true, 'CLOSED', '2026-11-27T10:06:00Z', '2026-11-27T10:06:00Z');
       INSERT INTO case_properties (case_id, key, value) SELECT id, 'k', 'v' FROM cases;`,
    );
    await applyPendingMigrations(url, MIGRATIONS_DIR);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const cases = await client.query(
        `SELECT subject, status::text, ticket, ticket_number, queued_at = enqueued_at AS queued_as_enqueued, last_action::text FROM cases ORDER BY id`,
      );
      expect(cases.rows).toEqual([
        {
          subject: 'first',
          status: 'WAITING',
          ticket: 'Q001',
          ticket_number: 1,
          queued_as_enqueued: true,
          last_action: 'ENQUEUE',
        },
        {
          subject: 'second',
          status: 'WAITING',
          ticket: 'Q002',
          ticket_number: 2,
          queued_as_enqueued: true,
          last_action: 'ENQUEUE',
        },
        {
          subject: 'closed',
          status: 'COMPLETED',
          ticket: 'Q003',
          ticket_number: 3,
          queued_as_enqueued: true,
          last_action: 'AUTO_CLOSE',
        },
      ]);
      const counters = await client.query(`SELECT day::text, last_number FROM ticket_counters`);
      expect(counters.rows).toEqual([{ day: '2026-11-27', last_number: 3 }]);
      const events = await client.query(
        `SELECT action::text, count(*)::int AS n FROM case_events GROUP BY action ORDER BY action`,
      );
      expect(events.rows).toEqual([
        { action: 'AUTO_CLOSE', n: 1 },
        { action: 'ENQUEUE', n: 2 },
      ]);
      const positions = await client.query(`SELECT DISTINCT position FROM case_properties`);
      expect(positions.rows).toEqual([{ position: 1 }]);
    } finally {
      await client.end();
    }
  });
});

describe('upgrading to one ticket counter per service', () => {
  it("keeps each service's latest day, past every number an open case holds", async () => {
    const { migrationDirectories, ...list } = await readMigrations(MIGRATIONS_DIR);
    const before = migrationDirectories.filter((migration) => migration.path < '20261205214419');
    // Everything before the migration under test, which comes right after them.
    expect(migrationDirectories[before.length]?.path).toMatch(/^20261205214419_/);
    const url = await emptyDatabase();
    await withSchemaEngine(url, (engine) =>
      engine.applyMigrations({
        migrationsList: { ...list, migrationDirectories: before },
        filters: { externalTables: [], externalEnums: [] },
      }),
    );
    // Service 1: yesterday's Q005 still waits while today's numbering has reached 3 (the old
    // rule's duplicate tickets). Service 2: yesterday's cases are all closed.
    await execute(
      url,
      `INSERT INTO services (id, name, queue_code) VALUES (1, 'Busy', 'Q'), (2, 'Quiet', 'R');
       INSERT INTO cases (service_id, status, ticket_day, ticket_number, ticket) VALUES
         (1, 'WAITING', '2026-12-04', 5, 'Q005'), (1, 'COMPLETED', '2026-12-04', 6, 'Q006'),
         (1, 'WAITING', '2026-12-05', 3, 'Q003'), (2, 'COMPLETED', '2026-12-04', 9, 'R009');
       INSERT INTO ticket_counters (service_id, day, last_number) VALUES
         (1, '2026-12-04', 6), (1, '2026-12-05', 3), (2, '2026-12-04', 9);`,
    );
    await applyPendingMigrations(url, MIGRATIONS_DIR);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT service_id, day::text, started_on::text, last_number FROM ticket_counters ORDER BY service_id`,
      );
      expect(rows).toEqual([
        { service_id: 1, day: '2026-12-05', started_on: '2026-12-05', last_number: 5 },
        { service_id: 2, day: '2026-12-04', started_on: '2026-12-04', last_number: 9 },
      ]);
      const { rows: seqs } = await client.query(
        `SELECT count(*)::int AS kept FROM cases WHERE enqueue_seq IS NOT NULL`,
      );
      expect(seqs).toEqual([{ kept: 0 }]);
    } finally {
      await client.end();
    }
  });
});
