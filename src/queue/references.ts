// Reference data a case names by code or external reference: checked before
// the case is written. (Services and customers are checked inside the
// enqueue statement itself, where the service is locked.)
import type { Database } from '../db/prisma-client.js';
import { badInput, notFound } from './errors.js';
import type { CaseEnqueue } from './input-rules.js';

async function checkClassification(
  db: Database,
  code: string,
  serviceId: number | null,
  serviceExtRef: string | null,
): Promise<void> {
  const classification = await db.classification.findUnique({
    where: { code },
    select: { active: true, services: { select: { serviceId: true, service: { select: { extRef: true } } } } },
  });
  if (!classification) throw notFound('classificationCode', `no classification has the code "${code}"`);
  if (!classification.active)
    throw badInput('classificationCode', 'active', `the classification "${code}" is inactive`);
  // Limited to some services: the case's service must be one of them.
  const { services } = classification;
  if (services.length === 0) return;
  const allowed = services.some((link) =>
    serviceId !== null ? link.serviceId === serviceId : link.service.extRef === serviceExtRef,
  );
  if (allowed) return;
  // A service that does not exist is reported as such, not as a classification problem.
  const service = await db.service.findFirst({
    where: serviceId !== null ? { id: serviceId } : { extRef: serviceExtRef ?? '' },
    select: { id: true },
  });
  if (!service) {
    throw serviceId !== null
      ? notFound('serviceId', `no service has the id ${serviceId}`)
      : notFound('serviceIdExtRef', `no service has the external reference "${serviceExtRef}"`);
  }
  throw badInput('classificationCode', 'allowedForService', `the classification "${code}" is not used by this service`);
}

async function checkProcedure(db: Database, procedureExtRef: string, optionExtRef: string | null): Promise<void> {
  const procedure = await db.procedure.findUnique({
    where: { extRef: procedureExtRef },
    select: {
      active: true,
      options: optionExtRef === null ? false : { where: { extRef: optionExtRef }, select: { active: true } },
    },
  });
  if (!procedure) throw notFound('procedureExtRef', `no procedure has the external reference "${procedureExtRef}"`);
  if (!procedure.active) throw badInput('procedureExtRef', 'active', `the procedure "${procedureExtRef}" is inactive`);
  if (optionExtRef === null) return;
  // Selected above whenever an option is named.
  const [option] = procedure.options;
  if (!option)
    throw badInput(
      'procedureOptionExtRef',
      'belongsToProcedure',
      `"${optionExtRef}" is not an option of the procedure "${procedureExtRef}"`,
    );
  if (!option.active) throw badInput('procedureOptionExtRef', 'active', `the option "${optionExtRef}" is inactive`);
}

/** Throws when the case names a classification or procedure it may not. */
export async function checkCaseReferences(db: Database, input: CaseEnqueue): Promise<void> {
  if (input.classificationCode !== null)
    await checkClassification(db, input.classificationCode, input.serviceId, input.serviceIdExtRef);
  if (input.procedureExtRef !== null) await checkProcedure(db, input.procedureExtRef, input.procedureOptionExtRef);
}
