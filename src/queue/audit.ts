// The audit log: who changed services, reference data and API keys, when,
// and which fields, with their values before and after. An entry is written
// in the same transaction as the change it records, so neither exists
// without the other.
import { z } from 'zod';
import type { Database } from '../db/prisma-client.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Actor } from './actor.js';
import { requireEveryService } from './actor-rules.js';
import type { AuditedEntity } from './audited-entities.js';
import { auditPageRules, parseInput, type AuditPageRequest } from './input-rules.js';

/** A database handle, inside a transaction or not. */
export type Writer = Database | Prisma.TransactionClient;

export interface AuditChange {
  readonly field: string;
  /** The value before (JSON-able); null when the thing did not exist yet. */
  readonly before: unknown;
  readonly after: unknown;
}

export interface AuditRecord {
  /** `<entity>.<verb>`, e.g. `service.update`, `apiKey.revoke`. */
  readonly action: string;
  readonly entity: AuditedEntity;
  readonly entityId: string;
  readonly changes: readonly AuditChange[];
}

/**
 * The fields whose values differ between `before` (null: the thing is new)
 * and `after`, among `fields`, in that order. Values compare as JSON, so
 * dates and arrays compare by content.
 */
export function changesBetween<T extends object>(
  before: T | null,
  after: T,
  fields: readonly (keyof T & string)[],
): AuditChange[] {
  return fields.flatMap((field) => {
    const old = before === null ? null : (before[field] ?? null);
    const now = after[field] ?? null;
    return JSON.stringify(old) === JSON.stringify(now) ? [] : [{ field, before: old, after: now }];
  });
}

/** Writes one entry; call it with the transaction that makes the change. */
export async function recordAudit(db: Writer, actor: Actor, record: AuditRecord): Promise<void> {
  await db.auditEntry.create({
    data: {
      actor: actor.id,
      action: record.action,
      entity: record.entity,
      entityId: record.entityId,
      changes: record.changes.map(({ field, before, after }) => ({
        field,
        before: before === null || before === undefined ? null : JSON.stringify(before),
        after: after === null || after === undefined ? null : JSON.stringify(after),
      })),
    },
  });
}

/** An entry as `Query.auditLog` shows it: the id (a bigint) as text, the values as the JSON text stored. */
export interface AuditLogEntry {
  readonly id: string;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly entity: string;
  readonly entityId: string;
  readonly changes: { readonly field: string; readonly before: string | null; readonly after: string | null }[];
}

// What recordAudit stores in `changes`, checked where it leaves the database.
const storedChanges = z.array(
  z.object({ field: z.string(), before: z.string().nullable(), after: z.string().nullable() }),
);

/**
 * Entries newest first, at most `first` of them, older than the entry
 * `before` names, optionally only those about one entity (and one id of it):
 * a range of the primary key, or of the (entity, entity_id, id) index.
 * It tells of every service: for a credential that covers them all.
 */
export async function listAudit(db: Database, request: AuditPageRequest, actor: Actor): Promise<AuditLogEntry[]> {
  requireEveryService(actor);
  const { first, before, entity, entityId } = parseInput(auditPageRules, request);
  const rows = await db.auditEntry.findMany({
    where: {
      ...(before === null ? {} : { id: { lt: before } }),
      ...(entity === null ? {} : { entity }),
      ...(entityId === null ? {} : { entityId }),
    },
    orderBy: { id: 'desc' },
    take: first,
  });
  return rows.map((row) => ({ ...row, id: row.id.toString(), changes: storedChanges.parse(row.changes) }));
}
