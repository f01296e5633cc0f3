// Services: the counters whose queues cases join.
import type { Database } from '../db/prisma-client.js';
import { isUniqueViolation } from '../db/prisma-errors.js';
import type { Service } from '../generated/prisma/client.js';
import { badInput, conflict, notFound } from './errors.js';
import {
  changeOf,
  createServiceRules,
  parseInput,
  servicesPageRules,
  updateServiceRules,
  type CreateServiceRequest,
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

function translateConflict(extRef: string | null | undefined): (error: unknown) => never {
  return (error) => {
    if (isUniqueViolation(error))
      throw conflict('extRef', `a service with the external reference "${extRef}" already exists`);
    throw error;
  };
}

export async function createService(db: Database, request: CreateServiceRequest): Promise<Service> {
  const input = parseInput(createServiceRules, request);
  await requireTimeZone(db, input.timeZone);
  return db.service.create({ data: input }).catch(translateConflict(input.extRef));
}

export async function updateService(db: Database, id: number, request: UpdateServiceRequest): Promise<Service> {
  const change = parseInput(updateServiceRules, request);
  if (change.timeZone !== undefined) await requireTimeZone(db, change.timeZone);
  const { count } = await db.service
    .updateMany({ where: { id }, data: changeOf(change) })
    .catch(translateConflict(change.extRef));
  if (count === 0) throw notFound('id', `no service has the id ${id}`);
  const service = await findService(db, id);
  if (!service) throw notFound('id', `no service has the id ${id}`);
  return service;
}

export function findService(db: Database, id: number): Promise<Service | null> {
  return db.service.findUnique({ where: { id } });
}

/** Services by id (oldest first), at most `first` of them, those after `afterId`: a range of the primary key. */
export function listServices(db: Database, request: ServicesPageRequest = {}): Promise<Service[]> {
  const { first, afterId } = parseInput(servicesPageRules, request);
  return db.service.findMany({ where: { id: { gt: afterId } }, orderBy: { id: 'asc' }, take: first });
}
