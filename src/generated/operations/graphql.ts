/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Which services an agent calls from, and who the agent is. */
export type CallNextInput = {
  /**
   * Who acts: an agent or desk name, 1 to 100 characters, with no control or
   * invisible formatting characters and no white space at either end. With a
   * person's token the token names the agent: leave this out or send that
   * name. With an API key, or when the gateway runs open, it is required.
   */
  agent?: string | null | undefined;
  /**
   * The services to call from, by external reference (`Service.extRef`, as
   * `enqueueCase` takes it in `serviceIdExtRef`): an alternative to
   * `serviceIds`, or added to them. A reference that names no service (or one
   * outside the credential's services) is `NOT_FOUND`.
   */
  serviceExtRefs?: Array<string> | null | undefined;
  /**
   * The services to call from, by id; the oldest waiting case among them is
   * handed out. With `serviceExtRefs`, the services of both lists; 1 to 20
   * services in all, and at least one of the two lists.
   */
  serviceIds?: Array<number> | null | undefined;
};

/** A case to cancel. */
export type CancelCaseInput = {
  /**
   * Who acts: an agent or desk name, 1 to 100 characters, with no control or
   * invisible formatting characters and no white space at either end. With a
   * person's token the token names the agent: leave this out or send that
   * name. With an API key, or when the gateway runs open, it is required.
   */
  agent?: string | null | undefined;
  /** The case's id; it must be waiting or in service. */
  caseId: number;
  /** Why, 1 to 500 characters; kept in the case's history. */
  reason: string;
};

/** What was done to a case. */
export type CaseAction =
  /** Enqueued and closed at once, for statistics. */
  | 'AUTO_CLOSE'
  /** Called out of turn by `callCase`. */
  | 'CALL_CASE'
  /** Handed out by `callNext`. */
  | 'CALL_NEXT'
  /** Cancelled. */
  | 'CANCEL'
  /** Completed. */
  | 'COMPLETE'
  /** Joined the queue. */
  | 'ENQUEUE'
  /** Put back into the queue. */
  | 'RETURN_TO_QUEUE';

/** A case and the agent acting on it. */
export type CaseActionInput = {
  /**
   * Who acts: an agent or desk name, 1 to 100 characters, with no control or
   * invisible formatting characters and no white space at either end. With a
   * person's token the token names the agent: leave this out or send that
   * name. With an API key, or when the gateway runs open, it is required.
   */
  agent?: string | null | undefined;
  /** The case's id. */
  caseId: number;
};

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

/** A classification to create. */
export type CreateClassificationInput = {
  /** The code: 1 to 50 characters, unique. */
  code: string;
  /** Display name, 1 to 100 characters. */
  name: string;
  /** Limits the classification to these services, at most 100; absent or empty: every service. */
  serviceIds?: Array<number> | null | undefined;
};

/** A procedure to create. */
export type CreateProcedureInput = {
  /** External reference, 1 to 100 characters, unique among procedures. */
  extRef: string;
  /** Display name, 1 to 100 characters. */
  name: string;
  /** Its options, at most 100, external references unique within the list. */
  options?: Array<ProcedureOptionInput> | null | undefined;
};

/**
 * A new service. Lengths count Unicode characters (code points), as PostgreSQL
 * does. Text must be well-formed Unicode without NUL characters.
 */
export type CreateServiceInput = {
  /**
   * External reference: 1 to 100 characters, unique among services.
   * A service with the same `extRef` already existing is a `CONFLICT`.
   */
  extRef?: string | null | undefined;
  /** Display name: 1 to 100 characters, not only white space. */
  name: string;
  /** Ticket prefix: 1 to 10 characters, upper-case letters A-Z and digits only. */
  queueCode?: string | null | undefined;
  /** IANA time zone whose calendar day numbers tickets, e.g. `Pacific/Auckland`. Default `UTC`. */
  timeZone?: string | null | undefined;
};

