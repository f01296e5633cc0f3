// Services: the counters whose queues cases join.
import type { Database } from '../db/prisma-client.js';
import { isUniqueViolation } from '../db/prisma-errors.js';
import type { Service } from '../generated/prisma/client.js';
import { conflict } from './errors.js';
import { createServiceRules, parseInput } from './input-rules.js';

export interface CreateServiceRequest {
  readonly name: string;
  readonly extRef?: string | null;
  readonly queueCode?: string | null;
}

export async function createService(db: Database, request: CreateServiceRequest): Promise<Service> {
  const input = parseInput(createServiceRules, request);
  try {
    return await db.service.create({ data: input });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('extRef', `a service with the external reference "${input.extRef}" already exists`);
    throw error;
  }
}

export function findService(db: Database, id: number): Promise<Service | null> {
  return db.service.findUnique({ where: { id } });
}

export function listServices(db: Database): Promise<Service[]> {
  return db.service.findMany({ orderBy: { id: 'asc' } });
}
