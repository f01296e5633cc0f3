// The statements on rate_limit_counts: (key, window) -> requests accepted,
// summed over every gateway process. The table is UNLOGGED (no WAL; emptied
// after a database crash): counts of the current window need no durability.
import { z } from 'zod';
import type { Database } from '../db/prisma-client.js';

const total = z.object({ key: z.string(), count: z.number().int() });
export type KeyTotal = z.infer<typeof total>;

/**
 * Adds `counts[i]` to `keys[i]` in `window` and returns each key's new total,
 * every process's included. One statement for the whole batch.
 *
 * Rows are written in the order given: callers sort the keys, so two
 * processes adding to the same keys lock their rows in the same order and
 * cannot deadlock. Keys must be unique (ON CONFLICT cannot touch a row twice).
 */
export async function addCounts(
  db: Database,
  window: number,
  keys: readonly string[],
  counts: readonly number[],
): Promise<KeyTotal[]> {
  const rows = await db.$queryRaw<unknown[]>`/* hot: rate limit counts */
    INSERT INTO rate_limit_counts AS r (key, "window", count)
    SELECT t.key, ${BigInt(window)}::bigint, t.count
      FROM unnest(${keys}::text[], ${counts}::int[]) WITH ORDINALITY AS t(key, count, ord)
     ORDER BY t.ord
        ON CONFLICT (key, "window") DO UPDATE SET count = r.count + excluded.count
    RETURNING r.key, r.count`;
  return z.array(total).parse(rows);
}

/** Deletes the counts of windows before `window`; returns how many rows went. */
export async function deleteWindowsBefore(db: Database, window: number): Promise<number> {
  return db.$executeRaw`DELETE FROM rate_limit_counts WHERE "window" < ${BigInt(window)}::bigint`;
}
