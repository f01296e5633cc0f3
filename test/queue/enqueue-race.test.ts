// Many gateways' worth of enqueue writers on one service, without HTTP:
// sixteen enqueuers (each with the lanes a gateway process has) race while
// a watcher reads the queue. Only the service lock orders their statements.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import * as given from '../helpers/given.js';
import { raceWhileWatchingQueue } from '../helpers/queue-watch.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

const WRITERS = 16;
const PER_WRITER = 40;

let t: TestDatabaseClient;

beforeAll(async () => {
  t = await startTestDatabaseClient({ poolSize: WRITERS + 4 });
});

afterAll(async () => {
  await t.stop();
});

describe(`${WRITERS} enqueuers writing into one service at once`, () => {
  it('never commit a case ahead of one already visible, and number tickets in queue order', async () => {
    const service = await given.service(t.db, { name: 'Contended', queueCode: 'C' });
    const writers = Array.from({ length: WRITERS }, () => createEnqueuer(t.db));
    const written = await raceWhileWatchingQueue(t.sql, service.id, () =>
      Promise.all(
        writers.flatMap((writer, w) =>
          Array.from({ length: PER_WRITER }, (_, index) =>
            writer.enqueue({ serviceId: service.id, subject: `writer ${w} #${index}` }, OPEN_ACTOR),
          ),
        ),
      ),
    );
    const { rows } = await t.sql.query<{ id: number; ticket_number: number }>(
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