/** A webhook endpoint to create. */
export type CreateWebhookEndpointInput = {
  /** The position at which `case.approaching` fires, 1 to 50; default 2. */
  approachPosition?: number | null | undefined;
  /** What the endpoint is for, 1 to 200 characters. */
  description?: string | null | undefined;
  /** The event types to send, at least one, each once. */
  events: Array<WebhookEventType>;
  /** Whether payloads carry cases' personal fields; only with `personalDataAllowed`. Default false. */
  includePersonalData?: boolean | null | undefined;
  /** Allows personal fields to be sent to this URL; default false. */
  personalDataAllowed?: boolean | null | undefined;
  /** Only events of these services, at most 100 ids of existing services; absent or empty: every service. */
  serviceIds?: Array<number> | null | undefined;
  /**
   * Where to send events: an https URL of at most 2,000 characters, without
   * user name, password or fragment, not at a private, loopback or link-local
   * IP address (plain http and such addresses only for hosts listed in
   * WEBHOOK_ALLOWED_HOSTS).
   */
  url: string;
};

/** One custom property of a case: a string key and a string value. */
export type CustomPropertyInput = {
  /** The property's name: 1 to 100 characters, unique within the case. */
  key: string;
  /** The property's value: at most 1000 characters. */
  value: string;
};

/** A customer to create, or changes to one (absent fields stay as they are). */
export type CustomerInput = {
  /** Whether new cases may name the customer. Default true. */
  active?: boolean | null | undefined;
  /** External reference, 1 to 100 characters, unique among customers. */
  extRef?: string | null | undefined;
  /** Name, 1 to 200 characters. */
  name?: string | null | undefined;
};

/** An option of a procedure. */
export type ProcedureOptionInput = {
  /** External reference, 1 to 100 characters, unique within the procedure. */
  extRef: string;
  /** Display name, 1 to 100 characters. */
  name: string;
};

/** Where `returnToQueue` puts a case. */
export type QueuePlacement =
  /** Behind every case waiting now, as if it had just arrived. */
  | 'BACK'
  /** Ahead of every case waiting now: it is called next. */
  | 'FRONT'
  /**
   * Where it first stood: by its original enqueue time and enqueue order, among
   * the cases that stand where they were enqueued, whatever returns moved it before.
   */
  | 'ORIGINAL';

/** A case to put back into the queue. */
export type ReturnToQueueInput = {
  /**
   * Who acts: an agent or desk name, 1 to 100 characters, with no control or
   * invisible formatting characters and no white space at either end. With a
   * person's token the token names the agent: leave this out or send that
   * name. With an API key, or when the gateway runs open, it is required.
   */
  agent?: string | null | undefined;
  /** The case's id; it must be in service. */
  caseId: number;
  /** Where in the queue it goes. Default BACK. */
  placement?: QueuePlacement | null | undefined;
  /** Why it goes back, 1 to 500 characters; kept in the case's history. */
  reason: string;
};

/** Changes to a classification; absent fields stay as they are. */
export type UpdateClassificationInput = {
  /** Whether new cases may carry it. */
  active?: boolean | null | undefined;
  /** Display name, 1 to 100 characters. */
  name?: string | null | undefined;
  /** Replaces the services it is limited to, at most 100; empty: every service. */
  serviceIds?: Array<number> | null | undefined;
};

/** Changes to a procedure; absent fields stay as they are. */
export type UpdateProcedureInput = {
  /** Whether new cases may name it. */
  active?: boolean | null | undefined;
  /** Display name, 1 to 100 characters. */
  name?: string | null | undefined;
};

/** Changes to a service; absent fields stay as they are. */
export type UpdateServiceInput = {
  /** False stops enqueues into the service; its waiting cases can still be served. */
  active?: boolean | null | undefined;
  /** External reference: 1 to 100 characters, unique among services; null removes it. */
  extRef?: string | null | undefined;
  /** Display name: 1 to 100 characters, not only white space. */
  name?: string | null | undefined;
  /** Ticket prefix: 1 to 10 upper-case letters A-Z and digits; null removes it. */
  queueCode?: string | null | undefined;
  /** IANA time zone, e.g. `Europe/Dublin`. */
  timeZone?: string | null | undefined;
};

