// The enqueue statement: a batch of cases, for any number of services,
// written in one statement (and so one commit) under their services' locks.
//
// FIFO: the statement first locks the rows of the services its requests name
// (FOR NO KEY UPDATE), then reads the clock once for the batch and inserts the
// cases in request order, so their ids and queue sequence numbers follow that
// order. Writes into one service, from this process or another, therefore
// commit one at a time, each behind the one before: the queue only ever grows
// at the back (docs/architecture.md). FOR NO KEY UPDATE does not block other
// transactions' foreign-key checks against the service.
//
// Two ways to take the locks. `skip-held` never waits: services another
// transaction holds are skipped (SKIP LOCKED), and their requests come back
// unwritten with `serviceLocked` false, so one held service cannot hold up a
// batch for others. `wait` waits for the lock, and is used one service at a
// time (so two of them cannot deadlock).
//
// Per row, not per batch: a row whose service is unknown, inactive or held,
// whose customer is unknown or inactive, or whose idempotency key is already
// taken, is left out and the rest are written; the caller explains each
// missing row on its own. Ticket numbers are drawn in one counter update per
// service, in request order; across midnight they start again from 1 only
// once no case numbered on an earlier day is open (the `ticket` step below).
//
// Who acts, per row: the credential's id (written to the history event), its
// idempotency keys scoped by it (actor-rules.ts), and the services it is
// limited to. That limit is applied here, to the service the statement itself
// resolves, and not only to what the client named: a `serviceIdExtRef` that
// names another service (or is moved to one meanwhile) is never written into
// it. A row outside the limit is left out with no service resolved, so it is
// neither locked nor mistaken for a row whose service was held.
import { createHash } from 'node:crypto';
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import { OPEN_ACTOR, type Actor } from './actor.js';
import { scopedIdempotencyKey, serviceLimit } from './actor-rules.js';
import { caseColumns } from './case-columns.js';
import type { CaseEnqueue } from './input-rules.js';

/** How the statement takes its services' locks. */
export type LockMode = 'skip-held' | 'wait';

/** One row per request of the batch, in no particular order. */
export type EnqueueOutcome = {
  readonly ord: number;
  readonly writtenOrd: number | null;
  /** The service the request names, when one exists and the credential may act on it. */
  readonly serviceResolved: number | null;
  /** Whether this statement holds that service's lock. */
  readonly serviceLocked: boolean;
  /** Whether the service takes cases (read without its lock). */
  readonly serviceActive: boolean | null;
} & (
  (Case & { readonly serviceExtRef: string | null }) | ({ [K in keyof Case]: null } & { readonly serviceExtRef: null })
);

/** Identifies what was asked for, so a retry with the same key can be told from a different request. */
export function requestHash(input: CaseEnqueue): string {
  const { idempotencyKey: _key, ...asked } = input;
  return createHash('sha256').update(JSON.stringify(asked)).digest('hex');
}

/**
 * The batch as one JSON parameter: the statement's text is the same for every
 * batch (one statement to prepare), and one text value costs the driver and
 * Prisma far less to pass on than a column array per field.
 */
function requestsJson(inputs: readonly CaseEnqueue[], actors: readonly Actor[], tokens: readonly string[]): string {
  return JSON.stringify(
    inputs.map((input, ord) => {
      const actor = actors[ord] ?? OPEN_ACTOR;
      return {
        ord,
        write_token: tokens[ord] ?? null,
        actor: actor.id,
        allowed_services: serviceLimit(actor),
        service_id: input.serviceId,
        service_ext_ref: input.serviceIdExtRef,
        customer_id: input.customerId,
        ext_ref: input.extRef,
        notes: input.notes,
        subject: input.subject,
        classification_code: input.classificationCode,
        auto_close: input.autoClose,
        procedure_ext_ref: input.procedureExtRef,
        procedure_option_ext_ref: input.procedureOptionExtRef,
        idempotency_key: scopedIdempotencyKey(actor, input.idempotencyKey),
        request_hash: input.idempotencyKey === null ? null : requestHash(input),
        properties: input.customProperties,
      };
    }),
  );
}

const LOCKS: Record<LockMode, Prisma.Sql> = {
  'skip-held': Prisma.sql`FOR NO KEY UPDATE SKIP LOCKED`,
  wait: Prisma.sql`FOR NO KEY UPDATE`,
};

/**
 * Writes the batch; answers one row per request (`enqueueOutcomes`), `ord`
 * naming it, with the case when one was written. `actors[ord]` acted for `inputs[ord]` (the open
 * actor where none is given, as scripts/explain-queries.ts plans it), and
 * `tokens[ord]` is stamped on its case (unknown-outcome.ts).
 */
