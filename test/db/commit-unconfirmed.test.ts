// Commits that only the server that ran them has (src/db/postgres-pool.ts,
// CommitUnconfirmedError; src/queue/unknown-outcome.ts, readConfirmed). A
// real PostgreSQL whose synchronous_standby_names names a standby that never
// connects stands for an old primary after its standby was promoted: every
// commit that writes waits for a confirmation that never comes. A cancel then
// makes PostgreSQL answer the COMMIT as done (with a WARNING), and a
// terminate leaves it committed there; the gateway must take neither as written.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPostgres } from '../../src/db/embedded-postgres.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { commitUnknown, databaseUnavailable } from '../../src/db/prisma-errors.js';
import { CommitUnconfirmedError, PostgresPool } from '../../src/db/postgres-pool.js';
import { startScratchPostgres } from '../../src/db/scratch-postgres.js';
import { OutcomeUnknownError, readConfirmed, settleOutcome } from '../../src/queue/unknown-outcome.js';
import { Prisma } from '../../src/generated/prisma/client.js';

const STATEMENT_MS = 300;
let server: RunningPostgres | undefined;
const clients: Database[] = [];

function client(outcomeMs = 1_500): Database {
  if (!server) throw new Error('no server');
  const db = createDatabaseClient(server.url, 2, {
    timeouts: { statementMs: STATEMENT_MS, lockMs: 1_000, acquireMs: 2_000, outcomeMs },
  });
  clients.push(db);
  return db;
}

/** A plain pg client, without the gateway's pool: what PostgreSQL itself answers. */
async function plainClient(): Promise<pg.Client> {
  if (!server) throw new Error('no server');
  const plain = new pg.Client({ connectionString: server.url, options: `-c statement_timeout=${STATEMENT_MS}` });
  await plain.connect();
  return plain;
}

async function rowsWithNote(note: string): Promise<number> {
  const plain = await plainClient();
  try {
    const { rows } = await plain.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE note = $1', [note]);
    return rows[0]?.n ?? -1;
  } finally {
    await plain.end();
  }
}

/** Synchronous replication on (to a standby that never comes) or off. */
async function waitForStandby(on: boolean): Promise<void> {
  const plain = await plainClient();
  try {
    await plain.query(`ALTER SYSTEM SET synchronous_standby_names = '${on ? 'never_connects' : ''}'`);
    await plain.query('SELECT pg_reload_conf()');
    // The reload reaches every backend at its next command; new connections read it at once.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    await plain.end();
  }
}

/**
 * Settles `write` while cutting short, with `how`, every wait for the standby
 * it meets (a watcher on a connection of its own); what `write` gave or threw.
 */
async function cuttingShort<T>(
  how: 'pg_cancel_backend' | 'pg_terminate_backend',
  write: () => Promise<T>,
): Promise<{ value?: T; error?: unknown }> {
  const watcher = await plainClient();
  const watch = { done: false };
  const watching = (async () => {
    while (!watch.done) {
      await watcher.query(
        `SELECT ${how}(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND pid <> pg_backend_pid()`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return await write().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  } finally {
    watch.done = true;
    await watching;
    await watcher.end();
  }
}

beforeAll(async () => {
  server = await startScratchPostgres();
  const plain = await plainClient();
  await plain.query('CREATE TABLE notes (id serial PRIMARY KEY, note text NOT NULL)');
  await plain.end();
  await waitForStandby(true);
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((db) => db.$disconnect()));
  await server?.stop();
});

describe('a commit whose wait for the synchronous standby is cut short', () => {
  it('is answered as done by PostgreSQL itself when cancelled, and is there either way', async () => {
    const plain = await plainClient();
    const warnings: string[] = [];
    plain.on('notice', (notice) => warnings.push(`${notice.routine ?? ''}: ${notice.message}`));
    try {
      const { value } = await cuttingShort('pg_cancel_backend', () =>
        plain.query(`INSERT INTO notes (note) VALUES ('cancelled')`),
      );
      expect(value?.rowCount).toBe(1);
    } finally {
      await plain.end();
    }
    expect(warnings).toEqual([expect.stringMatching(/^SyncRepWaitForLSN: canceling wait for synchronous replication/)]);
    // Terminated, the client hears nothing back (no answer is no acknowledgement), but the commit stays.
    const terminated = await plainClient();
    terminated.on('error', () => undefined);
    const { error } = await cuttingShort('pg_terminate_backend', () =>
      terminated.query(`INSERT INTO notes (note) VALUES ('terminated')`),
    );
    expect(error).toBeInstanceOf(Error);
    await terminated.end().catch(() => undefined);
    expect(await Promise.all(['cancelled', 'terminated'].map(rowsWithNote))).toEqual([1, 1]);
  });

  it("fails on the gateway's connections, as an outcome to settle, not as a refusal", async () => {
    const pool = new PostgresPool(server?.url ?? '');
    try {
      const { error } = await cuttingShort('pg_cancel_backend', () =>
        pool.query(`INSERT INTO notes (note) VALUES ('pool')`),
      );
      expect(error).toBeInstanceOf(CommitUnconfirmedError);
      // A statement that writes nothing waits for nobody, on the same pool.
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
    const db = client();
    const statement = await cuttingShort(
      'pg_cancel_backend',
      () => db.$executeRaw`INSERT INTO notes (note) VALUES ('prisma')`,
    );
    expect(databaseUnavailable(statement.error)).toBe('commit not confirmed by the standby');
    expect(commitUnknown(statement.error)).toBe(true);
    // Also the COMMIT of a transaction.
    const transaction = await cuttingShort('pg_cancel_backend', () =>
      db.$transaction(async (tx) => tx.$executeRaw`INSERT INTO notes (note) VALUES ('transaction')`),
    );
    expect(databaseUnavailable(transaction.error)).toBe('commit not confirmed by the standby');
    expect(commitUnknown(transaction.error)).toBe(true);
    // Each is committed here all the same: only this server has it.
    expect(await Promise.all(['pool', 'prisma', 'transaction'].map(rowsWithNote))).toEqual([1, 1, 1]);
  });

  it('is not taken as written by the settling of a lost commit until the standby has it', async () => {
    const db = client();
    const query = Prisma.sql`SELECT id, note FROM notes WHERE note = 'terminated'`;
    const read = (tx: Prisma.TransactionClient) => tx.$queryRaw<{ id: number; note: string }[]>(query);
    // The row is there, but the standby never confirms it: no answer, whether the wait times out or is cancelled.
    await expect(settleOutcome(db, query, performance.now())).rejects.toBeInstanceOf(OutcomeUnknownError);
    const cancelled = await cuttingShort('pg_cancel_backend', () => readConfirmed(db, read, (rows) => rows.length > 0));
    expect(databaseUnavailable(cancelled.error)).toBe('commit not confirmed by the standby');
    // Nothing found needs no confirmation.
    const none = Prisma.sql`SELECT id FROM notes WHERE note = 'never written'`;
    expect(
      await readConfirmed(
        db,
        (tx) => tx.$queryRaw<{ id: number }[]>(none),
        (rows) => rows.length > 0,
      ),
    ).toEqual([]);
    // Once commits are confirmed again (the standby caught up, or none is required), the row is the answer.
    await waitForStandby(false);
    try {
      const rows = await settleOutcome<{ id: number; note: string }>(client(), query, performance.now());
      expect(rows.map((row) => row.note)).toEqual(['terminated']);
      expect(await readConfirmed(db, read, (found) => found.length > 0)).toHaveLength(1);
    } finally {
      await waitForStandby(true);
    }
  });
});
