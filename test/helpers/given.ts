// The "given" of a test: rows a test needs before it acts, each made in one
// call that names what it is. `import * as given from './helpers/given.js'`,
// then `await given.service(t.db, { queueCode: 'A' })`.
//
// Reference rows are written with Prisma, from Prisma's own create-input
// types, with unique defaults, so tests never collide and can run at once.
// Cases are made the way the gateway makes them (the enqueuer, then legal
// transitions), so tickets, queue order, timestamps and history hold as in
// production.
import { randomBytes } from 'node:crypto';
import type { Database } from '../../src/db/prisma-client.js';
import type {
  Case,
  CaseStatus,
  Classification,
  Customer,
  Prisma,
  Procedure,
  Service,
} from '../../src/generated/prisma/client.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createEnqueuer, type Enqueuer } from '../../src/queue/enqueue-case.js';
import { callCase, cancelCase, completeCase } from '../../src/queue/transitions.js';

/** What `waitingCase` and `caseIn` take: an enqueue request; without a service, a new one is made. */
export type CaseRequest = Parameters<Enqueuer['enqueue']>[0];
/** What `waitingCase` returns: the case as the enqueuer answers it. */
export type EnqueuedCase = Awaited<ReturnType<Enqueuer['enqueue']>>;

/** The agent that moves a case to the status a test starts from. */
const SETUP_AGENT = 'given-desk';

// Unique across test files and runs that share a database server.
const run = randomBytes(3).toString('hex');
let made = 0;
const unique = (prefix: string): string => `${prefix}-${run}-${(made += 1)}`;

/** A service (active, UTC, no queue code unless given). */
export function service(db: Database, overrides: Partial<Prisma.ServiceUncheckedCreateInput> = {}): Promise<Service> {
  return db.service.create({ data: { name: unique('Service'), ...overrides } });
}

/** An active customer. */
export function customer(
  db: Database,
  overrides: Partial<Prisma.CustomerUncheckedCreateInput> = {},
): Promise<Customer> {
  return db.customer.create({ data: { name: unique('Customer'), ...overrides } });
}

/** An active classification allowed for every service (link services with `services: { create: [...] }`). */
export function classification(
  db: Database,
  overrides: Partial<Prisma.ClassificationUncheckedCreateInput> = {},
): Promise<Classification> {
  const code = overrides.code ?? unique('CLS');
  return db.classification.create({ data: { code, name: code, ...overrides } });
}

/** An active procedure (give options with `options: { create: [{ extRef, name }] }`). */
export function procedure(
  db: Database,
  overrides: Partial<Prisma.ProcedureUncheckedCreateInput> = {},
): Promise<Procedure> {
  const extRef = overrides.extRef ?? unique('PROC');
  return db.procedure.create({ data: { extRef, name: extRef, ...overrides } });
}

// One enqueuer per client, as a gateway has one: concurrent seeds share its batches.
const enqueuers = new WeakMap<Database, Enqueuer>();

/** A case waiting in its service's queue, enqueued as the gateway enqueues one. */
export async function waitingCase(db: Database, request: CaseRequest = {}): Promise<EnqueuedCase> {
  let enqueuer = enqueuers.get(db);
  if (!enqueuer) {
    enqueuer = createEnqueuer(db);
    enqueuers.set(db, enqueuer);
  }
  const named = request.serviceId != null || request.serviceIdExtRef != null;
  return enqueuer.enqueue(named ? request : { ...request, serviceId: (await service(db)).id }, OPEN_ACTOR);
}

/** A case brought to `status` by legal actions of `agent`: enqueued, then called, completed or cancelled. */
export async function caseIn(
  db: Database,
  status: CaseStatus,
  request: CaseRequest = {},
  agent: string = SETUP_AGENT,
): Promise<Case> {
  const waiting = await waitingCase(db, request);
  const caseId = waiting.id;
  switch (status) {
    case 'WAITING':
      return waiting;
    case 'CANCELLED':
      return cancelCase(db, { caseId, agent, reason: 'given' }, OPEN_ACTOR);
    case 'IN_SERVICE':
      return callCase(db, { caseId, agent }, OPEN_ACTOR);
    case 'COMPLETED':
      await callCase(db, { caseId, agent }, OPEN_ACTOR);
      return completeCase(db, { caseId, agent }, OPEN_ACTOR);
  }
}
