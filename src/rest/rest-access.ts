// Who may call the REST routes. Each route stands for a GraphQL operation of
// the contract, written below as a document that selects what the route
// answers, field by field; the route is allowed to whoever may run that
// operation, by the same @auth check as GraphQL (prepare-operation.ts). The
// documents are checked against schema.graphql when the gateway starts: a
// field name the schema does not have stops it, rather than being allowed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { FixedOperation, OperationPreparer } from '../graphql/prepare-operation.js';
import { refusalAnswer, type Admission, type Refusal } from '../http/admission.js';
import type { CaseAnswer, EnqueueAnswer, HistoryAnswer } from './case-answers.js';
import { RestError } from './rest-errors.js';

/** A REST route's GraphQL operation, compiled at start-up. */
export interface RestOperation {
  /** How refusals name the route: `POST /api/Cases`. */
  readonly route: string;
  readonly operation: FixedOperation;
}

export interface RestAccess {
  readonly admission: Admission;
  readonly preparer: OperationPreparer;
  /** POST /api/Cases. */
  readonly enqueue: RestOperation;
  /** GET /api/Cases/{id}. */
  readonly readCase: RestOperation;
}

/** Each field of the enqueue's answer, by the field of `enqueueCase`'s payload it shows (tsc wants every one). */
const ENQUEUE_ANSWER = {
  CaseId: 'caseId',
  ServiceId: 'serviceId',
  ServiceIdExtRef: 'serviceIdExtRef',
  CustomerId: 'customerId',
  ExtRef: 'extRef',
  Notes: 'notes',
  Subject: 'subject',
  ClassificationCode: 'classificationCode',
  AutoClose: 'autoClose',
  CustomProperties: 'customProperties { key value }',
  ProcedureExtRef: 'procedureExtRef',
  ProcedureOptionExtRef: 'procedureOptionExtRef',
} as const satisfies Record<keyof EnqueueAnswer, string>;

const HISTORY_ANSWER = {
  Action: 'action',
  At: 'at',
  Agent: 'agent',
  Reason: 'reason',
  FromStatus: 'fromStatus',
  ToStatus: 'toStatus',
} as const satisfies Record<keyof HistoryAnswer, string>;

/** Each field of a case read, by the field of `Case` it shows; personal data and history included. */
const CASE_ANSWER = {
  CaseId: 'id',
  ServiceId: 'service { id }',
  ServiceIdExtRef: 'service { extRef }',
  CustomerId: 'customer { id }',
  ExtRef: 'extRef',
  Notes: 'notes',
  Subject: 'subject',
  ClassificationCode: 'classificationCode',
  AutoClose: 'autoClose',
  CustomProperties: 'customProperties { key value }',
  ProcedureExtRef: 'procedureExtRef',
  ProcedureOptionExtRef: 'procedureOptionExtRef',
  Ticket: 'ticket',
  Status: 'status',
  LastAction: 'lastAction',
  LastAgent: 'lastAgent',
  Position: 'position',
  EstimatedWaitSeconds: 'estimatedWaitSeconds',
  EnqueuedAt: 'enqueuedAt',
  QueuedAt: 'queuedAt',
  CalledAt: 'calledAt',
  ClosedAt: 'closedAt',
  UpdatedAt: 'updatedAt',
  History: `history { ${Object.values(HISTORY_ANSWER).join(' ')} }`,
} as const satisfies Record<keyof CaseAnswer, string>;

const selection = (answer: Record<string, string>): string => Object.values(answer).join(' ');

/** The GraphQL operation POST /api/Cases stands for. */
export const ENQUEUE_DOCUMENT = `mutation RestEnqueueCase($input: CaseEnqueueInput!) { enqueueCase(input: $input) { ${selection(ENQUEUE_ANSWER)} } }`;
/** The GraphQL operation GET /api/Cases/{id} stands for. */
export const READ_CASE_DOCUMENT = `query RestReadCase($id: Int!) { case(id: $id) { ${selection(CASE_ANSWER)} } }`;

/** A route's operation, checked against the schema now: throws when the document does not fit it. */
export function restOperation(preparer: OperationPreparer, route: string, document: string): RestOperation {
  try {
    return { route, operation: preparer.fixed(document) };
  } catch (error) {
    throw new Error(`${route}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The REST routes' access, their documents checked at start-up. */
export function restAccess(admission: Admission, preparer: OperationPreparer): RestAccess {
  return {
    admission,
    preparer,
    enqueue: restOperation(preparer, 'POST /api/Cases', ENQUEUE_DOCUMENT),
    readCase: restOperation(preparer, 'GET /api/Cases/{id}', READ_CASE_DOCUMENT),
  };
}

/**
 * The principal of an admitted request; throws the refusal (401, 429, 503)
 * as a REST error, and a 403 when the principal may not run the route's operation.
 */
export async function restPrincipal(
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
  { route, operation }: RestOperation,
): Promise<Principal | undefined> {
  let refused: Refusal | undefined;
  const principal = await access.admission.admit(request, response, (_response, refusal) => (refused = refusal));
  if (refused) {
    const { status, code, message, headers } = refusalAnswer(refused);
    throw new RestError(status, code, message, [], headers);
  }
  if (!principal) return undefined;
  const verdict = access.preparer.prepareFixed(operation, principal);
  if (!verdict.ok) throw new RestError(403, 'FORBIDDEN', `This credential may not use ${route}`);
  return principal;
}
