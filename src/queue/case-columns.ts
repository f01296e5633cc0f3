// The columns of `cases` as the Prisma `Case` model names them, for the
// statements written in SQL (the queue's locking statements) so that they
// return the same objects as the query builder.
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';

/**
 * Each field of the `Case` model and the SQL expression that reads it. Typed
 * as a complete map of the model: a column added to schema.prisma fails the
 * type check here until its read is listed (test/row-shapes.test.ts then
 * checks that every statement's rows equal the query builder's).
 */
export const CASE_FIELDS = {
  id: 'id',
  serviceId: 'service_id',
  customerId: 'customer_id',
  extRef: 'ext_ref',
  notes: 'notes',
  subject: 'subject',
  classificationCode: 'classification_code',
  autoClose: 'auto_close',
  procedureExtRef: 'procedure_ext_ref',
  procedureOptionExtRef: 'procedure_option_ext_ref',
  // Enums travel as text: the driver adapter knows only the built-in types.
  status: 'status::text',
  ticketDay: 'ticket_day',
  ticketNumber: 'ticket_number',
  ticket: 'ticket',
  enqueuedAt: 'enqueued_at',
  queuedAt: 'queued_at',
  queueSeq: 'queue_seq',
  calledAt: 'called_at',
  closedAt: 'closed_at',
  updatedAt: 'updated_at',
  lastAction: 'last_action::text',
  lastAgent: 'last_agent',
  idempotencyKey: 'idempotency_key',
  requestHash: 'request_hash',
} as const satisfies Record<keyof Case, string>;

const lists = new Map<string, Prisma.Sql>();

/** `cases` columns aliased to the model's field names; `table` is the alias used in the statement. */
export function caseColumns(table: string): Prisma.Sql {
  let list = lists.get(table);
  if (!list) {
    list = Prisma.raw(
      Object.entries(CASE_FIELDS)
        .map(([field, read]) => `"${table}".${read} AS "${field}"`)
        .join(', '),
    );
    lists.set(table, list);
  }
  return list;
}
