// A gateway whose main pool (one connection) is taken: an enqueue waits on a
// service a test transaction holds, so anything else that needs a connection
// (a readiness check, a scrape's queue read) cannot get one until `release`.
import { EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import * as given from './given.js';
import { expectData } from './graphql-client.js';
import { lockWaiters, whileHolding } from './locks.js';
import { startTestGateway, type TestGateway } from './test-gateway.js';

/** Deadline of the health check and of the scrape's queue read, in these tests. */
export const STARVED_DEADLINE_MS = 300;

/**
 * Runs `use` while the pool is taken; `release` ends the hold, and the held
 * enqueue must then succeed. Returns the gateway's service, for checks after.
 */
export async function whilePoolTaken(
  use: (starved: TestGateway, release: () => Promise<void>) => Promise<void>,
  after: (starved: TestGateway, serviceId: number) => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const env = {
    DATABASE_POOL_SIZE: '1',
    HEALTH_TIMEOUT_MS: String(STARVED_DEADLINE_MS),
    DATABASE_LOCK_TIMEOUT_MS: '60000',
  };
  const starved = await startTestGateway({}, env);
  try {
    const service = await given.service(starved.db);
    await whileHolding(
      starved.sql,
      'SELECT 1 FROM services WHERE id = $1 FOR NO KEY UPDATE',
      [service.id],
      async (release) => {
        // This enqueue waits for the held service on the pool's only connection.
        const held = starved.request(EnqueueCaseDocument, {
          input: { serviceId: service.id, subject: 'holds the pool' },
        });
        await lockWaiters(starved.sql, 1);
        await use(starved, release);
        await release();
        expectData(await held);
      },
    );
    await after(starved, service.id);
  } finally {
    await starved.stop();
  }
}
