// One lane of one endpoint: its pending deliveries, sent one after another in
// id order (the order their changes committed, fan-out.ts), so a case's events
// reach the endpoint in order. A failed attempt stops the lane until its retry
// (equal-jitter backoff, backoff.ts); a delivery that has kept failing for
// failAfterMs, or one answered 410 Gone, turns its endpoint FAILING: nothing more is sent to it, every
// event is kept, and enabling the endpoint sends them, oldest first. Each
// attempt is logged in webhook_attempts (status, time, attempt, response
// code, latency) and its result written before the next one starts, so a
// crash repeats at most the attempt in flight, with the same webhook-id.
import type { PoolClient } from 'pg';
import type { Logger } from '../log.js';
import { nextWaitMs, retryAfterMs } from './backoff.js';
import type { Lane } from './fan-out.js';
import type { AttemptOutcome, Send } from './outbound-http.js';
import { deliveryBody, personalFields, webhookId } from './payload.js';
import { signatureHeaders } from './signing.js';

/** Deliveries one turn of a lane sends at most, before it lets other lanes run. */
export const LANE_TURN = 50;
/** A turn starts no attempt after this long: with one attempt's timeout, the longest a lane's job holds its lock. */
export const TURN_MS = 20_000;

export interface LaneSettings {
  /** The first retry's wait ceiling (backoff.ts). */
  readonly retryBaseMs: number;
  /** The longest retry wait ceiling. */
  readonly retryMaxMs: number;
  /** A delivery failing this long turns its endpoint FAILING. */
  readonly failAfterMs: number;
}

/** What the lane's job should do when a turn ends. */
export type NextTurn =
  | { readonly kind: 'idle' }
  | { readonly kind: 'now' }
  | { readonly kind: 'at'; readonly at: Date }
  /** The endpoint is disabled, failing or gone: nothing until it is enabled. */
  | { readonly kind: 'paused' };

interface PendingRow {
  readonly id: string;
  readonly attempts: number;
  readonly first_failed_at: Date | null;
  readonly next_attempt_at: Date | null;
  readonly event_id: string;
  readonly type: string;
  readonly occurred_at: Date;
  readonly case_id: number | null;
  readonly data: Record<string, unknown>;
  readonly url: string;
  readonly secret: string;
  readonly previous_secret: string | null;
  readonly previous_secret_expires_at: Date | null;
  readonly status: string;
  readonly personal: boolean;
  readonly now: Date;
}

const USER_AGENT = 'fifo-case-gateway-webhooks';

async function nextPending(client: PoolClient, { endpointId, lane }: Lane): Promise<PendingRow | undefined> {
  const { rows } = await client.query<PendingRow>(
    `SELECT d.id::text, d.attempts, d.first_failed_at, d.next_attempt_at, e.id::text AS event_id, e.type::text,
            e.occurred_at, e.case_id, webhook_event_data(e) AS data, p.url, p.secret, p.previous_secret, p.previous_secret_expires_at,
            p.status::text, p.include_personal_data AND p.personal_data_allowed AS personal, clock_timestamp() AS now
       FROM webhook_deliveries d
       JOIN webhook_events e ON e.id = d.event_id
       JOIN webhook_endpoints p ON p.id = d.endpoint_id
      WHERE d.endpoint_id = $1 AND d.lane = $2 AND d.status = 'PENDING'
      ORDER BY d.id LIMIT 1`,
    [endpointId, lane],
  );
  return rows[0];
}

/** The secrets a delivery is signed with: the current one, and the previous one until its overlap ends. */
function secretsOf(row: PendingRow): string[] {
  const overlap = row.previous_secret !== null && (row.previous_secret_expires_at?.getTime() ?? 0) > row.now.getTime();
  return overlap && row.previous_secret ? [row.secret, row.previous_secret] : [row.secret];
}

/** What a turn reports to, besides the database. */
export interface LaneHooks {
  readonly log: Logger;
  /** Told of each attempt (metrics). */
  readonly onAttempt?: ((endpointId: number, outcome: AttemptOutcome) => void) | undefined;
  /** Aborts the attempt in flight (the runner is stopping). */
  readonly signal?: AbortSignal | undefined;
}

