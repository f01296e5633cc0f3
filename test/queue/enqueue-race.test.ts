// Many gateways' worth of enqueue writers on one service, without HTTP:
// sixteen enqueuers (each with the lanes a gateway process has) race while
// a watcher reads the queue. Only the service lock orders their statements.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { createService } from '../../src/queue/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const WRITERS = 16;
const PER_WRITER = 40;

let database: TestDatabase;
let db: Database;
let sql: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  db = createDatabaseClient(database.url, WRITERS + 4);
  sql = new pg.Pool({ connectionString: database.url, max: 2 });
});

afterAll(async () => {
  await sql?.end();
  await db?.$disconnect();
  await database?.drop();
});

describe(`${WRITERS} enqueuers writing into one service at once`, () => {
  it('never commit a case ahead of one already visible, and number tickets in queue order', async () => {
    const service = await createService(db, { name: 'Contended', queueCode: 'C' });
    const writers = Array.from({ length: WRITERS }, () => createEnqueuer(db));
    let racing = true;
    const snapshots: number[][] = [];
    const watcher = (async () => {
      while (racing) {
        const { rows } = await sql.query<{ id: number }>(
          `SELECT id FROM cases WHERE service_id = $1 ORDER BY queued_at, queue_seq`,
          [service.id],
        );
        snapshots.push(rows.map((row) => row.id));
      }
    })();
    const written = await Promise.all(
      writers.flatMap((writer, w) =>
        Array.from({ length: PER_WRITER }, (_, index) =>
          writer.enqueue({ serviceId: service.id, subject: `writer ${w} #${index}` }),
        ),
      ),
    ).finally(() => {
      racing = false;
    });
    await watcher;

    expect(snapshots.length).toBeGreaterThan(1);
    snapshots.forEach((snapshot, index) => {
      const next = snapshots[index + 1];
      if (next)
        expect(next.slice(0, snapshot.length), `snapshot ${index + 1} reorders snapshot ${index}`).toEqual(snapshot);
    });
    const { rows } = await sql.query<{ id: number; ticket_number: number }>(
      `SELECT id, ticket_number FROM cases WHERE service_id = $1 ORDER BY queued_at, queue_seq`,
      [service.id],
    );
    expect(rows.map((row) => row.id).sort((a, b) => a - b)).toEqual(
      written.map((each) => each.id).sort((a, b) => a - b),
    );
    expect(rows.map((row) => row.ticket_number)).toEqual(
      Array.from({ length: WRITERS * PER_WRITER }, (_, index) => index + 1),
    );
  });
});
