/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/**
 * A case to enqueue: the seed's CaseEnqueue request, in camelCase.
 *
 * Lengths count Unicode characters (code points), as PostgreSQL does: an emoji
 * outside the Basic Multilingual Plane counts as one. Text must be well-formed
 * Unicode without NUL characters. Text is stored exactly as given, without trimming.
 */
export type CaseEnqueueInput = {
  /**
   * Enqueue and close the case at once, for statistics: the case is stored
   * `COMPLETED` and never waits in the queue. Default false.
   */
  autoClose?: boolean | null | undefined;
  /**
   * Classification code, at most 50 characters. Must name an active
   * classification, and one allowed for the service when it is limited to some.
   */
  classificationCode?: string | null | undefined;
  /**
   * Custom properties of this case's process: at most 50 pairs, keys of 1 to
   * 100 characters and unique within the list, values of at most 1000 characters.
   */
  customProperties?: Array<CustomPropertyInput> | null | undefined;
  /**
   * Existing Customer ID (optional). Must name an existing, active customer.
   * Only credentials that may read customers (AGENT, ADMIN) may name one; a
   * KIOSK is refused (`FORBIDDEN`, rule `readsCustomers`) whatever the id.
   */
  customerId?: number | null | undefined;
  /**
   * External reference, at most 200 characters. Sometimes used for a mobile
   * number when no customer record is attached.
   */
  extRef?: string | null | undefined;
  /**
   * Makes retries safe: the same key with the same input returns the case the
   * first request created, without creating another; the same key with different
   * input is a `CONFLICT`. 1 to 100 characters, no control characters. Keys
   * belong to the credential that sends them (two kiosk keys sending the same
   * key make two cases); use a UUID.
   */
  idempotencyKey?: string | null | undefined;
  /** Case notes, at most 4000 characters. */
  notes?: string | null | undefined;
  /**
   * A procedure, by external reference; at most 100 characters. Must name an
   * active procedure.
   */
  procedureExtRef?: string | null | undefined;
  /**
   * An option of the procedure, by external reference; at most 100 characters.
   * Requires `procedureExtRef`, and must be an active option of that procedure.
   */
  procedureOptionExtRef?: string | null | undefined;
  /**
   * Service ID to enqueue into. Required unless `serviceIdExtRef` is given;
   * when both are given they must name the same service.
   */
  serviceId?: number | null | undefined;
  /**
   * The service by its external reference, at most 100 characters. Required
   * unless `serviceId` is given.
   */
  serviceIdExtRef?: string | null | undefined;
  /** Case subject line, at most 100 characters. */
  subject?: string | null | undefined;
};

/**
 * Where a case stands. WAITING and IN_SERVICE cases are active; COMPLETED and
 * CANCELLED ones are closed for good.
 */
export type CaseStatus =
  /** Cancelled while waiting or in service. */
  | 'CANCELLED'
  /** Served to the end; also every case enqueued with `autoClose: true`. */
  | 'COMPLETED'
  /** Called by an agent and being served. */
  | 'IN_SERVICE'
  /** In its service's queue, waiting to be called. */
  | 'WAITING';

/** One custom property of a case: a string key and a string value. */
export type CustomPropertyInput = {
  /** The property's name: 1 to 100 characters, unique within the case. */
  key: string;
  /** The property's value: at most 1000 characters. */
  value: string;
};

export type KioskEnqueueCaseMutationVariables = Exact<{
  input: CaseEnqueueInput;
}>;


export type KioskEnqueueCaseMutation = { enqueueCase: { caseId: number, receipt: string, ticket: string, status: CaseStatus, position: number | null, estimatedWaitSeconds: number | null } };

export type KioskCaseChangedSubscriptionVariables = Exact<{
  caseId: number;
  receipt?: string | null | undefined;
}>;


export type KioskCaseChangedSubscription = { caseChanged: { caseId: number, ticket: string, status: CaseStatus, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const KioskEnqueueCaseDocument = new TypedDocumentString(`
    mutation KioskEnqueueCase($input: CaseEnqueueInput!) {
  enqueueCase(input: $input) {
    caseId
    receipt
    ticket
    status
    position
    estimatedWaitSeconds
  }
}
    `) as unknown as TypedDocumentString<KioskEnqueueCaseMutation, KioskEnqueueCaseMutationVariables>;
export const KioskCaseChangedDocument = new TypedDocumentString(`
    subscription KioskCaseChanged($caseId: Int!, $receipt: String) {
  caseChanged(caseId: $caseId, receipt: $receipt) {
    caseId
    ticket
    status
    lastAgent
    position
    estimatedWaitSeconds
  }
}
    `) as unknown as TypedDocumentString<KioskCaseChangedSubscription, KioskCaseChangedSubscriptionVariables>;