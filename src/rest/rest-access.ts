// Who may call the REST routes. Each route stands for a GraphQL operation of
// the contract, written below as a document that selects what the route
// answers, field by field; the route is allowed to whoever may run that
// operation, by the same @auth check as GraphQL (prepare-operation.ts). The
// documents are checked against schema.graphql when the gateway starts: a
// field name the schema does not have stops it, rather than being allowed.
// A case read stands for two: `case(id)` whole, or `caseChanged` as a
// kiosk with the case's receipt sees it (case-receipt.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { Receipts } from '../auth/receipts.js';
import type { FixedOperation, OperationPreparer } from '../graphql/prepare-operation.js';
import { refusalAnswer, type Admission, type Refusal } from '../http/admission.js';
import type { CaseAnswer, CaseStateAnswer, EnqueueAnswer, HistoryAnswer } from './case-answers.js';
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
  /** GET /api/Cases/{id}, the whole case. */
  readonly readCase: RestOperation;
  /** GET /api/Cases/{id}, what the case's receipt shows. */
  readonly followCase: RestOperation;
  /** Signs the receipts enqueues answer, and checks the ones kiosks read with. */
  readonly receipts: Receipts;
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
  Ticket: 'ticket',
  Position: 'position',
  EstimatedWaitSeconds: 'estimatedWaitSeconds',
  EstimatedWaitRange: 'estimatedWaitRange { low high }',
  Receipt: 'receipt',
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
  EstimatedWaitRange: 'estimatedWaitRange { low high }',
  EnqueuedAt: 'enqueuedAt',
  QueuedAt: 'queuedAt',
  CalledAt: 'calledAt',
  ClosedAt: 'closedAt',
  UpdatedAt: 'updatedAt',
  History: `history { ${Object.values(HISTORY_ANSWER).join(' ')} }`,
} as const satisfies Record<keyof CaseAnswer, string>;

/** Each field a receipt shows, by the field of `caseChanged`'s CaseUpdate it shows. */
const CASE_STATE_ANSWER = {
  CaseId: 'caseId',
  Ticket: 'ticket',
  ServiceId: 'serviceId',
  Status: 'status',
  LastAction: 'lastAction',
  LastAgent: 'lastAgent',
  Position: 'position',
  EstimatedWaitSeconds: 'estimatedWaitSeconds',
  EstimatedWaitRange: 'estimatedWaitRange { low high }',
  CalledAt: 'calledAt',
  ClosedAt: 'closedAt',
} as const satisfies Record<keyof CaseStateAnswer, string>;

const selection = (answer: Record<string, string>): string => Object.values(answer).join(' ');

/** The GraphQL operation POST /api/Cases stands for. */
export const ENQUEUE_DOCUMENT = `mutation RestEnqueueCase($input: CaseEnqueueInput!) { enqueueCase(input: $input) { ${selection(ENQUEUE_ANSWER)} } }`;
/** The GraphQL operation GET /api/Cases/{id} stands for. */
export const READ_CASE_DOCUMENT = `query RestReadCase($id: Int!) { case(id: $id) { ${selection(CASE_ANSWER)} } }`;
/** The GraphQL operation GET /api/Cases/{id} stands for when the credential may not read cases whole. */
export const FOLLOW_CASE_DOCUMENT = `subscription RestFollowCase($id: Int!, $receipt: String) { caseChanged(caseId: $id, receipt: $receipt) { ${selection(CASE_STATE_ANSWER)} } }`;

/** A route's operation, checked against the schema now: throws when the document does not fit it. */
export function restOperation(preparer: OperationPreparer, route: string, document: string): RestOperation {
  try {
    return { route, operation: preparer.fixed(document) };
  } catch (error) {
    throw new Error(`${route}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The REST routes' access, their documents checked at start-up. */
export function restAccess(admission: Admission, preparer: OperationPreparer, receipts: Receipts): RestAccess {
  const readRoute = 'GET /api/Cases/{id}';
  return {
    admission,
    preparer,
    enqueue: restOperation(preparer, 'POST /api/Cases', ENQUEUE_DOCUMENT),
    readCase: restOperation(preparer, readRoute, READ_CASE_DOCUMENT),
    followCase: restOperation(preparer, readRoute, FOLLOW_CASE_DOCUMENT),
    receipts,
  };
}

/** The principal of an admitted request; throws the refusal (401, 429, 503) as a REST error. */
async function admitted(
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<Principal | undefined> {
  let refused: Refusal | undefined;
  const principal = await access.admission.admit(request, response, (_response, refusal) => (refused = refusal));
  if (refused) {
    const { status, code, message, headers } = refusalAnswer(refused);
    throw new RestError(status, code, message, [], headers);
  }
  return principal;
}

const mayRun = (access: RestAccess, { operation }: RestOperation, principal: Principal): boolean =>
  access.preparer.prepareFixed(operation, principal).ok;

const forbiddenRoute = ({ route }: RestOperation): RestError =>
  new RestError(403, 'FORBIDDEN', `This credential may not use ${route}`);

/**
 * The principal of an admitted request; throws the refusal (401, 429, 503)
 * as a REST error, and a 403 when the principal may not run the route's operation.
 */
export async function restPrincipal(
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
  operation: RestOperation,
): Promise<Principal | undefined> {
  const principal = await admitted(access, request, response);
  if (principal && !mayRun(access, operation, principal)) throw forbiddenRoute(operation);
  return principal;
}

/** How a case is read: whole, or what its receipt shows (the receipt still to be checked). */
export type CaseView = 'whole' | 'receipt';

/**
 * The principal of an admitted case read and what it may see: the case whole
 * when it may run `case(id)` (AGENT, ADMIN), else what `caseChanged` shows
 * when it may follow cases (KIOSK); a 403 otherwise (SCREEN), as GraphQL refuses both.
 */
export async function caseReader(
  access: RestAccess,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<{ readonly principal: Principal; readonly view: CaseView } | undefined> {
  const principal = await admitted(access, request, response);
  if (!principal) return undefined;
  if (mayRun(access, access.readCase, principal)) return { principal, view: 'whole' };
  if (mayRun(access, access.followCase, principal)) return { principal, view: 'receipt' };
  throw forbiddenRoute(access.readCase);
}