/** Changes to a webhook endpoint; absent fields stay as they are. */
export type UpdateWebhookEndpointInput = {
  /** The position at which `case.approaching` fires, 1 to 50. */
  approachPosition?: number | null | undefined;
  /** A new description, 1 to 200 characters; null removes it. */
  description?: string | null | undefined;
  /** The event types to send from now on, at least one, each once. */
  events?: Array<WebhookEventType> | null | undefined;
  /** Whether payloads carry cases' personal fields; true only while `personalDataAllowed` is. */
  includePersonalData?: boolean | null | undefined;
  /** Allows personal fields to be sent to this URL; false while `includePersonalData` is true is refused. */
  personalDataAllowed?: boolean | null | undefined;
  /** The services to send events of from now on, at most 100; empty: every service. */
  serviceIds?: Array<number> | null | undefined;
  /** A new URL, under the rules of `CreateWebhookEndpointInput.url`. */
  url?: string | null | undefined;
};

/** How one attempt to deliver an event ended. */
export type WebhookAttemptOutcome =
  /**
   * The URL's host resolved to a private, loopback or link-local address and
   * is not listed in WEBHOOK_ALLOWED_HOSTS: nothing was sent; tried again later.
   */
  | 'ADDRESS_REFUSED'
  /** The receiver answered 2xx: delivered. */
  | 'DELIVERED'
  /** The receiver answered with another status (`responseStatus`); tried again later. */
  | 'HTTP_ERROR'
  /** The connection failed (DNS, refused, reset, TLS); tried again later. */
  | 'NETWORK_ERROR'
  /** The receiver answered with a redirect, which is never followed; tried again later. */
  | 'REDIRECT_REFUSED'
  /** No status line within WEBHOOK_TIMEOUT_MS; tried again later. (A 2xx whose body stalls past it counts as delivered.) */
  | 'TIMEOUT';

/** Whether an endpoint is sent its events. */
export type WebhookEndpointStatus =
  /** Stopped by an administrator: queued deliveries wait, new events are not queued for it. */
  | 'DISABLED'
  /** Deliveries are sent. */
  | 'ENABLED'
  /**
   * A delivery kept failing for WEBHOOK_FAIL_AFTER_MS, or the endpoint answered
   * 410 Gone: deliveries are paused and new events are still queued, until
   * `enableWebhookEndpoint`.
   */
  | 'FAILING';

/** What a webhook event says happened. Each value's description gives the `type` its payloads carry. */
export type WebhookEventType =
  /**
   * `case.approaching`: a waiting case reached the endpoint's `approachPosition`
   * (or nearer) for the first time; at most once per case. Not sent when the
   * case changed again (was called, say) before the event was routed, since it
   * would arrive after that change.
   */
  | 'CASE_APPROACHING'
  /** `case.called`: a case was handed to an agent (call next, or called out of turn). */
  | 'CASE_CALLED'
  /** `case.cancelled`: a waiting case or one in service was cancelled. */
  | 'CASE_CANCELLED'
  /** `case.completed`: a case was served and closed. */
  | 'CASE_COMPLETED'
  /** `case.enqueued`: a case joined a queue (an auto-closed one is also `case.completed`). */
  | 'CASE_ENQUEUED'
  /** `case.returned`: a case in service was put back into its queue. */
  | 'CASE_RETURNED'
  /** `service.updated`: a service's name, references, time zone or whether it is active changed. */
  | 'SERVICE_UPDATED';

export type CaseDetailFragment = { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> };

export type EnqueueCaseMutationVariables = Exact<{
  input: CaseEnqueueInput;
}>;


export type EnqueueCaseMutation = { enqueueCase: { caseId: number, serviceId: number, serviceIdExtRef: string | null, customerId: number | null, extRef: string | null, notes: string | null, subject: string | null, classificationCode: string | null, autoClose: boolean, procedureExtRef: string | null, procedureOptionExtRef: string | null, status: CaseStatus, ticket: string, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, closedAt: string | null, customProperties: Array<{ key: string, value: string }>, estimatedWaitRange: { low: number, high: number } | null } };

export type CaseQueryVariables = Exact<{
  id: number;
}>;


export type CaseQuery = { case: { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> } | null };

export type CallNextMutationVariables = Exact<{
  input: CallNextInput;
}>;


