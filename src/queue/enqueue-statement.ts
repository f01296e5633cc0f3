// The enqueue statement: a batch of cases for one service, written in one
// statement (and so one commit) under that service's lock.
//
// FIFO: the statement first locks the service row (FOR NO KEY UPDATE), then
// reads the clock once for the batch and inserts the cases in request order,
// so their ids and queue sequence numbers follow that order. Batches into one
// service, from this process or another, therefore commit one at a time, each
// behind the one before: the queue only ever grows at the back
// (docs/architecture.md). FOR NO KEY UPDATE does not block other
// transactions' foreign-key checks against the service.
//
// Per row, not per batch: a row whose customer is unknown or inactive, or whose
// idempotency key is already taken, is left out and the rest are written; the
// caller explains each missing row on its own. Ticket numbers for the batch
// are drawn in one counter update, in request order.
import { createHash } from 'node:crypto';
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import { caseColumns } from './case-columns.js';
import type { CaseEnqueue } from './input-rules.js';

/** The service a batch goes to, named as its requests name it. */
export interface ServiceSelector {
  readonly serviceId: number | null;
  readonly serviceIdExtRef: string | null;
}

/** A written case, with what the payload needs that is not in the row. */
export interface WrittenCase extends Case {
  /** Index of the request in the batch. */
  readonly ord: number;
  /** The service's external reference, read under the lock. */
  readonly serviceExtRef: string | null;
}

/** Identifies what was asked for, so a retry with the same key can be told from a different request. */
export function requestHash(input: CaseEnqueue): string {
  const { idempotencyKey: _key, ...asked } = input;
  return createHash('sha256').update(JSON.stringify(asked)).digest('hex');
}

/** Requests naming their service the same way go into one batch. */
export function selectorKey(input: ServiceSelector): string {
  return JSON.stringify([input.serviceId, input.serviceIdExtRef]);
}

function serviceMatch(service: ServiceSelector): Prisma.Sql {
  const byId = service.serviceId === null ? Prisma.empty : Prisma.sql`AND s.id = ${service.serviceId}`;
  const byExtRef = service.serviceIdExtRef === null ? Prisma.empty : Prisma.sql`AND s.ext_ref = ${service.serviceIdExtRef}`;
  return Prisma.sql`TRUE ${byId} ${byExtRef}`;
}

/** Column arrays: the statement's text is the same for every batch size, so it is one statement to plan. */
function columns(inputs: readonly CaseEnqueue[]) {
  const properties = inputs.flatMap((input, ord) => input.customProperties.map((property, index) => ({ ord, ...property, position: index + 1 })));
  return {
    ord: inputs.map((_, ord) => ord),
    customerId: inputs.map((input) => input.customerId),
    extRef: inputs.map((input) => input.extRef),
    notes: inputs.map((input) => input.notes),
    subject: inputs.map((input) => input.subject),
    classificationCode: inputs.map((input) => input.classificationCode),
    autoClose: inputs.map((input) => input.autoClose),
    procedureExtRef: inputs.map((input) => input.procedureExtRef),
    procedureOptionExtRef: inputs.map((input) => input.procedureOptionExtRef),
    idempotencyKey: inputs.map((input) => input.idempotencyKey),
    requestHash: inputs.map((input) => (input.idempotencyKey === null ? null : requestHash(input))),
    propertyOrd: properties.map((property) => property.ord),
    propertyKey: properties.map((property) => property.key),
    propertyValue: properties.map((property) => property.value),
    propertyPosition: properties.map((property) => property.position),
  };
}

