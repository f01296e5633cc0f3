// Reference data a case names by code or external reference: checked before
// the case is written. (Services and customers are checked inside the
// enqueue statement itself, where the service is locked.) A credential
// limited to some services has had the case's service checked against its
// limit before these run (enqueue-case.ts), so the rules here, which read
// what a service uses, never answer about another service. Also here: the
// services an API key or a webhook endpoint is limited to, checked to exist,
// and services named by external reference (callNext, createApiKey) as ids.
import type { Database } from '../db/prisma-client.js';
import type { Prisma } from '../generated/prisma/client.js';
import { coversService, type Actor } from './actor.js';
import { badInput, noService, noServiceWithExtRef, notFound, GatewayError } from './errors.js';
import type { CaseEnqueue } from './input-rules.js';

async function checkClassification(
  db: Database,
  code: string,
  serviceId: number | null,
  serviceExtRef: string | null,
  actor: Actor,
): Promise<void> {
  const classification = await db.classification.findUnique({
    where: { code },
    select: { active: true, services: { select: { serviceId: true, service: { select: { extRef: true } } } } },
  });
  // One used by other services alone is not there to a credential limited to
  // its own (as in `classifications`): "not used by this service" would tell
  // that another service uses it.
  const visible =
    classification !== null &&
    (classification.services.length === 0 ||
      classification.services.some((link) => coversService(actor, link.serviceId)));
  if (!classification || !visible) throw notFound('classificationCode', `no classification has the code "${code}"`);
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
  if (!service) throw serviceId !== null ? noService('serviceId', serviceId) : noServiceWithExtRef(serviceExtRef ?? '');
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

/** Throws when the case names a classification or procedure it may not (its service is in the actor's limit). */
export async function checkCaseReferences(db: Database, input: CaseEnqueue, actor: Actor): Promise<void> {
  if (input.classificationCode !== null)
    await checkClassification(db, input.classificationCode, input.serviceId, input.serviceIdExtRef, actor);
  if (input.procedureExtRef !== null) await checkProcedure(db, input.procedureExtRef, input.procedureOptionExtRef);
}

/** The largest value of a PostgreSQL `integer` column: larger ids name nothing. */
export const INT4_MAX = 2_147_483_647;

/** NOT_FOUND naming each id of `serviceIds` (by its place in the list) that names no service. */
export async function requireServices(tx: Prisma.TransactionClient, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  const storable = ids.filter((id) => Number.isInteger(id) && id >= 1 && id <= INT4_MAX);
  const found = new Set(
    (await tx.service.findMany({ where: { id: { in: storable } }, select: { id: true } })).map(({ id }) => id),
  );
  const issues = ids.flatMap((id, index) => (found.has(id) ? [] : [noService(`serviceIds[${index}]`, id).issue]));
  const [first] = issues;
  if (first) throw new GatewayError('NOT_FOUND', first, issues);
}

/**
 * The ids of the services that `extRefs` name, in their order: how callNext
 * and createApiKey take services by external reference. NOT_FOUND naming each
 * reference (`field[index]`) that names no service, or one outside `actor`'s
 * services (to which the others do not exist).
 */
export async function serviceIdsByExtRef(
  db: Prisma.TransactionClient,
  extRefs: readonly string[],
  field: string,
  actor: Actor | null = null,
): Promise<number[]> {
  if (extRefs.length === 0) return [];
  const rows = await db.service.findMany({
    where: { extRef: { in: [...extRefs] } },
    select: { id: true, extRef: true },
  });
  const byRef = new Map(
    rows.flatMap(({ id, extRef }) =>
      extRef !== null && (actor === null || coversService(actor, id)) ? [[extRef, id] as const] : [],
    ),
  );
  const issues = extRefs.flatMap((extRef, index) =>
    byRef.has(extRef) ? [] : [noServiceWithExtRef(extRef, `${field}[${index}]`).issue],
  );
  const [first] = issues;
  if (first) throw new GatewayError('NOT_FOUND', first, issues);
  return extRefs.map((extRef) => byRef.get(extRef) ?? 0);
}
