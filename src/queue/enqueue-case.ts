// Enqueue: a new case joins the back of its service's queue.
//
// FIFO order within a service is (enqueued_at, id), both assigned by the
// database. The enqueue is one SQL statement that first locks its service's
// row, then takes the clock reading and the id: enqueues into one service
// therefore commit one at a time, in the order of their clock readings and
// ids, so a case that is visible in the queue never gets a case ahead of it
// later. One statement (not a transaction of several) keeps the lock for
// microseconds rather than for network round trips, and enqueues into
// different services never wait for each other.
import { Prisma } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import { isForeignKeyViolation } from '../db/prisma-errors.js';
import type { Case } from '../generated/prisma/client.js';
import { badInput, notFound, type QueueError } from './errors.js';
import { caseEnqueueRules, parseInput, type CaseEnqueue } from './input-rules.js';

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
}

/** A stored case with what the enqueue response echoes. */
export interface EnqueuedCase extends Case {
  readonly service: { readonly extRef: string | null };
  /** In the order they were given. */
  readonly properties: Array<{ key: string; value: string }>;
}

interface InsertedRow {
  readonly id: number;
  readonly serviceId: number;
  readonly serviceExtRef: string | null;
  readonly status: Case['status'];
  readonly enqueuedAt: Date;
  readonly closedAt: Date | null;
}

/** The service to lock: by id, by external reference, or by both at once. */
function serviceMatch(input: CaseEnqueue): Prisma.Sql {
  const byId = input.serviceId === null ? Prisma.empty : Prisma.sql`AND s.id = ${input.serviceId}`;
  const byExtRef = input.serviceIdExtRef === null ? Prisma.empty : Prisma.sql`AND s.ext_ref = ${input.serviceIdExtRef}`;
  return Prisma.sql`TRUE ${byId} ${byExtRef}`;
}

function insertCase(db: Database, input: CaseEnqueue): Promise<InsertedRow[]> {
  const keys = input.customProperties.map((property) => property.key);
  const values = input.customProperties.map((property) => property.value);
  // The customer check lives in the statement so the happy path is one
  // round trip; the foreign key still guards a customer deleted meanwhile.
  // FOR NO KEY UPDATE serialises enqueues into the service without blocking
  // other transactions' foreign-key checks against it. The clock is read in
  // the INSERT, after the lock is held, never in the locking SELECT.
  return db.$queryRaw<InsertedRow[]>`
    WITH service AS (
      SELECT s.id, s.ext_ref
        FROM services s
       WHERE ${serviceMatch(input)}
         AND (${input.customerId}::int IS NULL OR EXISTS (SELECT 1 FROM customers c WHERE c.id = ${input.customerId}::int))
         FOR NO KEY UPDATE
    ), created AS (
      INSERT INTO cases (service_id, customer_id, ext_ref, notes, subject, classification_code, auto_close,
                         procedure_ext_ref, procedure_option_ext_ref, status, enqueued_at, closed_at)
      SELECT service.id, ${input.customerId}::int, ${input.extRef}, ${input.notes}, ${input.subject},
             ${input.classificationCode}, ${input.autoClose}, ${input.procedureExtRef}, ${input.procedureOptionExtRef},
             CASE WHEN ${input.autoClose} THEN 'CLOSED' ELSE 'WAITING' END::case_status,
             now.at, CASE WHEN ${input.autoClose} THEN now.at END
        FROM service CROSS JOIN LATERAL (SELECT clock_timestamp() AS at) now
      RETURNING id, service_id, status, enqueued_at, closed_at
    ), properties AS (
      INSERT INTO case_properties (case_id, key, value)
      SELECT created.id, property.key, property.value
        FROM created, unnest(${keys}::text[], ${values}::text[]) AS property(key, value)
    )
    SELECT created.id, created.service_id AS "serviceId", service.ext_ref AS "serviceExtRef",
           created.status::text AS status, created.enqueued_at AS "enqueuedAt", created.closed_at AS "closedAt"
      FROM created, service`;
}

/** Nothing was inserted: says which reference named nothing. */
async function whyNothingWasInserted(db: Database, input: CaseEnqueue): Promise<QueueError> {
  if (input.serviceId !== null) {
    const service = await db.service.findUnique({ where: { id: input.serviceId }, select: { extRef: true } });
    if (!service) return notFound('serviceId', `no service has the id ${input.serviceId}`);
    if (input.serviceIdExtRef !== null && service.extRef !== input.serviceIdExtRef) {
      return badInput('serviceIdExtRef', 'matchesServiceId', `"${input.serviceIdExtRef}" is not the external reference of service ${input.serviceId}`);
    }
  } else if (!(await db.service.findUnique({ where: { extRef: input.serviceIdExtRef ?? '' }, select: { id: true } }))) {
    return notFound('serviceIdExtRef', `no service has the external reference "${input.serviceIdExtRef}"`);
  }
  return notFound('customerId', `no customer has the id ${input.customerId}`);
}

export async function enqueueCase(db: Database, request: CaseEnqueueRequest): Promise<EnqueuedCase> {
  const input = parseInput(caseEnqueueRules, request);
  let rows: InsertedRow[];
  try {
    rows = await insertCase(db, input);
  } catch (error) {
    // The customer was deleted between the check and the insert.
    if (isForeignKeyViolation(error)) throw notFound('customerId', `no customer has the id ${input.customerId}`);
    throw error;
  }
  const [row] = rows;
  if (!row) throw await whyNothingWasInserted(db, input);
  return {
    id: row.id,
    serviceId: row.serviceId,
    customerId: input.customerId,
    extRef: input.extRef,
    notes: input.notes,
    subject: input.subject,
    classificationCode: input.classificationCode,
    autoClose: input.autoClose,
    procedureExtRef: input.procedureExtRef,
    procedureOptionExtRef: input.procedureOptionExtRef,
    status: row.status,
    enqueuedAt: row.enqueuedAt,
    closedAt: row.closedAt,
    service: { extRef: row.serviceExtRef },
    properties: input.customProperties,
  };
}
