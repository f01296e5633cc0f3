// The columns of `cases` as the Prisma `Case` model names them, for the
// statements written in SQL (the queue's locking statements) so that they
// return the same objects as the query builder.
import { Prisma } from '../generated/prisma/client.js';

/** `cases` columns aliased to the model's field names; `table` is the alias used in the statement. */
export function caseColumns(table: string): Prisma.Sql {
  const t = Prisma.raw(`"${table}"`);
  return Prisma.sql`${t}.id, ${t}.service_id AS "serviceId", ${t}.customer_id AS "customerId", ${t}.ext_ref AS "extRef",
    ${t}.notes, ${t}.subject, ${t}.classification_code AS "classificationCode", ${t}.auto_close AS "autoClose",
    ${t}.procedure_ext_ref AS "procedureExtRef", ${t}.procedure_option_ext_ref AS "procedureOptionExtRef",
    ${t}.status::text AS status, ${t}.ticket_day AS "ticketDay", ${t}.ticket_number AS "ticketNumber", ${t}.ticket,
    ${t}.enqueued_at AS "enqueuedAt", ${t}.queued_at AS "queuedAt", ${t}.queue_seq AS "queueSeq", ${t}.called_at AS "calledAt", ${t}.closed_at AS "closedAt",
    ${t}.updated_at AS "updatedAt", ${t}.last_action::text AS "lastAction", ${t}.last_agent AS "lastAgent",
    ${t}.idempotency_key AS "idempotencyKey", ${t}.request_hash AS "requestHash"`;
}