export type CallNextMutation = { callNext: { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> } | null };

export type CallCaseMutationVariables = Exact<{
  input: CaseActionInput;
}>;


export type CallCaseMutation = { callCase: { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> } };

export type CompleteCaseMutationVariables = Exact<{
  input: CaseActionInput;
}>;


export type CompleteCaseMutation = { completeCase: { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> } };

export type ReturnToQueueMutationVariables = Exact<{
  input: ReturnToQueueInput;
}>;


export type ReturnToQueueMutation = { returnToQueue: { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> } };

export type CancelCaseMutationVariables = Exact<{
  input: CancelCaseInput;
}>;


export type CancelCaseMutation = { cancelCase: { id: number, ticket: string, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, enqueuedAt: string, queuedAt: string, calledAt: string | null, closedAt: string | null, updatedAt: string, subject: string | null, notes: string | null, extRef: string | null, classificationCode: string | null, procedureExtRef: string | null, procedureOptionExtRef: string | null, autoClose: boolean, service: { id: number, name: string }, customer: { id: number, name: string | null } | null, estimatedWaitRange: { low: number, high: number } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction, at: string, agent: string | null, reason: string | null, fromStatus: CaseStatus | null, toStatus: CaseStatus }> } };

export type QueueUpdatePartsFragment = { serviceId: number, changesOmitted: number, waitingCount: number, at: string, changes: Array<{ caseId: number, ticket: string, action: CaseAction, status: CaseStatus, agent: string | null, at: string }>, waiting: Array<{ caseId: number, ticket: string, position: number, estimatedWaitSeconds: number | null, queuedAt: string, estimatedWaitRange: { low: number, high: number } | null }>, inService: Array<{ caseId: number, ticket: string, agent: string | null, calledAt: string }> };

export type FollowQueueSubscriptionVariables = Exact<{
  serviceId: number;
  first?: number | null | undefined;
}>;


export type FollowQueueSubscription = { queueChanged: { serviceId: number, changesOmitted: number, waitingCount: number, at: string, changes: Array<{ caseId: number, ticket: string, action: CaseAction, status: CaseStatus, agent: string | null, at: string }>, waiting: Array<{ caseId: number, ticket: string, position: number, estimatedWaitSeconds: number | null, queuedAt: string, estimatedWaitRange: { low: number, high: number } | null }>, inService: Array<{ caseId: number, ticket: string, agent: string | null, calledAt: string }> } };

export type CaseUpdatePartsFragment = { caseId: number, ticket: string, serviceId: number, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, calledAt: string | null, closedAt: string | null, at: string, estimatedWaitRange: { low: number, high: number } | null };

export type FollowCaseSubscriptionVariables = Exact<{
  caseId: number;
}>;


export type FollowCaseSubscription = { caseChanged: { caseId: number, ticket: string, serviceId: number, status: CaseStatus, lastAction: CaseAction, lastAgent: string | null, position: number | null, estimatedWaitSeconds: number | null, calledAt: string | null, closedAt: string | null, at: string, estimatedWaitRange: { low: number, high: number } | null } };

export type CreateCustomerMutationVariables = Exact<{
  input: CustomerInput;
}>;


export type CreateCustomerMutation = { createCustomer: { id: number, name: string | null, extRef: string | null, active: boolean } };

export type UpdateCustomerMutationVariables = Exact<{
  id: number;
  input: CustomerInput;
}>;


export type UpdateCustomerMutation = { updateCustomer: { id: number, name: string | null, extRef: string | null, active: boolean } };

export type CustomerQueryVariables = Exact<{
  id: number;
}>;


export type CustomerQuery = { customer: { id: number, name: string | null, extRef: string | null, active: boolean } | null };

export type CreateClassificationMutationVariables = Exact<{
  input: CreateClassificationInput;
}>;


export type CreateClassificationMutation = { createClassification: { code: string, name: string, active: boolean, services: Array<{ id: number }> } };

export type UpdateClassificationMutationVariables = Exact<{
  code: string;
  input: UpdateClassificationInput;
}>;


export type UpdateClassificationMutation = { updateClassification: { code: string, name: string, active: boolean, services: Array<{ id: number }> } };