/** Writes the batch; returns one row per case written, with `ord` naming its request. */
export function enqueueBatchSql(service: ServiceSelector, inputs: readonly CaseEnqueue[]): Prisma.Sql {
  const c = columns(inputs);
  return Prisma.sql`
    WITH service AS (
      SELECT s.id, s.queue_code, s.time_zone, s.ext_ref
        FROM services s
       WHERE ${serviceMatch(service)} AND s.active
         FOR NO KEY UPDATE
    ), stamp AS (
      SELECT service.*, now.at, (now.at AT TIME ZONE service.time_zone)::date AS day
        -- The LATERAL names the locked row, so the clock is read after the lock, whatever the plan.
        FROM service CROSS JOIN LATERAL (SELECT clock_timestamp() AS at WHERE service.id IS NOT NULL) now
    ), request AS (
      SELECT r.*
        FROM unnest(${c.ord}::int[], ${c.customerId}::int[], ${c.extRef}::text[], ${c.notes}::text[], ${c.subject}::text[],
                    ${c.classificationCode}::text[], ${c.autoClose}::boolean[], ${c.procedureExtRef}::text[],
                    ${c.procedureOptionExtRef}::text[], ${c.idempotencyKey}::text[], ${c.requestHash}::text[])
             AS r(ord, customer_id, ext_ref, notes, subject, classification_code, auto_close, procedure_ext_ref,
                  procedure_option_ext_ref, idempotency_key, request_hash)
       WHERE (r.customer_id IS NULL OR EXISTS (SELECT 1 FROM customers cu WHERE cu.id = r.customer_id AND cu.active))
         -- A retry of a committed request draws no ticket; racing duplicates are caught by ON CONFLICT below.
         AND (r.idempotency_key IS NULL OR NOT EXISTS (SELECT 1 FROM cases k WHERE k.idempotency_key = r.idempotency_key))
    ), ticket AS (
      INSERT INTO ticket_counters (service_id, day, last_number)
      SELECT stamp.id, stamp.day, (SELECT count(*) FROM request) FROM stamp WHERE EXISTS (SELECT 1 FROM request)
      ON CONFLICT (service_id, day) DO UPDATE SET last_number = ticket_counters.last_number + excluded.last_number
      RETURNING last_number
    ), numbered AS (
      SELECT r.*, (ticket.last_number - count(*) OVER () + row_number() OVER (ORDER BY r.ord))::int AS number
        FROM request r CROSS JOIN ticket
    ), created AS (
      INSERT INTO cases (service_id, customer_id, ext_ref, notes, subject, classification_code, auto_close,
                         procedure_ext_ref, procedure_option_ext_ref, status, ticket_day, ticket_number, ticket,
                         enqueued_at, queued_at, updated_at, closed_at, last_action, idempotency_key, request_hash)
      SELECT stamp.id, n.customer_id, n.ext_ref, n.notes, n.subject, n.classification_code, n.auto_close,
             n.procedure_ext_ref, n.procedure_option_ext_ref,
             (CASE WHEN n.auto_close THEN 'COMPLETED' ELSE 'WAITING' END)::case_status, stamp.day, n.number,
             coalesce(stamp.queue_code, '') || lpad(n.number::text, greatest(3, length(n.number::text)), '0'),
             stamp.at, stamp.at, stamp.at, CASE WHEN n.auto_close THEN stamp.at END,
             (CASE WHEN n.auto_close THEN 'AUTO_CLOSE' ELSE 'ENQUEUE' END)::case_action, n.idempotency_key, n.request_hash
        FROM stamp CROSS JOIN numbered n
       -- Request order is queue order: ids and queue_seq are drawn in this order.
       ORDER BY n.ord
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING ${caseColumns('cases')}
    ), properties AS (
      INSERT INTO case_properties (case_id, key, value, position)
      SELECT created.id, p.key, p.value, p.position
        FROM created
        JOIN numbered n ON n.number = created."ticketNumber"
        JOIN unnest(${c.propertyOrd}::int[], ${c.propertyKey}::text[], ${c.propertyValue}::text[], ${c.propertyPosition}::int[])
             AS p(ord, key, value, position) ON p.ord = n.ord
    ), event AS (
      INSERT INTO case_events (case_id, action, to_status, at)
      SELECT id, "lastAction"::case_action, status::case_status, "enqueuedAt" FROM created ORDER BY id
    )
    SELECT created.*, n.ord, (SELECT ext_ref FROM service) AS "serviceExtRef"
      FROM created JOIN numbered n ON n.number = created."ticketNumber"`;
}
