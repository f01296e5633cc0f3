// Services: the counters whose queues cases join. Every change is recorded
// in the audit log, in the same transaction as the change itself. Only a
// credential for every service administers them; to one limited to some
// services, the others are not there (actor-rules.ts).
import type { Database } from '../db/prisma-client.js';
import { isUniqueViolation } from '../db/prisma-errors.js';
import type { Service } from '../generated/prisma/client.js';
import { coversService, type Actor } from './actor.js';
import { requireEveryService, serviceLimit } from './actor-rules.js';
import { changesBetween, recordAudit } from './audit.js';
import { badInput, conflict, noService } from './errors.js';
import {
  changeOf,
  createServiceRules,
  parseInput,
  serviceLookupRules,
  servicesPageRules,
  updateServiceRules,
  type CreateServiceRequest,
  type ServiceLookupRequest,
  type ServicesPageRequest,
  type UpdateServiceRequest,
} from './input-rules.js';

/** The zone must be one the database knows, since the database computes the days. */
async function requireTimeZone(db: Database, timeZone: string): Promise<void> {
  const [known] = await db.$queryRaw<
    { known: boolean }[]
  >`SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = ${timeZone}) AS known`;
  if (!known?.known) throw badInput('timeZone', 'timeZone', `"${timeZone}" is not a time zone the database knows`);
}

/** What the audit log records of a service: every field a client sets. */
const AUDITED_FIELDS = [
  'name',
  'extRef',
  'queueCode',
  'timeZone',
  'active',
] as const satisfies readonly (keyof Service)[];

function translateConflict(extRef: string | null | undefined): (error: unknown) => never {
  return (error) => {
    if (isUniqueViolation(error))
      throw conflict('extRef', `a service with the external reference "${extRef}" already exists`);
    throw error;
  };
}

export async function createService(db: Database, request: CreateServiceRequest, actor: Actor): Promise<Service> {
  requireEveryService(actor);
  const input = parseInput(createServiceRules, request);
  await requireTimeZone(db, input.timeZone);
  return db
    .$transaction(async (tx) => {
      const created = await tx.service.create({ data: input });
      await recordAudit(tx, actor, {
        action: 'service.create',
        entity: 'service',
        entityId: String(created.id),
        changes: changesBetween(null, created, AUDITED_FIELDS),
      });
      return created;
    })
    .catch(translateConflict(input.extRef));
}

export async function updateService(
  db: Database,
  id: number,
  request: UpdateServiceRequest,
  actor: Actor,
): Promise<Service> {
  requireEveryService(actor);
  const change = parseInput(updateServiceRules, request);
  if (change.timeZone !== undefined) await requireTimeZone(db, change.timeZone);
  return db
    .$transaction(async (tx) => {
      // Locked, so that "before" is what this change replaces, not what a concurrent one did.
      await tx.$queryRaw`SELECT id FROM services WHERE id = ${id} FOR NO KEY UPDATE`;
      const before = await tx.service.findUnique({ where: { id } });
      if (!before) throw noService('id', id);
      const after = await tx.service.update({ where: { id }, data: changeOf(change) });
      const changes = changesBetween(before, after, AUDITED_FIELDS);
      if (changes.length > 0)
        await recordAudit(tx, actor, { action: 'service.update', entity: 'service', entityId: String(id), changes });
      return after;
    })
    .catch(translateConflict(change.extRef));
}

/** The service with this id, or null: also when the actor is limited to other services (read either way). */
export async function findService(db: Database, request: ServiceLookupRequest, actor: Actor): Promise<Service | null> {
  const { id, extRef } = parseInput(serviceLookupRules, request);
  const found =
    id !== null
      ? await db.service.findUnique({ where: { id } })
      : await db.service.findUnique({ where: { extRef: extRef ?? '' } });
  // Named by both: the service must have both.
  if (!found || (extRef !== null && found.extRef !== extRef)) return null;
  return coversService(actor, found.id) ? found : null;
}

/**
 * Services by id (oldest first), at most `first` of them, those after
 * `afterId`: a range of the primary key; only those of the actor's limit.
 */
export function listServices(db: Database, request: ServicesPageRequest, actor: Actor): Promise<Service[]> {
  const { first, afterId } = parseInput(servicesPageRules, request);
  const limit = serviceLimit(actor);
  return db.service.findMany({
    where: { id: limit === null ? { gt: afterId } : { gt: afterId, in: limit } },
    orderBy: { id: 'asc' },
    take: first,
  });
}