export function enqueueSql(
  inputs: readonly CaseEnqueue[],
  lock: LockMode,
  actors: readonly Actor[] = [],
  tokens: readonly string[] = [],
): Prisma.Sql {
  return Prisma.sql`/* hot: enqueue ${Prisma.raw(lock)} */
    WITH request AS (
      -- The service named, kept only when the credential may act on it.
      SELECT q.*, CASE WHEN q.allowed_services IS NULL OR q.named = ANY(q.allowed_services) THEN q.named END AS resolved
        FROM (SELECT r.*, coalesce(r.service_id, (SELECT x.id FROM services x WHERE x.ext_ref = r.service_ext_ref)) AS named
                FROM json_to_recordset(${requestsJson(inputs, actors, tokens)}::json)
                     AS r(ord int, write_token uuid, actor text, allowed_services int[], service_id int, service_ext_ref text, customer_id int,
                          ext_ref text, notes text, subject text, classification_code text, auto_close boolean,
                          procedure_ext_ref text, procedure_option_ext_ref text, idempotency_key text, request_hash text,
                          properties json)) q
    ), service AS (
      SELECT s.id, s.queue_code, s.time_zone, s.ext_ref
        FROM services s
       WHERE s.id = ANY(ARRAY(SELECT resolved FROM request WHERE resolved IS NOT NULL)) AND s.active
       ORDER BY s.id
         ${LOCKS[lock]}
    ), stamp AS (
      -- One clock reading for the batch, taken once every lock is held: the
      -- count consumes the locked rows before the clock is read, whatever the plan.
      SELECT clock_timestamp() AS at FROM (SELECT count(*) FROM service) AS locked
    ), accepted AS (
      SELECT r.*, s.queue_code, stamp.at, (stamp.at AT TIME ZONE s.time_zone)::date AS day
        FROM request r JOIN service s ON s.id = r.resolved CROSS JOIN stamp
       WHERE (r.service_ext_ref IS NULL OR s.ext_ref = r.service_ext_ref)
         AND (r.customer_id IS NULL OR EXISTS (SELECT 1 FROM customers cu WHERE cu.id = r.customer_id AND cu.active))
         -- A retry of a committed request draws no ticket; racing duplicates are caught by ON CONFLICT below.
         AND (r.idempotency_key IS NULL OR NOT EXISTS (SELECT 1 FROM cases k WHERE k.idempotency_key = r.idempotency_key))
    ), ticket AS (
      -- One counter row per service, locked by this upsert (so batches draw
      -- numbers one after another) and read in its newest version, committed
      -- after this statement's snapshot or not. Numbering starts again from 1
      -- on the first batch of a later day only when (1) the snapshot holds the
      -- counter as it is now, so no enqueue committed since the snapshot was
      -- taken (an enqueue is the only way a case becomes open, and it draws a
      -- number here), and (2) that snapshot has no case numbered on an earlier
      -- day still open. Otherwise numbering goes on, and the day moves
      -- forward: a stale snapshot only ever makes it go on, never repeat a
      -- ticket. Cases take the counter's day as their ticket day, so
      -- (service, ticket day, number) stays unique even if the clock or the
      -- service's time zone moves back.
      INSERT INTO ticket_counters AS t (service_id, day, started_on, last_number)
      SELECT resolved, day, day, count(*) FROM accepted GROUP BY resolved, day
      ON CONFLICT (service_id) DO UPDATE
         SET (day, started_on, last_number) = (
               SELECT greatest(t.day, excluded.day),
                      CASE WHEN fresh.start THEN excluded.day ELSE t.started_on END,
                      CASE WHEN fresh.start THEN 0 ELSE t.last_number END + excluded.last_number
                 FROM (SELECT CASE
                                WHEN excluded.day <= t.day THEN false
                                WHEN NOT EXISTS (SELECT 1 FROM ticket_counters seen
                                                  WHERE seen.service_id = t.service_id AND seen.day = t.day
                                                    AND seen.last_number = t.last_number) THEN false
                                ELSE NOT EXISTS (SELECT 1 FROM cases o
                                                  WHERE o.service_id = t.service_id AND o.status IN ('WAITING', 'IN_SERVICE')
                                                    AND o.ticket_day < excluded.day)
                              END AS start) fresh)
      RETURNING service_id, day, last_number
    ), numbered AS (
      SELECT a.*, t.day AS ticket_day,
             (t.last_number - count(*) OVER (PARTITION BY a.resolved) + row_number() OVER (PARTITION BY a.resolved ORDER BY a.ord))::int AS number
        FROM accepted a JOIN ticket t ON t.service_id = a.resolved
    ), created AS (
      INSERT INTO cases (service_id, customer_id, ext_ref, notes, subject, classification_code, auto_close,
                         procedure_ext_ref, procedure_option_ext_ref, status, ticket_day, ticket_number, ticket,
                         enqueued_at, queued_at, updated_at, closed_at, last_action, idempotency_key, request_hash,
                         write_token)
      SELECT n.resolved, n.customer_id, n.ext_ref, n.notes, n.subject, n.classification_code, n.auto_close,
             n.procedure_ext_ref, n.procedure_option_ext_ref,
             (CASE WHEN n.auto_close THEN 'COMPLETED' ELSE 'WAITING' END)::case_status, n.ticket_day, n.number,
             coalesce(n.queue_code, '') || lpad(n.number::text, greatest(3, length(n.number::text)), '0'),
             n.at, n.at, n.at, CASE WHEN n.auto_close THEN n.at END,
             (CASE WHEN n.auto_close THEN 'AUTO_CLOSE' ELSE 'ENQUEUE' END)::case_action, n.idempotency_key, n.request_hash,
             n.write_token
        FROM numbered n
       -- Request order is queue order: ids and queue_seq are drawn in this order.
       ORDER BY n.ord
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING ${caseColumns('cases')}
    ), written AS (
      SELECT created.*, n.ord AS "writtenOrd" FROM created JOIN numbered n ON n.resolved = created."serviceId" AND n.number = created."ticketNumber"
    ), properties AS (
      INSERT INTO case_properties (case_id, key, value, position)
      SELECT w.id, p.property->>'key', p.property->>'value', p.position
        FROM written w
        JOIN request r ON r.ord = w."writtenOrd"
        CROSS JOIN LATERAL json_array_elements(r.properties) WITH ORDINALITY AS p(property, position)
    ), event AS (
      INSERT INTO case_events (case_id, action, to_status, at, actor)
      SELECT w.id, w."lastAction"::case_action, w.status::case_status, w."enqueuedAt", r.actor
        FROM written w JOIN request r ON r.ord = w."writtenOrd"
       ORDER BY w.id
    )
    -- The batch's rows as one JSON value: one row of one column costs the
    -- driver and Prisma far less to take apart than a row of 30 per request.
    -- The sequence numbers follow w.* again as text; JSON.parse keeps the
    -- last of a repeated key.
    SELECT json_agg(o) AS outcomes
      FROM (SELECT w.*, w."queueSeq"::text AS "queueSeq", w."enqueueSeq"::text AS "enqueueSeq", r.ord,
                   r.resolved AS "serviceResolved", (s.id IS NOT NULL) AS "serviceLocked",
                   (SELECT active FROM services a WHERE a.id = r.resolved) AS "serviceActive",
                   CASE WHEN w.id IS NOT NULL THEN s.ext_ref END AS "serviceExtRef"
              FROM request r
              LEFT JOIN service s ON s.id = r.resolved
              LEFT JOIN written w ON w."writtenOrd" = r.ord) o`;
}

