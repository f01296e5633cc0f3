// Probes for orchestrators. GET/HEAD /health/live: 200 while the process
// serves requests; it touches nothing else, so a database outage never gets
// the gateway restarted. GET/HEAD /health/ready: 200 only when the database
// answers within the deadline and has every migration of prisma/migrations
// applied; otherwise 503 with Retry-After and the check that failed, so
// traffic goes elsewhere until it passes. (`/health`, health-route.ts, is the
// readiness probe without the migrations check.)
import { readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from '../db/prisma-client.js';
import { databaseUnavailable } from '../db/prisma-errors.js';
import { singleFlight, within } from '../deadline.js';
import { RETRY_AFTER_SECONDS } from '../queue/error-codes.js';
import { readOnly } from './read-only.js';
import { sendJson } from './respond.js';

export const LIVE_PATH = '/health/live';
export const READY_PATH = '/health/ready';

export type Readiness =
  | { readonly ready: true }
  | {
      readonly ready: false;
      /** The check that failed. */
      readonly failed: 'database' | 'migrations';
      readonly reason: string;
      /** The migrations the database lacks, oldest first. */
      readonly missing?: readonly string[];
    };

export function liveRoute() {
  return (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (readOnly(request, response)) sendJson(response, 200, { status: 'live' });
    return Promise.resolve();
  };
}

/** The migration folders (each one migration, named after its timestamp), read once. */
function migrationFolders(migrationsDir: string): () => Promise<string[]> {
  let folders: Promise<string[]> | undefined;
  return () => {
    folders ??= readdir(migrationsDir, { withFileTypes: true }).then((entries) =>
      entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort(),
    );
    return folders;
  };
}

/** Checks the database answers within `timeoutMs` and has every migration applied; one check in flight at a time. */
export function readinessCheck(db: Database, timeoutMs: number, migrationsDir: string): () => Promise<Readiness> {
  const folders = migrationFolders(migrationsDir);
  // Migrations another (newer) gateway applied beyond ours do not matter:
  // what counts is that everything this code expects is there.
  const applied = singleFlight(() =>
    db.$queryRaw<{ name: string }[]>`
      SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`.then(
      (rows) => ({ names: new Set(rows.map((row) => row.name)) }),
      (error: unknown) => ({ error }),
    ),
  );
  return async () => {
    const reading = applied();
    if (!(await within(reading, timeoutMs))) {
      return { ready: false, failed: 'database', reason: `the database did not answer within ${timeoutMs} ms` };
    }
    const answer = await reading;
    if ('error' in answer) {
      const unavailable = databaseUnavailable(answer.error);
      return unavailable
        ? { ready: false, failed: 'database', reason: `the database is unavailable (${unavailable})` }
        : {
            ready: false,
            failed: 'migrations',
            reason: 'the migration history (_prisma_migrations) could not be read',
          };
    }
    const missing = (await folders()).filter((name) => !answer.names.has(name));
    if (missing.length > 0) {
      return { ready: false, failed: 'migrations', reason: `${missing.length} migration(s) not applied`, missing };
    }
    return { ready: true };
  };
}

export function readyRoute(check: () => Promise<Readiness>) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!readOnly(request, response)) return;
    const readiness = await check();
    if (readiness.ready) {
      sendJson(response, 200, { status: 'ready' });
      return;
    }
    const { failed, reason, missing } = readiness;
    sendJson(
      response,
      503,
      { status: 'unavailable', failed, reason, ...(missing ? { missing } : {}) },
      { 'retry-after': String(RETRY_AFTER_SECONDS) },
    );
  };
}