export type ClassificationsQueryVariables = Exact<{
  first?: number | null | undefined;
  afterCode?: string | null | undefined;
}>;


export type ClassificationsQuery = { classifications: Array<{ code: string, name: string, active: boolean, services: Array<{ id: number }> }> };

export type CreateProcedureMutationVariables = Exact<{
  input: CreateProcedureInput;
}>;


export type CreateProcedureMutation = { createProcedure: { extRef: string, name: string, active: boolean, options: Array<{ extRef: string, name: string, active: boolean }> } };

export type UpdateProcedureMutationVariables = Exact<{
  extRef: string;
  input: UpdateProcedureInput;
}>;


export type UpdateProcedureMutation = { updateProcedure: { extRef: string, name: string, active: boolean } };

export type AddProcedureOptionMutationVariables = Exact<{
  procedureExtRef: string;
  input: ProcedureOptionInput;
}>;


export type AddProcedureOptionMutation = { addProcedureOption: { extRef: string, options: Array<{ extRef: string, name: string }> } };

export type ProceduresQueryVariables = Exact<{
  first?: number | null | undefined;
  afterExtRef?: string | null | undefined;
}>;


export type ProceduresQuery = { procedures: Array<{ extRef: string, name: string, active: boolean, options: Array<{ extRef: string, name: string, active: boolean }> }> };

export type ServiceFieldsFragment = { id: number, name: string, extRef: string | null, queueCode: string | null, active: boolean, timeZone: string, createdAt: string };

export type CreateServiceMutationVariables = Exact<{
  input: CreateServiceInput;
}>;


export type CreateServiceMutation = { createService: { id: number, name: string, extRef: string | null, queueCode: string | null, active: boolean, timeZone: string, createdAt: string } };

export type UpdateServiceMutationVariables = Exact<{
  id: number;
  input: UpdateServiceInput;
}>;


export type UpdateServiceMutation = { updateService: { id: number, name: string, extRef: string | null, queueCode: string | null, active: boolean, timeZone: string, createdAt: string } };

export type ServiceQueryVariables = Exact<{
  id: number;
}>;


export type ServiceQuery = { service: { id: number, name: string, extRef: string | null, queueCode: string | null, active: boolean, timeZone: string, createdAt: string } | null };

export type ServicesQueryVariables = Exact<{
  first?: number | null | undefined;
  afterId?: number | null | undefined;
}>;


export type ServicesQuery = { services: Array<{ id: number, name: string, extRef: string | null, queueCode: string | null, active: boolean, timeZone: string, createdAt: string }> };

export type QueueQueryVariables = Exact<{
  serviceId: number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type QueueQuery = { service: { id: number, queue: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, position: number, node: { id: number, ticket: string, status: CaseStatus, queuedAt: string } }> } } | null };

export type QueueStatisticsQueryVariables = Exact<{
  serviceId: number;
  windowMinutes?: number | null | undefined;
}>;


export type QueueStatisticsQuery = { service: { id: number, statistics: { waitingCount: number, inServiceCount: number, longestWaitSeconds: number | null, averageWaitSeconds: number | null, servedInWindow: number, enqueuedToday: number, closedToday: number, autoClosedToday: number, windowMinutes: number, estimateAccuracy: { estimatesRealised: number, meanAbsoluteErrorSeconds: number | null, withinRangeShare: number | null } } } | null };

export type QueueScreenQueryVariables = Exact<{
  serviceId: number;
  first: number;
}>;


export type QueueScreenQuery = { service: { queue: { edges: Array<{ position: number, node: { ticket: string, position: number | null, estimatedWaitSeconds: number | null, estimatedWaitRange: { low: number, high: number } | null, service: { name: string }, customer: { name: string | null } | null, customProperties: Array<{ key: string, value: string }>, history: Array<{ action: CaseAction }> } }> } } | null };

export type WebhookEndpointFieldsFragment = { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string };

export type CreateWebhookEndpointMutationVariables = Exact<{
  input: CreateWebhookEndpointInput;
}>;


export type CreateWebhookEndpointMutation = { createWebhookEndpoint: { secret: string, endpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } } };

