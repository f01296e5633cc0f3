// Reference data that cases name: customers, classifications, procedures
// and their options. Managed by admin mutations; checked on enqueue
// (references.ts). Every change is recorded in the audit log, in the same
// transaction as the change itself; a change that changes nothing is not.
// Classifications and procedures serve every service, so only a credential
// for every service changes them; customers belong to no service, and an
// agent limited to some services manages them as any agent does.
import type { Database } from '../db/prisma-client.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/prisma-errors.js';
import type { Classification, Customer, Procedure } from '../generated/prisma/client.js';
import type { Actor } from './actor.js';
import { requireEveryService, serviceLimit } from './actor-rules.js';
import { changesBetween, recordAudit, type AuditChange, type Writer } from './audit.js';
import { badInput, conflict, notFound } from './errors.js';
import {
  changeOf,
  classificationKeyRules,
  classificationsPageRules,
  createClassificationRules,
  createProcedureRules,
  customerRules,
  LIMITS,
  optionParentRules,
  parseInput,
  procedureKeyRules,
  procedureOptionRules,
  proceduresPageRules,
  updateClassificationRules,
  updateProcedureRules,
  type ClassificationsPageRequest,
  type ProceduresPageRequest,
  type CreateClassificationRequest,
  type CreateProcedureRequest,
  type CustomerRequest,
  type ProcedureOptionRequest,
  type UpdateClassificationRequest,
  type UpdateProcedureRequest,
} from './input-rules.js';

function unique(field: string, message: string): (error: unknown) => never {
  return (error) => {
    if (isUniqueViolation(error)) throw conflict(field, message);
    throw error;
  };
}

/** A service id that names nothing, when linking a classification to services. */
function knownServices(error: unknown): never {
  if (isForeignKeyViolation(error)) throw notFound('serviceIds', 'names a service that does not exist');
  throw error;
}

/**
 * A customer's name and external reference (often a phone number) are
 * personal data: the log says that they changed, never their values (before
 * and after both null). Whether the customer is active is recorded as is.
 */
const PERSONAL_CUSTOMER_FIELDS: ReadonlySet<string> = new Set(['name', 'extRef']);

function customerChanges(before: Customer | null, after: Customer): AuditChange[] {
  return changesBetween(before, after, ['name', 'extRef', 'active']).map((change) =>
    PERSONAL_CUSTOMER_FIELDS.has(change.field) ? { field: change.field, before: null, after: null } : change,
  );
}

export async function createCustomer(db: Database, request: CustomerRequest, actor: Actor): Promise<Customer> {
  const input = parseInput(customerRules, request);
  return db
    .$transaction(async (tx) => {
      const created = await tx.customer.create({ data: changeOf(input) });
      await recordAudit(tx, actor, {
        action: 'customer.create',
        entity: 'customer',
        entityId: String(created.id),
        changes: customerChanges(null, created),
      });
      return created;
    })
    .catch(unique('extRef', `a customer with the external reference "${input.extRef}" already exists`));
}

export async function updateCustomer(
  db: Database,
  id: number,
  request: CustomerRequest,
  actor: Actor,
): Promise<Customer> {
  const change = parseInput(customerRules, request);
  return db
    .$transaction(async (tx) => {
      // Locked, so that "before" is what this change replaces.
      await tx.$queryRaw`SELECT id FROM customers WHERE id = ${id} FOR NO KEY UPDATE`;
      const before = await tx.customer.findUnique({ where: { id } });
      if (!before) throw notFound('id', `no customer has the id ${id}`);
      const after = await tx.customer.update({ where: { id }, data: changeOf(change) });
      const changes = customerChanges(before, after);
      if (changes.length > 0)
        await recordAudit(tx, actor, { action: 'customer.update', entity: 'customer', entityId: String(id), changes });
      return after;
    })
    .catch(unique('extRef', `a customer with the external reference "${change.extRef}" already exists`));
}

export function findCustomer(db: Database, id: number): Promise<Customer | null> {
  return db.customer.findUnique({ where: { id } });
}

/** A classification as the audit log records it: its fields and its services, by id. */
interface AuditedClassification {
  readonly code: string;
  readonly name: string;
  readonly active: boolean;
  readonly serviceIds: readonly number[];
}

async function auditedClassification(tx: Writer, classification: Classification): Promise<AuditedClassification> {
  const links = await tx.classificationService.findMany({
    where: { classificationId: classification.id },
    select: { serviceId: true },
    orderBy: { serviceId: 'asc' },
  });
  const { code, name, active } = classification;
  return { code, name, active, serviceIds: links.map((link) => link.serviceId) };
}

export async function createClassification(
  db: Database,
  request: CreateClassificationRequest,
  actor: Actor,
): Promise<Classification> {
  requireEveryService(actor);
  const { serviceIds, ...fields } = parseInput(createClassificationRules, request);
  return db
    .$transaction(async (tx) => {
      const created = await tx.classification.create({
        data: { ...fields, services: { createMany: { data: serviceIds.map((serviceId) => ({ serviceId })) } } },
      });
      await recordAudit(tx, actor, {
        action: 'classification.create',
        entity: 'classification',
        entityId: created.code,
        changes: changesBetween(null, await auditedClassification(tx, created), [
          'code',
          'name',
          'active',
          'serviceIds',
        ]),
      });
      return created;
    })
    .catch(unique('code', `a classification with the code "${fields.code}" already exists`))
    .catch(knownServices);
}

