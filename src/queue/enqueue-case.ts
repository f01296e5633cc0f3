// Enqueue: a new case joins the back of its service's queue, with a ticket.
//
// FIFO order within a service is (queued_at, queue_seq), both assigned by
// the database. The enqueue is one SQL statement that first locks its service's
// row, then takes the clock reading, the ticket number and the sequence: enqueues
// into one service therefore commit one at a time, in the order of their
// clock readings and sequence numbers, so a case visible in the queue never gets a case
// ahead of it later (docs/architecture.md). One statement, not a transaction
// of several, keeps the lock for microseconds rather than network round trips;
// enqueues into different services never wait for each other.
//
// Tickets: a counter row per service and calendar day (in the service's time
// zone), incremented in the same statement under the same lock, and a unique
// index on (service, day, number) behind it: a number is never handed out twice.
import { createHash } from 'node:crypto';
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import { isForeignKeyViolation } from '../db/prisma-errors.js';
import { caseColumns } from './case-columns.js';
import { badInput, conflict, notFound, type QueueError } from './errors.js';
import { caseEnqueueRules, parseInput, type CaseEnqueue } from './input-rules.js';
import { checkCaseReferences } from './references.js';

/** The request as clients send it; `null` and absent both mean "not given". */
export interface CaseEnqueueRequest {
  readonly serviceId?: number | null;
  readonly serviceIdExtRef?: string | null;
  readonly customerId?: number | null;
  readonly extRef?: string | null;
  readonly notes?: string | null;
  readonly subject?: string | null;
  readonly classificationCode?: string | null;
  readonly autoClose?: boolean | null;
  readonly customProperties?: ReadonlyArray<{ readonly key: string; readonly value: string }> | null;
  readonly procedureExtRef?: string | null;
  readonly procedureOptionExtRef?: string | null;
  readonly idempotencyKey?: string | null;
}

/** The service to lock: by id, by external reference, or by both at once. */
function serviceMatch(input: CaseEnqueue): Prisma.Sql {
  const byId = input.serviceId === null ? Prisma.empty : Prisma.sql`AND s.id = ${input.serviceId}`;
  const byExtRef = input.serviceIdExtRef === null ? Prisma.empty : Prisma.sql`AND s.ext_ref = ${input.serviceIdExtRef}`;
  return Prisma.sql`TRUE ${byId} ${byExtRef}`;
}

/** Identifies what was asked for, so a retry with the same key can be told from a different request. */
function requestHash(input: CaseEnqueue): string {
  const { idempotencyKey: _key, ...asked } = input;
  return createHash('sha256').update(JSON.stringify(asked)).digest('hex');
}

