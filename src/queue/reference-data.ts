// Reference data that cases name: customers, classifications, procedures
// and their options. Managed by admin mutations; checked on enqueue
// (references.ts).
import type { Database } from '../db/prisma-client.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/prisma-errors.js';
import type { Classification, Customer, Procedure } from '../generated/prisma/client.js';
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

export async function createCustomer(db: Database, request: CustomerRequest): Promise<Customer> {
  const input = parseInput(customerRules, request);
  return db.customer
    .create({ data: changeOf(input) })
    .catch(unique('extRef', `a customer with the external reference "${input.extRef}" already exists`));
}

export async function updateCustomer(db: Database, id: number, request: CustomerRequest): Promise<Customer> {
  const change = parseInput(customerRules, request);
  const { count } = await db.customer
    .updateMany({ where: { id }, data: changeOf(change) })
    .catch(unique('extRef', `a customer with the external reference "${change.extRef}" already exists`));
  const customer = count === 0 ? null : await findCustomer(db, id);
  if (!customer) throw notFound('id', `no customer has the id ${id}`);
  return customer;
}

export function findCustomer(db: Database, id: number): Promise<Customer | null> {
  return db.customer.findUnique({ where: { id } });
}

export async function createClassification(
  db: Database,
  request: CreateClassificationRequest,
): Promise<Classification> {
  const { serviceIds, ...fields } = parseInput(createClassificationRules, request);
  return db.classification
    .create({ data: { ...fields, services: { createMany: { data: serviceIds.map((serviceId) => ({ serviceId })) } } } })
    .catch(unique('code', `a classification with the code "${fields.code}" already exists`))
    .catch(knownServices);
}

export async function updateClassification(
  db: Database,
  key: string,
  request: UpdateClassificationRequest,
): Promise<Classification> {
  const { code } = parseInput(classificationKeyRules, { code: key });
  const { serviceIds, ...fields } = parseInput(updateClassificationRules, request);
  const existing = await db.classification.findUnique({ where: { code }, select: { id: true } });
  if (!existing) throw notFound('code', `no classification has the code "${code}"`);
  // Replacing the service list and the fields is one transaction.
  return db
    .$transaction(async (tx) => {
      if (serviceIds !== undefined) {
        await tx.classificationService.deleteMany({ where: { classificationId: existing.id } });
        await tx.classificationService.createMany({
          data: serviceIds.map((serviceId) => ({ classificationId: existing.id, serviceId })),
        });
      }
      return tx.classification.update({ where: { id: existing.id }, data: changeOf(fields) });
    })
    .catch(knownServices);
}

export function listClassifications(db: Database, request: ClassificationsPageRequest = {}): Promise<Classification[]> {
  const { first, afterCode } = parseInput(classificationsPageRules, request);
  return db.classification.findMany({
    ...(afterCode === null ? {} : { where: { code: { gt: afterCode } } }),
    orderBy: { code: 'asc' },
    take: first,
  });
}

export async function createProcedure(db: Database, request: CreateProcedureRequest): Promise<Procedure> {
  const { options, ...fields } = parseInput(createProcedureRules, request);
  return db.procedure
    .create({ data: { ...fields, options: { createMany: { data: options } } } })
    .catch(unique('extRef', `a procedure with the external reference "${fields.extRef}" already exists`));
}

export async function updateProcedure(db: Database, key: string, request: UpdateProcedureRequest): Promise<Procedure> {
  const { extRef } = parseInput(procedureKeyRules, { extRef: key });
  const change = parseInput(updateProcedureRules, request);
  const { count } = await db.procedure.updateMany({ where: { extRef }, data: changeOf(change) });
  const procedure = count === 0 ? null : await db.procedure.findUnique({ where: { extRef } });
  if (!procedure) throw notFound('extRef', `no procedure has the external reference "${extRef}"`);
  return procedure;
}

export async function addProcedureOption(
  db: Database,
  parent: string,
  request: ProcedureOptionRequest,
): Promise<Procedure> {
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
