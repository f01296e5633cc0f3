// Enqueue: a new case joins the back of its service's queue.
//
// FIFO order within a service is (enqueued_at, id), both assigned by the
// database. Each enqueue locks its service's row for the length of its short
// transaction, so enqueues into one service commit one at a time, in the order
// of their clock readings and ids: a case that is visible in the queue never
// has a later-visible case ahead of it. Enqueues into different services do
// not wait for each other.
import type { Database, Transaction } from '../db/prisma-client.js';
import { isForeignKeyViolation } from '../db/prisma-errors.js';
import type { Case, CaseProperty } from '../generated/prisma/client.js';
import { badInput, notFound } from './errors.js';
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
  readonly properties: CaseProperty[];
}

// Generous: the per-service lock is held for a few milliseconds, but a burst
// of enqueues may queue for a pooled connection.
const TRANSACTION_LIMITS = { maxWait: 15_000, timeout: 15_000 };

interface LockedService {
  id: number;
  ext_ref: string | null;
}

/** Finds the named service and locks its row until the transaction ends. */
async function lockService(tx: Transaction, input: CaseEnqueue): Promise<LockedService> {
  // FOR NO KEY UPDATE: serialises enqueues into this service without blocking
  // the foreign-key checks of other transactions that reference it.
  const rows =
    input.serviceId !== null
      ? await tx.$queryRaw<LockedService[]>`SELECT id, ext_ref FROM services WHERE id = ${input.serviceId} FOR NO KEY UPDATE`
      : await tx.$queryRaw<LockedService[]>`SELECT id, ext_ref FROM services WHERE ext_ref = ${input.serviceIdExtRef} FOR NO KEY UPDATE`;
  const [service] = rows;
  if (input.serviceId !== null) {
    if (!service) throw notFound('serviceId', `no service has the id ${input.serviceId}`);
    if (input.serviceIdExtRef !== null && service.ext_ref !== input.serviceIdExtRef) {
      throw badInput('serviceIdExtRef', 'matchesServiceId', `"${input.serviceIdExtRef}" is not the external reference of service ${input.serviceId}`);
    }
    return service;
  }
  if (!service) throw notFound('serviceIdExtRef', `no service has the external reference "${input.serviceIdExtRef}"`);
  return service;
}

async function requireCustomer(tx: Transaction, customerId: number): Promise<void> {
  const customer = await tx.customer.findUnique({ where: { id: customerId }, select: { id: true } });
  if (!customer) throw notFound('customerId', `no customer has the id ${customerId}`);
}

async function insertCase(tx: Transaction, input: CaseEnqueue): Promise<EnqueuedCase> {
  if (input.customerId !== null) await requireCustomer(tx, input.customerId);
  const service = await lockService(tx, input);
  const { serviceId: _id, serviceIdExtRef: _extRef, customProperties, ...fields } = input;
  const created = await tx.case.create({
    data: {
      ...fields,
      serviceId: service.id,
      status: input.autoClose ? 'CLOSED' : 'WAITING',
      properties: { createMany: { data: customProperties } },
    },
    include: { service: { select: { extRef: true } }, properties: { orderBy: { key: 'asc' } } },
  });
  if (!input.autoClose) return created;
  // An auto-closed case is closed at the very moment it was enqueued.
  await tx.case.update({ where: { id: created.id }, data: { closedAt: created.enqueuedAt }, select: { id: true } });
  return { ...created, closedAt: created.enqueuedAt };
}

export async function enqueueCase(db: Database, request: CaseEnqueueRequest): Promise<EnqueuedCase> {
  const input = parseInput(caseEnqueueRules, request);
  try {
    return await db.$transaction((tx) => insertCase(tx, input), TRANSACTION_LIMITS);
  } catch (error) {
    // The customer was deleted between our check and the insert.
    if (isForeignKeyViolation(error) && input.customerId !== null) throw notFound('customerId', `no customer has the id ${input.customerId}`);
    throw error;
  }
}
