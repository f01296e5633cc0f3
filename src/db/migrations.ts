// Migrations in Prisma's own layout (prisma/migrations/<name>/migration.sql,
// history in `_prisma_migrations`), applied by Prisma's schema engine, so a
// team with network access can equally run the stock `prisma migrate deploy`.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MigrationList, SchemaFilter } from '@prisma/schema-engine-wasm';
import { withSchemaEngine } from './schema-engine.js';

export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };
const LOCKFILE = 'migration_lock.toml';

/** Reads every migration folder, oldest first (their names start with a timestamp). */
export async function readMigrations(migrationsDir: string): Promise<MigrationList> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrationDirectories = await Promise.all(
    folders.map(async (path) => {
      const content = await readFile(join(migrationsDir, path, 'migration.sql'), 'utf8').then(
        (value) => ({ tag: 'ok' as const, value }),
        (error: unknown) => ({ tag: 'error' as const, value: String(error) }),
      );
      return { path, migrationFile: { path: 'migration.sql', content } };
    }),
  );
  const lockfile = await readFile(join(migrationsDir, LOCKFILE), 'utf8').catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: LOCKFILE, content: lockfile },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** Applies the migrations the database has not seen yet; returns their names. */
export async function applyPendingMigrations(databaseUrl: string, migrationsDir: string): Promise<string[]> {
  const migrationsList = await readMigrations(migrationsDir);
  const { appliedMigrationNames } = await withSchemaEngine(databaseUrl, (engine) =>
    engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
  );
  return appliedMigrationNames;
}

/**
 * The SQL that takes a database described by the `from` datamodel to the one
 * described by `to` (`from` undefined: an empty database). Nothing is run;
 * the engine only needs a connection to start.
 */
export async function migrationSql(databaseUrl: string, from: string | undefined, to: string): Promise<string> {
  const datamodel = (content: string) => ({
    tag: 'schemaDatamodel' as const,
    files: [{ path: 'schema.prisma', content }],
  });
  const result = await withSchemaEngine(databaseUrl, (engine) =>
    engine.diff({
      from: from === undefined ? { tag: 'empty' } : datamodel(from),
      to: datamodel(to),
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    }),
  );
  return result.stdout ?? '';
}
