// Who may call the REST routes: each stands for GraphQL fields of the
// contract, and is allowed to whoever may use all of them, so the roles of
// schema.graphql's @auth directives decide here too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldRequirements } from '../auth/field-rules.js';
import { holdsAny, type Principal } from '../auth/principal.js';
import { refusalAnswer, type Admission, type Refusal } from '../http/admission.js';
import { RestError } from './rest-errors.js';

export interface RestAccess {
  readonly admission: Admission;
  readonly requirements: FieldRequirements;
}

/** POST /api/Cases: the enqueue, and its answer, which echoes what was sent. */
export const ENQUEUE_FIELDS = [
  'Mutation.enqueueCase',
  'CaseEnqueuePayload.subject',
  'CaseEnqueuePayload.notes',
  'CaseEnqueuePayload.extRef',
  'CaseEnqueuePayload.customProperties',
  'CaseEnqueuePayload.customerId',
] as const;

/** GET /api/Cases/{id}: the stored case, personal data and history included. */
export const READ_CASE_FIELDS = [
  'Query.case',
  'Case.subject',
  'Case.notes',
  'Case.extRef',
  'Case.customProperties',
  'Case.customer',
  'CaseEvent.reason',
] as const;

/**
 * The principal of an admitted request; throws the refusal (401, 429, 503)
 * as a REST error, and a 403 when the principal may not use every one of `fields`.
 */
export async function restPrincipal(
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
  fields: readonly string[],
  operation: string,
): Promise<Principal | undefined> {
  let refused: Refusal | undefined;
  const principal = await access.admission.admit(request, response, (_response, refusal) => (refused = refusal));
  if (refused) {
    const { status, code, message, headers } = refusalAnswer(refused);
    throw new RestError(status, code, message, [], headers);
  }
  if (!principal) return undefined;
  const forbidden = fields.filter((field) => {
    const roles = access.requirements.get(field);
    return roles !== undefined && !holdsAny(principal, roles);
  });
  if (forbidden.length > 0) throw new RestError(403, 'FORBIDDEN', `This credential may not use ${operation}`);
  return principal;
}
