// Retention (WEBHOOK_RETENTION_DAYS): events older than that go, with their
// deliveries and the delivery log, unless a delivery of theirs is still
// pending (an endpoint failing or disabled keeps its events until it is
// enabled and they are sent, whatever their age). Replays reach back as far
// as events are kept. A sweep deletes at most PRUNE_BATCH events, oldest
// first, in one short transaction, so a first prune of a large backlog never
// holds locks for long: the next sweeps go on.
import type { PoolClient } from 'pg';

/** Events one prune deletes at most. */
export const PRUNE_BATCH = 5_000;

/** Deletes up to PRUNE_BATCH expired events and what hangs on them; how many events went. */
export async function pruneWebhooks(client: PoolClient, retentionDays: number): Promise<number> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ id: string }>(
      `SELECT e.id::text FROM webhook_events e
        WHERE e.occurred_at < statement_timestamp() - make_interval(days => $1)
          AND e.dispatched_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'PENDING')
        ORDER BY e.id LIMIT $2
          FOR UPDATE SKIP LOCKED`,
      [retentionDays, PRUNE_BATCH],
    );
    const ids = rows.map((row) => row.id);
    if (ids.length > 0) {
      // Attempts go with their deliveries (ON DELETE CASCADE); events only once nothing refers to them.
      await client.query('DELETE FROM webhook_deliveries WHERE event_id = ANY($1::bigint[])', [ids]);
      await client.query('DELETE FROM webhook_events WHERE id = ANY($1::bigint[])', [ids]);
    }
    await client.query('COMMIT');
    return ids.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
