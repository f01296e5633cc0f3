// Errors the queue's rules raise. Each carries a code clients can switch on,
// and, for input problems, the input field and the rule it broke.

export type QueueErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'ILLEGAL_TRANSITION' | 'FORBIDDEN';

export interface FieldIssue {
  /** Path of the input field, e.g. `subject` or `customProperties[2].key`. */
  readonly field: string;
  /** Name of the rule broken, e.g. `maxLength`, `required`, `unique`. */
  readonly rule: string;
  readonly message: string;
}

export class QueueError extends Error {
  override readonly name = 'QueueError';

  constructor(
    readonly code: QueueErrorCode,
    /** The first (or only) problem; `issues` lists all of them. */
    readonly issue: FieldIssue,
    readonly issues: readonly FieldIssue[] = [issue],
  ) {
    super(`${issue.field}: ${issue.message}`);
  }
}

export const badInput = (field: string, rule: string, message: string): QueueError =>
  new QueueError('BAD_USER_INPUT', { field, rule, message });

export const notFound = (field: string, message: string): QueueError =>
  new QueueError('NOT_FOUND', { field, rule: 'exists', message });

// The answers for a case or a service that is not there. A credential limited
// to some services gets these very answers for the cases and services of the
// others (actor-rules.ts): built in one place, they cannot drift apart.

export const noCase = (field: string, id: number): QueueError => notFound(field, `no case has the id ${id}`);

export const noService = (field: string, id: number): QueueError => notFound(field, `no service has the id ${id}`);

export const noServiceWithExtRef = (extRef: string, field = 'serviceIdExtRef'): QueueError =>
  notFound(field, `no service has the external reference "${extRef}"`);

export const conflict = (field: string, message: string): QueueError =>
  new QueueError('CONFLICT', { field, rule: 'unique', message });

/**
 * The credential may not do this, whatever the ids it names: administration
 * by a credential limited to some services, a customer named by a kiosk
 * (actor-rules.ts), a case followed without its receipt. Never the answer
 * for a thing the credential may not see: that is NOT_FOUND, as for a
 * missing one.
 */
export const forbidden = (field: string, message: string, rule: string): QueueError =>
  new QueueError('FORBIDDEN', { field, rule, message });

/** The case is not in a status the action may start from. */
export const illegalTransition = (action: string, status: string, caseId: number): QueueError =>
  new QueueError('ILLEGAL_TRANSITION', {
    field: 'caseId',
    rule: 'transition',
    message: `case ${caseId} is ${status}: it cannot be given ${action}`,
  });