export type UpdateWebhookEndpointMutationVariables = Exact<{
  id: number;
  input: UpdateWebhookEndpointInput;
}>;


export type UpdateWebhookEndpointMutation = { updateWebhookEndpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } };

export type RotateWebhookSecretMutationVariables = Exact<{
  id: number;
}>;


export type RotateWebhookSecretMutation = { rotateWebhookSecret: { secret: string, endpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } } };

export type DisableWebhookEndpointMutationVariables = Exact<{
  id: number;
}>;


export type DisableWebhookEndpointMutation = { disableWebhookEndpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } };

export type EnableWebhookEndpointMutationVariables = Exact<{
  id: number;
}>;


export type EnableWebhookEndpointMutation = { enableWebhookEndpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } };

export type DeleteWebhookEndpointMutationVariables = Exact<{
  id: number;
}>;


export type DeleteWebhookEndpointMutation = { deleteWebhookEndpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } };

export type ReplayWebhookEventsMutationVariables = Exact<{
  endpointId: number;
  since: string;
}>;


export type ReplayWebhookEventsMutation = { replayWebhookEvents: { queued: number, endpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } } };

export type WebhookEndpointsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: number | null | undefined;
}>;


export type WebhookEndpointsQuery = { webhookEndpoints: Array<{ id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string }> };

export type WebhookEndpointQueryVariables = Exact<{
  id: number;
}>;


export type WebhookEndpointQuery = { webhookEndpoint: { id: number, url: string, description: string | null, events: Array<WebhookEventType>, serviceIds: Array<number> | null, approachPosition: number, includePersonalData: boolean, personalDataAllowed: boolean, status: WebhookEndpointStatus, failingSince: string | null, secretRotatedAt: string | null, previousSecretExpiresAt: string | null, createdAt: string, createdBy: string, updatedAt: string } | null };

