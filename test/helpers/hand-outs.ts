// The exactly-once FIFO judgement for racing call-next tests: a case handed
// out is checked against the database's queue order of its service.
import type pg from 'pg';
import { expect } from 'vitest';

/** One callNext answer, with when it was sent and answered (one clock: the test's). */
export interface HandOut {
  readonly caseId: number;
  readonly serviceId: number;
  readonly sent: number;
  readonly answered: number;
}

/**
 * FIFO: no case is handed out entirely before an older case of its service
 * was even asked for. Calls that overlap in time may finish in either order;
 * the queue order, (queued_at, queue_seq), decides which case is older.
 * Returns how many cases the services hold.
 */
export async function expectHandedOutInQueueOrder(
  sql: pg.Pool | pg.ClientBase,
  services: readonly number[],
  handOuts: readonly HandOut[],
): Promise<number> {
  const { rows } = await sql.query<{ id: number; service_id: number }>(
    'SELECT id, service_id FROM cases WHERE service_id = ANY($1) ORDER BY service_id, queued_at, queue_seq',
    [services],
  );
  const handOutOf = new Map(handOuts.map((handOut) => [handOut.caseId, handOut]));
  for (const service of services) {
    let latestSent = -Infinity;
    for (const row of rows.filter((each) => each.service_id === service)) {
      const handOut = handOutOf.get(row.id);
      expect(handOut?.serviceId, `case ${row.id} was handed out once, for its service`).toBe(service);
      expect(handOut?.answered, `case ${row.id} was handed out before an older case was called`).toBeGreaterThanOrEqual(
        latestSent,
      );
      latestSent = Math.max(latestSent, handOut?.sent ?? Infinity);
    }
  }
  return rows.length;
}