export async function updateClassification(
  db: Database,
  key: string,
  request: UpdateClassificationRequest,
  actor: Actor,
): Promise<Classification> {
  requireEveryService(actor);
  const { code } = parseInput(classificationKeyRules, { code: key });
  const { serviceIds, ...fields } = parseInput(updateClassificationRules, request);
  // The fields, the service list and the audit entry change together or not at all.
  return db
    .$transaction(async (tx) => {
      const [locked] = await tx.$queryRaw<{ id: number }[]>`
        SELECT id FROM classifications WHERE code = ${code} FOR NO KEY UPDATE`;
      const existing = locked ? await tx.classification.findUnique({ where: { id: locked.id } }) : null;
      if (!existing) throw notFound('code', `no classification has the code "${code}"`);
      const before = await auditedClassification(tx, existing);
      if (serviceIds !== undefined) {
        await tx.classificationService.deleteMany({ where: { classificationId: existing.id } });
        await tx.classificationService.createMany({
          data: serviceIds.map((serviceId) => ({ classificationId: existing.id, serviceId })),
        });
      }
      const updated = await tx.classification.update({ where: { id: existing.id }, data: changeOf(fields) });
      const changes = changesBetween(before, await auditedClassification(tx, updated), [
        'name',
        'active',
        'serviceIds',
      ]);
      if (changes.length > 0)
        await recordAudit(tx, actor, {
          action: 'classification.update',
          entity: 'classification',
          entityId: code,
          changes,
        });
      return updated;
    })
    .catch(knownServices);
}

/**
 * Classifications by code, at most `first`, those after `afterCode`. To a
 * credential limited to some services, only those its services may use
 * (linked to none, so to every service, or to one of its own): one used by
 * other services alone is not there to it (references.ts answers alike).
 */
export function listClassifications(
  db: Database,
  request: ClassificationsPageRequest,
  actor: Actor,
): Promise<Classification[]> {
  const { first, afterCode } = parseInput(classificationsPageRules, request);
  const limit = serviceLimit(actor);
  return db.classification.findMany({
    where: {
      ...(afterCode === null ? {} : { code: { gt: afterCode } }),
      ...(limit === null
        ? {}
        : { OR: [{ services: { none: {} } }, { services: { some: { serviceId: { in: limit } } } }] }),
    },
    orderBy: { code: 'asc' },
    take: first,
  });
}

export async function createProcedure(db: Database, request: CreateProcedureRequest, actor: Actor): Promise<Procedure> {
  requireEveryService(actor);
  const { options, ...fields } = parseInput(createProcedureRules, request);
  return db
    .$transaction(async (tx) => {
      const created = await tx.procedure.create({ data: { ...fields, options: { createMany: { data: options } } } });
      await recordAudit(tx, actor, {
        action: 'procedure.create',
        entity: 'procedure',
        entityId: created.extRef,
        changes: changesBetween(null, { ...created, options: options.map(({ extRef, name }) => ({ extRef, name })) }, [
          'extRef',
          'name',
          'active',
          'options',
        ]),
      });
      return created;
    })
    .catch(unique('extRef', `a procedure with the external reference "${fields.extRef}" already exists`));
}

export async function updateProcedure(
  db: Database,
  key: string,
  request: UpdateProcedureRequest,
  actor: Actor,
): Promise<Procedure> {
  requireEveryService(actor);
  const { extRef } = parseInput(procedureKeyRules, { extRef: key });
  const change = parseInput(updateProcedureRules, request);
  return db.$transaction(async (tx) => {
    // Locked, so that "before" is what this change replaces.
    const [locked] = await tx.$queryRaw<{ id: number }[]>`
      SELECT id FROM procedures WHERE ext_ref = ${extRef} FOR NO KEY UPDATE`;
    const before = locked ? await tx.procedure.findUnique({ where: { id: locked.id } }) : null;
    if (!before) throw notFound('extRef', `no procedure has the external reference "${extRef}"`);
    const after = await tx.procedure.update({ where: { id: before.id }, data: changeOf(change) });
    const changes = changesBetween(before, after, ['name', 'active']);
    if (changes.length > 0)
      await recordAudit(tx, actor, { action: 'procedure.update', entity: 'procedure', entityId: extRef, changes });
    return after;
  });
}

export async function addProcedureOption(
  db: Database,
  parent: string,
  request: ProcedureOptionRequest,
  actor: Actor,
): Promise<Procedure> {
  requireEveryService(actor);
  const { procedureExtRef } = parseInput(optionParentRules, { procedureExtRef: parent });
  const option = parseInput(procedureOptionRules, request);
  const procedure = await db.procedure.findUnique({ where: { extRef: procedureExtRef } });
  if (!procedure) throw notFound('procedureExtRef', `no procedure has the external reference "${procedureExtRef}"`);
  // The procedure's row lock makes count-then-insert safe against a concurrent add.
  await db
    .$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM procedures WHERE id = ${procedure.id} FOR NO KEY UPDATE`;
      const count = await tx.procedureOption.count({ where: { procedureId: procedure.id } });
      if (count >= LIMITS.procedure.options)
        throw badInput(
          'procedureExtRef',
          'maxItems',
          `the procedure already has ${count} options, the most it may have`,
        );
      await tx.procedureOption.create({ data: { ...option, procedureId: procedure.id } });
      // The options field gained one: recorded as that option, which did not exist before.
      await recordAudit(tx, actor, {
        action: 'procedure.addOption',
        entity: 'procedure',
        entityId: procedure.extRef,
        changes: [{ field: 'options', before: null, after: { extRef: option.extRef, name: option.name } }],
      });
    })
    .catch(unique('extRef', `the procedure already has an option "${option.extRef}"`));
  return procedure;
}

export function listProcedures(db: Database, request: ProceduresPageRequest = {}): Promise<Procedure[]> {
  const { first, afterExtRef } = parseInput(proceduresPageRules, request);
  return db.procedure.findMany({
    ...(afterExtRef === null ? {} : { where: { extRef: { gt: afterExtRef } } }),
    orderBy: { extRef: 'asc' },
    take: first,
  });
}
