// Fan-out: the outbox's new events become deliveries, one per endpoint that
// wants each, and the lanes that got work are woken. One fan-out at a time
// (an advisory lock, whatever the job queue does), events in id order, so
// each endpoint's deliveries are numbered in the order the events were
// written. A case's own changes commit in that order too (each waits for the
// one before it, on the case's row), but its case.approaching is written by
// another case's change, which holds no lock on it. Two ways it can be out of
// date, and then it is not sent (it is marked routed, with no delivery):
// - it commits after the case's next change (its call) was routed: when it
//   is routed, a later event of its case already was;
// - a concurrent hand-out took the case while the statement that wrote it
//   still saw the case waiting (hand-outs lock only the cases they take):
//   the change recorded just before it took the case out of the queue. When
//   an endpoint wants case.approaching, those changes are recorded whether
//   or not it wants them (webhook_recorded_kinds), and routed only where wanted.
// A lane is an endpoint's share of the cases (case id modulo LANES): one job
// at a time per lane sends its deliveries in id order, so the events of one
// case reach the endpoint in the order they happened, and different cases go
// in parallel. Events older than an endpoint are not sent
// to it; `replayWebhookEvents` can.
import type { PoolClient } from 'pg';

/** Lanes per endpoint: how many cases of one endpoint are delivered at once, at most. */
export const LANES = 16;
/** Events one fan-out takes; more are left to the next, queued at once. */
export const FAN_OUT_BATCH = 1_000;
/** Advisory lock class of the fan-out ('WHFO'). */
const FAN_OUT_LOCK = 0x5748464f;

export const FAN_OUT_TASK = 'webhook_fanout';
export const DELIVER_TASK = 'webhook_deliver';
export const FAN_OUT_QUEUE = 'webhook:fanout';

/** A lane of an endpoint: the job queue's name and key for its job. */
export interface Lane {
  readonly endpointId: number;
  readonly lane: number;
}
export const laneKey = ({ endpointId, lane }: Lane): string => `webhook:${endpointId}:${lane}`;

export interface FanOutResult {
  /** Lanes of enabled endpoints that got deliveries. */
  readonly lanes: readonly Lane[];
  /** Whether the batch was full: more events may wait. */
  readonly more: boolean;
}

/** Routes up to FAN_OUT_BATCH undelivered events to their endpoints, in one transaction on `client`. */
export async function fanOut(client: PoolClient): Promise<FanOutResult> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [FAN_OUT_LOCK]);
    const { rows } = await client.query<{ endpoint_id: number | null; lane: number | null; taken: number }>(
      `WITH batch AS MATERIALIZED (
         SELECT e.id, e.type, e.service_id, e.case_id, e.threshold, e.occurred_at, e.queued_at FROM webhook_events e
          WHERE e.dispatched_at IS NULL ORDER BY e.id LIMIT $1 FOR UPDATE
       ), marked AS (
         UPDATE webhook_events e SET dispatched_at = clock_timestamp() FROM batch b WHERE e.id = b.id
       ), routed AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, lane)
         SELECT p.id, b.id, (coalesce(b.case_id, b.service_id) % $2)::smallint
           FROM batch b
           JOIN webhook_endpoints p
             ON p.status <> 'DISABLED' AND b.type = ANY(p.events)
            AND (coalesce(cardinality(p.service_ids), 0) = 0 OR b.service_id = ANY(p.service_ids))
            AND (b.type <> 'case.approaching' OR b.threshold = p.approach_position)
            AND b.occurred_at >= p.created_at
            AND NOT (b.type = 'case.approaching' AND (
                  -- A later event of its case was routed before this statement
                  -- (the batch still reads as not routed here)...
                  EXISTS (SELECT 1 FROM webhook_events later
                           WHERE later.case_id = b.case_id AND later.id > b.id AND later.dispatched_at IS NOT NULL)
                  -- ...or it was written after the case left its place: the last
                  -- change recorded before it takes the case out of the queue,
                  -- since the place it reports (queued_at).
                  OR EXISTS (SELECT 1 FROM (SELECT e.type, e.occurred_at FROM webhook_events e
                                             WHERE e.case_id = b.case_id AND e.id < b.id AND e.type <> 'case.approaching'
                                             ORDER BY e.id DESC LIMIT 1) prior
                              WHERE prior.type IN ('case.called', 'case.completed', 'case.cancelled')
                                AND prior.occurred_at >= b.queued_at)))
          ORDER BY b.id, p.id
         RETURNING endpoint_id, lane
       )
       SELECT l.endpoint_id, l.lane, (SELECT count(*)::int FROM batch) AS taken
         FROM (SELECT DISTINCT r.endpoint_id, r.lane FROM routed r) l
         JOIN webhook_endpoints p ON p.id = l.endpoint_id AND p.status = 'ENABLED'
        UNION ALL
       SELECT NULL, NULL, (SELECT count(*)::int FROM batch)`,
      [FAN_OUT_BATCH, LANES],
    );
    const lanes = rows.flatMap((row) =>
      row.endpoint_id === null || row.lane === null ? [] : [{ endpointId: row.endpoint_id, lane: row.lane }],
    );
    // Woken in the same transaction: deliveries never wait for a wake-up a crash lost.
    await kickLanes(client, lanes);
    await client.query('COMMIT');
    return { lanes, more: (rows.at(-1)?.taken ?? 0) >= FAN_OUT_BATCH };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * SQL that queues the job of each lane `l` (endpoint_id, lane) of `lanes`, a
 * FROM item, keyed by the lane so that it has one job at most. `preserve_run_at`:
 * a lane waiting for a retry keeps its time; `replace`: it runs now. Either
 * way a running lane gets a successor.
 */
export function addLaneJobsSql(lanes: string, mode: 'preserve_run_at' | 'replace'): string {
  return `SELECT count(graphile_worker.add_job('${DELIVER_TASK}', json_build_object('endpointId', l.endpoint_id, 'lane', l.lane),
                                              queue_name => 'webhook:' || l.endpoint_id || ':' || l.lane,
                                              job_key => 'webhook:' || l.endpoint_id || ':' || l.lane,
                                              job_key_mode => '${mode}'))::int AS queued
            FROM ${lanes}`;
}

/** Queues each lane's job unless it has one waiting (a lane waiting for a retry keeps its time). */
export async function kickLanes(client: PoolClient, lanes: readonly Lane[]): Promise<void> {
  if (lanes.length === 0) return;
  await client.query(addLaneJobsSql('unnest($1::int[], $2::int[]) AS l(endpoint_id, lane)', 'preserve_run_at'), [
    lanes.map((lane) => lane.endpointId),
    lanes.map((lane) => lane.lane),
  ]);
}
