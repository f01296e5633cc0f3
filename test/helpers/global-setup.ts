// Once per test run: a PostgreSQL server (TEST_DATABASE_URL's, or a scratch
// embedded one) and a template database with every migration applied, which
// each test file copies into a database of its own.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { applyPendingMigrations } from '../../src/db/migrations.js';
import { startScratchPostgres } from '../../src/db/scratch-postgres.js';
import { databaseUrl, TEMPLATE_DATABASE } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env['TEST_DATABASE_URL'];
  const scratch = external ? undefined : await startScratchPostgres();
  const serverUrl = external ?? scratch!.url;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE}`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();
  await applyPendingMigrations(databaseUrl(serverUrl, TEMPLATE_DATABASE), MIGRATIONS_DIR);
  project.provide('serverUrl', serverUrl);
  return async () => {
    await scratch?.stop();
  };
}