/** The enqueue statement: returns the new case, or no row when nothing was inserted. */
export function enqueueSql(input: CaseEnqueue): Prisma.Sql {
  const keys = input.customProperties.map((property) => property.key);
  const values = input.customProperties.map((property) => property.value);
  const firstAction = input.autoClose ? 'AUTO_CLOSE' : 'ENQUEUE';
  const status = input.autoClose ? 'COMPLETED' : 'WAITING';
  // The service and customer checks live in the statement so the usual path
  // is one round trip; the foreign key still guards a customer deleted
  // meanwhile. FOR NO KEY UPDATE serialises enqueues into the service without
  // blocking other transactions' foreign-key checks against it. The clock is
  // read after the lock is held (stamp reads from service), never before.
  return Prisma.sql`
    WITH service AS (
      SELECT s.id, s.queue_code, s.time_zone
        FROM services s
       WHERE ${serviceMatch(input)} AND s.active
         AND (${input.customerId}::int IS NULL
              OR EXISTS (SELECT 1 FROM customers c WHERE c.id = ${input.customerId}::int AND c.active))
         FOR NO KEY UPDATE
    ), stamp AS (
      SELECT service.*, now.at, (now.at AT TIME ZONE service.time_zone)::date AS day
        -- The LATERAL names the locked row, so the clock is read after the lock, whatever the plan.
        FROM service CROSS JOIN LATERAL (SELECT clock_timestamp() AS at WHERE service.id IS NOT NULL) now
    ), ticket AS (
      INSERT INTO ticket_counters (service_id, day, last_number)
      SELECT id, day, 1 FROM stamp
      ON CONFLICT (service_id, day) DO UPDATE SET last_number = ticket_counters.last_number + 1
      RETURNING last_number
    ), created AS (
      INSERT INTO cases (service_id, customer_id, ext_ref, notes, subject, classification_code, auto_close,
                         procedure_ext_ref, procedure_option_ext_ref, status, ticket_day, ticket_number, ticket,
                         enqueued_at, queued_at, updated_at, closed_at, last_action, idempotency_key, request_hash)
      SELECT stamp.id, ${input.customerId}::int, ${input.extRef}, ${input.notes}, ${input.subject},
             ${input.classificationCode}, ${input.autoClose}, ${input.procedureExtRef}, ${input.procedureOptionExtRef},
             ${status}::case_status, stamp.day, ticket.last_number,
             coalesce(stamp.queue_code, '') || lpad(ticket.last_number::text, greatest(3, length(ticket.last_number::text)), '0'),
             stamp.at, stamp.at, stamp.at, CASE WHEN ${input.autoClose} THEN stamp.at END, ${firstAction}::case_action,
             ${input.idempotencyKey}, ${input.idempotencyKey === null ? null : requestHash(input)}
        FROM stamp, ticket
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING ${caseColumns('cases')}
    ), properties AS (
      INSERT INTO case_properties (case_id, key, value, position)
      SELECT created.id, property.key, property.value, property.position
        FROM created, unnest(${keys}::text[], ${values}::text[]) WITH ORDINALITY AS property(key, value, position)
    ), event AS (
      INSERT INTO case_events (case_id, action, to_status, at)
      SELECT id, ${firstAction}::case_action, ${status}::case_status, "enqueuedAt" FROM created
    )
    SELECT * FROM created`;
}

async function insertCase(db: Database, input: CaseEnqueue): Promise<Case | undefined> {
  const rows = await db.$queryRaw<Case[]>(enqueueSql(input));
  return rows[0];
}

/** Nothing was inserted: a retry, or a reference that names nothing usable. */
async function whyNothingWasInserted(db: Database, input: CaseEnqueue): Promise<Case | QueueError> {
  if (input.idempotencyKey !== null) {
    const earlier = await db.case.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
    if (earlier) {
      if (earlier.requestHash === requestHash(input)) return earlier;
      return conflict('idempotencyKey', 'was used before for a different request');
    }
  }
  const service =
    input.serviceId !== null
      ? await db.service.findUnique({ where: { id: input.serviceId }, select: { extRef: true, active: true } })
      : await db.service.findUnique({ where: { extRef: input.serviceIdExtRef ?? '' }, select: { extRef: true, active: true } });
  const serviceField = input.serviceId !== null ? 'serviceId' : 'serviceIdExtRef';
  if (!service) {
    return input.serviceId !== null
      ? notFound('serviceId', `no service has the id ${input.serviceId}`)
      : notFound('serviceIdExtRef', `no service has the external reference "${input.serviceIdExtRef}"`);
  }
  if (input.serviceId !== null && input.serviceIdExtRef !== null && service.extRef !== input.serviceIdExtRef) {
    return badInput('serviceIdExtRef', 'matchesServiceId', `"${input.serviceIdExtRef}" is not the external reference of service ${input.serviceId}`);
  }
  if (!service.active) return badInput(serviceField, 'active', 'the service is inactive: it takes no new cases');
  const customer = await db.customer.findUnique({ where: { id: input.customerId ?? 0 }, select: { active: true } });
  if (!customer) return notFound('customerId', `no customer has the id ${input.customerId}`);
  return badInput('customerId', 'active', `the customer ${input.customerId} is inactive`);
}

/** Enqueues the case, or returns the case an earlier request with the same idempotency key created. */
export async function enqueueCase(db: Database, request: CaseEnqueueRequest): Promise<Case> {
  const input = parseInput(caseEnqueueRules, request);
  await checkCaseReferences(db, input);
  let created: Case | undefined;
  try {
    created = await insertCase(db, input);
  } catch (error) {
    // The customer was deleted between the check and the insert.
    if (isForeignKeyViolation(error)) throw notFound('customerId', `no customer has the id ${input.customerId}`);
    throw error;
  }
  if (created) return created;
  const outcome = await whyNothingWasInserted(db, input);
  if (outcome instanceof Error) throw outcome;
  return outcome;
}