/** What the enqueue statement answers: its rows as one JSON array (a string, or parsed by the driver). */
export type EnqueueAnswer = readonly { readonly outcomes: unknown }[];

/** The case fields JSON carries as text, and how a Prisma row holds them. */
const DATES = ['ticketDay', 'enqueuedAt', 'queuedAt', 'calledAt', 'closedAt', 'updatedAt'] as const;
const BIGINTS = ['queueSeq', 'enqueueSeq'] as const;

/**
 * The statement's rows as $queryRaw would have returned them one by one:
 * dates as Date, 64-bit sequence numbers as BigInt (sent as text, so none
 * loses precision), everything else as JSON has it (test/queue/row-shapes.test.ts).
 */
export function enqueueOutcomes(answer: EnqueueAnswer): EnqueueOutcome[] {
  const outcomes = answer[0]?.outcomes ?? null;
  const rows = (typeof outcomes === 'string' ? JSON.parse(outcomes) : (outcomes ?? [])) as Record<string, unknown>[];
  for (const row of rows) {
    // Written rows carry a case; the others have null in every case field.
    for (const field of DATES) {
      const value = row[field];
      if (typeof value === 'string') row[field] = new Date(value);
    }
    for (const field of BIGINTS) {
      const value = row[field];
      if (typeof value === 'string') row[field] = BigInt(value);
    }
  }
  return rows as unknown as EnqueueOutcome[];
}

/**
 * The cases stamped with `tokens` (enqueued within the last `withinSeconds`),
 * with their service's external reference, as the statement returns them.
 */
export function enqueuedWithTokens(tokens: readonly string[], withinSeconds: number): Prisma.Sql {
  return Prisma.sql`
    SELECT ${caseColumns('c')}, s.ext_ref AS "serviceExtRef"
      FROM cases c JOIN services s ON s.id = c.service_id
     WHERE c.write_token = ANY(${tokens}::uuid[]) AND c.enqueued_at >= now() - make_interval(secs => ${withinSeconds})`;
}