export type WebhookDeliveriesQueryVariables = Exact<{
  endpointId: number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type WebhookDeliveriesQuery = { webhookDeliveries: Array<{ id: string, eventId: string, eventType: WebhookEventType, serviceId: number, caseId: number | null, attempt: number, at: string, outcome: WebhookAttemptOutcome, responseStatus: number | null, latencyMs: number, replay: boolean, nextAttemptAt: string | null }> };

export const CaseDetailFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<CaseDetailFragment, unknown>;
export const QueueUpdatePartsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"QueueUpdateParts"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QueueUpdate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"changes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}},{"kind":"Field","name":{"kind":"Name","value":"changesOmitted"}},{"kind":"Field","name":{"kind":"Name","value":"waitingCount"}},{"kind":"Field","name":{"kind":"Name","value":"waiting"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"inService"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]} as unknown as DocumentNode<QueueUpdatePartsFragment, unknown>;
export const CaseUpdatePartsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseUpdateParts"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CaseUpdate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]} as unknown as DocumentNode<CaseUpdatePartsFragment, unknown>;
export const ServiceFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ServiceFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Service"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<ServiceFieldsFragment, unknown>;
export const WebhookEndpointFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<WebhookEndpointFieldsFragment, unknown>;
export const EnqueueCaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"EnqueueCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CaseEnqueueInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enqueueCase"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIdExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"customerId"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}}]}}]}}]} as unknown as DocumentNode<EnqueueCaseMutation, EnqueueCaseMutationVariables>;
export const CaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Case"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"case"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<CaseQuery, CaseQueryVariables>;
export const CallNextDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CallNext"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CallNextInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"callNext"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<CallNextMutation, CallNextMutationVariables>;
export const CallCaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CallCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CaseActionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"callCase"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<CallCaseMutation, CallCaseMutationVariables>;
export const CompleteCaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CompleteCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CaseActionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"completeCase"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<CompleteCaseMutation, CompleteCaseMutationVariables>;
export const ReturnToQueueDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ReturnToQueue"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ReturnToQueueInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"returnToQueue"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<ReturnToQueueMutation, ReturnToQueueMutationVariables>;
export const CancelCaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CancelCaseInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelCase"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseDetail"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseDetail"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Case"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"fromStatus"}},{"kind":"Field","name":{"kind":"Name","value":"toStatus"}}]}}]}}]} as unknown as DocumentNode<CancelCaseMutation, CancelCaseMutationVariables>;
export const FollowQueueDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"FollowQueue"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"queueChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"serviceId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"QueueUpdateParts"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"QueueUpdateParts"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"QueueUpdate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"changes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}},{"kind":"Field","name":{"kind":"Name","value":"changesOmitted"}},{"kind":"Field","name":{"kind":"Name","value":"waitingCount"}},{"kind":"Field","name":{"kind":"Name","value":"waiting"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"inService"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"agent"}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]} as unknown as DocumentNode<FollowQueueSubscription, FollowQueueSubscriptionVariables>;
export const FollowCaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"FollowCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"caseId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"caseId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"caseId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CaseUpdateParts"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CaseUpdateParts"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CaseUpdate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"lastAction"}},{"kind":"Field","name":{"kind":"Name","value":"lastAgent"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"calledAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}}]} as unknown as DocumentNode<FollowCaseSubscription, FollowCaseSubscriptionVariables>;
export const CreateCustomerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateCustomer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CustomerInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createCustomer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]} as unknown as DocumentNode<CreateCustomerMutation, CreateCustomerMutationVariables>;
export const UpdateCustomerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateCustomer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CustomerInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateCustomer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]} as unknown as DocumentNode<UpdateCustomerMutation, UpdateCustomerMutationVariables>;
export const CustomerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Customer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]} as unknown as DocumentNode<CustomerQuery, CustomerQueryVariables>;
export const CreateClassificationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateClassification"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateClassificationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createClassification"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<CreateClassificationMutation, CreateClassificationMutationVariables>;
export const UpdateClassificationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateClassification"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"code"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateClassificationInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateClassification"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"code"},"value":{"kind":"Variable","name":{"kind":"Name","value":"code"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<UpdateClassificationMutation, UpdateClassificationMutationVariables>;
export const ClassificationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Classifications"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"afterCode"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"classifications"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"afterCode"},"value":{"kind":"Variable","name":{"kind":"Name","value":"afterCode"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<ClassificationsQuery, ClassificationsQueryVariables>;
export const CreateProcedureDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateProcedure"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateProcedureInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createProcedure"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]}}]} as unknown as DocumentNode<CreateProcedureMutation, CreateProcedureMutationVariables>;
export const UpdateProcedureDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateProcedure"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"extRef"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateProcedureInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateProcedure"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"extRef"},"value":{"kind":"Variable","name":{"kind":"Name","value":"extRef"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]} as unknown as DocumentNode<UpdateProcedureMutation, UpdateProcedureMutationVariables>;
export const AddProcedureOptionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AddProcedureOption"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"procedureExtRef"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ProcedureOptionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"addProcedureOption"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"procedureExtRef"},"value":{"kind":"Variable","name":{"kind":"Name","value":"procedureExtRef"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]} as unknown as DocumentNode<AddProcedureOptionMutation, AddProcedureOptionMutationVariables>;
export const ProceduresDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Procedures"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"afterExtRef"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"procedures"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"afterExtRef"},"value":{"kind":"Variable","name":{"kind":"Name","value":"afterExtRef"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]}}]} as unknown as DocumentNode<ProceduresQuery, ProceduresQueryVariables>;
export const CreateServiceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateService"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateServiceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createService"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ServiceFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ServiceFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Service"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<CreateServiceMutation, CreateServiceMutationVariables>;
export const UpdateServiceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateService"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateServiceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateService"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ServiceFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ServiceFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Service"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<UpdateServiceMutation, UpdateServiceMutationVariables>;
export const ServiceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Service"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"service"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ServiceFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ServiceFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Service"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<ServiceQuery, ServiceQueryVariables>;
export const ServicesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Services"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"afterId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"services"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"afterId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"afterId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ServiceFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ServiceFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Service"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]} as unknown as DocumentNode<ServicesQuery, ServicesQueryVariables>;
export const QueueDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Queue"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"service"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"queue"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"queuedAt"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<QueueQuery, QueueQueryVariables>;
export const QueueStatisticsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"QueueStatistics"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"windowMinutes"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"service"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"statistics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"windowMinutes"},"value":{"kind":"Variable","name":{"kind":"Name","value":"windowMinutes"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"waitingCount"}},{"kind":"Field","name":{"kind":"Name","value":"inServiceCount"}},{"kind":"Field","name":{"kind":"Name","value":"longestWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"averageWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"servedInWindow"}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedToday"}},{"kind":"Field","name":{"kind":"Name","value":"closedToday"}},{"kind":"Field","name":{"kind":"Name","value":"autoClosedToday"}},{"kind":"Field","name":{"kind":"Name","value":"estimateAccuracy"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"estimatesRealised"}},{"kind":"Field","name":{"kind":"Name","value":"meanAbsoluteErrorSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"withinRangeShare"}}]}},{"kind":"Field","name":{"kind":"Name","value":"windowMinutes"}}]}}]}}]}}]} as unknown as DocumentNode<QueueStatisticsQuery, QueueStatisticsQueryVariables>;
export const QueueScreenDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"QueueScreen"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"service"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"serviceId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"queue"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ticket"}},{"kind":"Field","name":{"kind":"Name","value":"position"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"estimatedWaitRange"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"high"}}]}},{"kind":"Field","name":{"kind":"Name","value":"service"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"history"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"}}]}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<QueueScreenQuery, QueueScreenQueryVariables>;
export const CreateWebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateWebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateWebhookEndpointInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createWebhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<CreateWebhookEndpointMutation, CreateWebhookEndpointMutationVariables>;
export const UpdateWebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateWebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateWebhookEndpointInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateWebhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<UpdateWebhookEndpointMutation, UpdateWebhookEndpointMutationVariables>;
export const RotateWebhookSecretDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RotateWebhookSecret"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"rotateWebhookSecret"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<RotateWebhookSecretMutation, RotateWebhookSecretMutationVariables>;
export const DisableWebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DisableWebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"disableWebhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<DisableWebhookEndpointMutation, DisableWebhookEndpointMutationVariables>;
export const EnableWebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"EnableWebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enableWebhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<EnableWebhookEndpointMutation, EnableWebhookEndpointMutationVariables>;
export const DeleteWebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteWebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteWebhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<DeleteWebhookEndpointMutation, DeleteWebhookEndpointMutationVariables>;
export const ReplayWebhookEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ReplayWebhookEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"endpointId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"since"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayWebhookEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"endpointId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"endpointId"}}},{"kind":"Argument","name":{"kind":"Name","value":"since"},"value":{"kind":"Variable","name":{"kind":"Name","value":"since"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"queued"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<ReplayWebhookEventsMutation, ReplayWebhookEventsMutationVariables>;
export const WebhookEndpointsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WebhookEndpoints"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"webhookEndpoints"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<WebhookEndpointsQuery, WebhookEndpointsQueryVariables>;
export const WebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"webhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"WebhookEndpointFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"WebhookEndpointFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEndpoint"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIds"}},{"kind":"Field","name":{"kind":"Name","value":"approachPosition"}},{"kind":"Field","name":{"kind":"Name","value":"includePersonalData"}},{"kind":"Field","name":{"kind":"Name","value":"personalDataAllowed"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"failingSince"}},{"kind":"Field","name":{"kind":"Name","value":"secretRotatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"previousSecretExpiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"createdBy"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]} as unknown as DocumentNode<WebhookEndpointQuery, WebhookEndpointQueryVariables>;
export const WebhookDeliveriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WebhookDeliveries"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"endpointId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"webhookDeliveries"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"endpointId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"endpointId"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"eventId"}},{"kind":"Field","name":{"kind":"Name","value":"eventType"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}},{"kind":"Field","name":{"kind":"Name","value":"responseStatus"}},{"kind":"Field","name":{"kind":"Name","value":"latencyMs"}},{"kind":"Field","name":{"kind":"Name","value":"replay"}},{"kind":"Field","name":{"kind":"Name","value":"nextAttemptAt"}}]}}]}}]} as unknown as DocumentNode<WebhookDeliveriesQuery, WebhookDeliveriesQueryVariables>;