// The columns of `cases` (and `case_events`) as the Prisma models name them, for the
// statements written in SQL (the queue's locking statements) so that they
// return the same objects as the query builder.
import { Prisma } from '../generated/prisma/client.js';
import type { Case, CaseEvent } from '../generated/prisma/client.js';

/**
 * Each field of the `Case` model and the SQL expression that reads it. Typed
 * as a complete map of the model: a column added to schema.prisma fails the
 * type check here until its read is listed (test/queue/row-shapes.test.ts then
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
  enqueueSeq: 'enqueue_seq',
  calledAt: 'called_at',
  closedAt: 'closed_at',
  updatedAt: 'updated_at',
  lastAction: 'last_action::text',
  lastAgent: 'last_agent',
  idempotencyKey: 'idempotency_key',
  requestHash: 'request_hash',
  writeToken: 'write_token::text',
} as const satisfies Record<keyof Case, string>;

/** Each field of the `CaseEvent` model and the SQL that reads it from `case_events`; complete, as above. */
export const CASE_EVENT_FIELDS = {
  id: 'id',
  caseId: 'case_id',
  action: 'action::text',
  agent: 'agent',
  actor: 'actor',
  reason: 'reason',
  fromStatus: 'from_status::text',
  toStatus: 'to_status::text',
  at: 'at',
} as const satisfies Record<keyof CaseEvent, string>;

const lists = new Map<string, Prisma.Sql>();

function columns(fields: Readonly<Record<string, string>>, table: string): Prisma.Sql {
  const key = `${table}:${Object.keys(fields).join(',')}`;
  let list = lists.get(key);
  if (!list) {
    list = Prisma.raw(
      Object.entries(fields)
        .map(([field, read]) => `"${table}".${read} AS "${field}"`)
        .join(', '),
    );
    lists.set(key, list);
  }
  return list;
}

/** `cases` columns aliased to the model's field names; `table` is the alias used in the statement. */
export const caseColumns = (table: string): Prisma.Sql => columns(CASE_FIELDS, table);

/** `case_events` columns aliased to the model's field names. */
export const caseEventColumns = (table: string): Prisma.Sql => columns(CASE_EVENT_FIELDS, table);
