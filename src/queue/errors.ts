// The refusals the gateway answers on every edge: the queue's rules, and the
// checks of auth, REST and live updates. Each carries a code clients can
// switch on (error-codes.ts) and, for input problems, the input field and the
// rule it broke.
import type { GatewayErrorCode } from './error-codes.js';

export interface FieldIssue {
  /** Path of the input field, e.g. `subject` or `customProperties[2].key`. */
  readonly field: string;
  /** Name of the rule broken, e.g. `maxLength`, `required`, `unique`. */
  readonly rule: string;
  readonly message: string;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly code: GatewayErrorCode,
    /** The first (or only) problem; `issues` lists all of them. */
    readonly issue: FieldIssue,
    readonly issues: readonly FieldIssue[] = [issue],
  ) {
    super(`${issue.field}: ${issue.message}`);
  }
}

export const badInput = (field: string, rule: string, message: string): GatewayError =>
  new GatewayError('BAD_USER_INPUT', { field, rule, message });

export const notFound = (field: string, message: string): GatewayError =>
  new GatewayError('NOT_FOUND', { field, rule: 'exists', message });

// The answers for a case or a service that is not there. A credential limited
// to some services gets these very answers for the cases and services of the
// others (actor-rules.ts): built in one place, they cannot drift apart.

export const noCase = (field: string, id: number): GatewayError => notFound(field, `no case has the id ${id}`);

export const noService = (field: string, id: number): GatewayError => notFound(field, `no service has the id ${id}`);

export const noServiceWithExtRef = (extRef: string, field = 'serviceIdExtRef'): GatewayError =>
  notFound(field, `no service has the external reference "${extRef}"`);

export const conflict = (field: string, message: string): GatewayError =>
  new GatewayError('CONFLICT', { field, rule: 'unique', message });

/**
 * The credential may not do this, whatever the ids it names: administration
 * by a credential limited to some services, a customer named by a kiosk
 * (actor-rules.ts), a case followed without its receipt. Never the answer
 * for a thing the credential may not see: that is NOT_FOUND, as for a
 * missing one.
 */
export const forbidden = (field: string, message: string, rule: string): GatewayError =>
  new GatewayError('FORBIDDEN', { field, rule, message });

/** The case is not in a status the action may start from. */
export const illegalTransition = (action: string, status: string, caseId: number): GatewayError =>
  new GatewayError('ILLEGAL_TRANSITION', {
    field: 'caseId',
    rule: 'transition',
    message: `case ${caseId} is ${status}: it cannot be given ${action}`,
  });
