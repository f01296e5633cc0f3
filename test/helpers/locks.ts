// Waiting for what PostgreSQL shows of lock waits, so race tests can order
// their steps without sleeping on a guess.
import type pg from 'pg';

/** Waits until at least `count` statements of this database wait for a lock. */
export async function lockWaiters(sql: pg.Pool, count: number): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    const { rows } = await sql.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if ((rows[0]?.waiting ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never saw ${count} statements waiting for a lock`);
}

/**
 * Runs `body` while a transaction of its own holds the lock `statement` takes;
 * `body` lets go with `release()` (a commit), or the lock goes when it ends.
 */
export async function whileHolding<T>(
  sql: pg.Pool,
  statement: string,
  params: readonly unknown[],
  body: (release: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const holder = await sql.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(statement, [...params]);
    return await body(async () => {
      await holder.query('COMMIT');
    });
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    holder.release();
  }
}