/** Sends up to LANE_TURN deliveries of `lane` (for at most TURN_MS); says when the lane's job should run again. */
export async function drainLane(
  client: PoolClient,
  lane: Lane,
  send: Send,
  settings: LaneSettings,
  { log, onAttempt, signal }: LaneHooks,
): Promise<NextTurn> {
  const started = performance.now();
  for (let sent = 0; sent < LANE_TURN && performance.now() - started < TURN_MS; sent++) {
    const row = await nextPending(client, lane);
    if (!row) return { kind: 'idle' };
    if (row.status !== 'ENABLED') return { kind: 'paused' };
    if (row.next_attempt_at && row.next_attempt_at.getTime() > row.now.getTime())
      return { kind: 'at', at: row.next_attempt_at };
    const personal = row.personal && row.case_id !== null ? await personalFields(client, row.case_id) : null;
    const body = deliveryBody(
      { eventId: row.event_id, type: row.type, occurredAt: row.occurred_at, caseId: row.case_id, data: row.data },
      personal,
    );
    // By the database's clock, as every time it keeps (the log's, the retries').
    const attemptAt = row.now;
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...signatureHeaders({ id: webhookId(row.event_id), timestamp: attemptAt, body, secrets: secretsOf(row) }),
    };
    const result = await send(row.url, headers, body, signal);
    onAttempt?.(lane.endpointId, result.outcome);
    const attempt = row.attempts + 1;
    const delivered = result.outcome === 'DELIVERED';
    const retryInMs = delivered
      ? null
      : nextWaitMs(
          attempt,
          { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs },
          retryAfterMs(result.retryAfter, attemptAt),
        );
    // The delivery first, then its log entry: a delivery deleted meanwhile
    // (with its endpoint) logs nothing, rather than failing the turn on the
    // log's foreign key; the row lock keeps it until this commits.
    const { rows } = await client.query<{ next_attempt_at: Date | null; failing_ms: number | null }>(
      `WITH updated AS (
         UPDATE webhook_deliveries
            SET attempts = $4, status = CASE WHEN $9 THEN 'DELIVERED' ELSE 'PENDING' END::webhook_delivery_status,
                delivered_at = CASE WHEN $9 THEN clock_timestamp() END,
                next_attempt_at = clock_timestamp() + make_interval(secs => $10::float8 / 1000),
                first_failed_at = CASE WHEN $9 THEN first_failed_at ELSE coalesce(first_failed_at, $5) END
          WHERE id = $1 AND status = 'PENDING'
         RETURNING id, next_attempt_at,
                   (extract(epoch FROM clock_timestamp() - coalesce(first_failed_at, $5)) * 1000)::float8 AS failing_ms
       ), logged AS (
         INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempt, at, outcome, response_status, latency_ms)
         SELECT u.id, $2, $3, $4, $5, $6, $7, $8 FROM updated u
       )
       SELECT next_attempt_at, failing_ms FROM updated`,
      [
        row.id,
        lane.endpointId,
        row.event_id,
        attempt,
        attemptAt,
        result.outcome,
        result.status,
        result.latencyMs,
        delivered,
        retryInMs,
      ],
    );
    // Delivered, or gone meanwhile: on to the lane's next delivery.
    if (delivered || rows.length === 0) continue;
    // Never the URL, the body or the answer: they may carry tokens or personal data.
    log.warn('webhook attempt failed', {
      endpointId: lane.endpointId,
      eventId: row.event_id,
      eventType: row.type,
      attempt,
      outcome: result.outcome,
      status: result.status,
      latencyMs: result.latencyMs,
    });
    // 410 Gone: the receiver says the endpoint is no more (Standard Webhooks asks senders to stop).
    const gone = result.status === 410;
    if (gone || (rows[0]?.failing_ms ?? 0) >= settings.failAfterMs) {
      const failed = await client.query(
        `UPDATE webhook_endpoints SET status = 'FAILING', failing_since = clock_timestamp()
          WHERE id = $1 AND status = 'ENABLED'`,
        [lane.endpointId],
      );
      if ((failed.rowCount ?? 0) > 0)
        log.error(
          `webhook endpoint ${lane.endpointId} failing: ${gone ? 'it answered 410 Gone' : 'deliveries kept failing'}; its events are kept`,
        );
      return { kind: 'paused' };
    }
    return { kind: 'at', at: rows[0]?.next_attempt_at ?? new Date() };
  }
  return { kind: 'now' };
}
