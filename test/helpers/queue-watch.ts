// The FIFO invariant seen from outside: while writers race, a watcher reads a
// service's queue in queue order again and again, and each reading must
// start with the one before it. A case appearing ahead of one already visible
// would be served after a case that joined later than it.
import { expect } from 'vitest';
import type pg from 'pg';

/** Runs `race` while reading the waiting queue of `serviceId`; fails unless it only ever grew at the back. */
export async function raceWhileWatchingQueue<T>(sql: pg.Pool, serviceId: number, race: () => Promise<T>): Promise<T> {
  let racing = true;
  const snapshots: number[][] = [];
  const watch = async (): Promise<void> => {
    while (racing) {
      const { rows } = await sql.query<{ id: number }>(
        `SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING' ORDER BY queued_at, queue_seq`,
        [serviceId],
      );
      snapshots.push(rows.map((row) => row.id));
    }
  };
  const watcher = watch();
  const result = await race().finally(() => {
    racing = false;
  });
  await watcher;
  expect(snapshots.length, 'the watcher read the queue more than once').toBeGreaterThan(1);
  snapshots.forEach((snapshot, index) => {
    const next = snapshots[index + 1];
    if (next)
      expect(next.slice(0, snapshot.length), `reading ${index + 1} reorders reading ${index}`).toEqual(snapshot);
  });
  return result;
}
