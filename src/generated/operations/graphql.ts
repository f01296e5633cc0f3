/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
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
   * `CLOSED` and never waits in the queue. Default false.
   */
  autoClose?: boolean | null | undefined;
  /** Classification code, at most 50 characters. */
  classificationCode?: string | null | undefined;
  /**
   * Custom properties of this case's process: at most 50 pairs, keys of 1 to
   * 100 characters and unique within the list, values of at most 1000 characters.
   */
  customProperties?: Array<CustomPropertyInput> | null | undefined;
  /** Existing Customer ID (optional). Must name an existing customer. */
  customerId?: number | null | undefined;
  /**
   * External reference, at most 200 characters. Sometimes used for a mobile
   * number when no customer record is attached.
   */
  extRef?: string | null | undefined;
  /** Case notes, at most 4000 characters. */
  notes?: string | null | undefined;
  /** A procedure, by external reference; at most 100 characters. */
  procedureExtRef?: string | null | undefined;
  /**
   * An option of the procedure, by external reference; at most 100 characters.
   * Requires `procedureExtRef`.
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

/** Where a case stands. */
export type CaseStatus =
  /** Closed; enqueued with `autoClose: true`, it never waited. */
  | 'CLOSED'
  /** In its service's queue, waiting to be called. */
  | 'WAITING';

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
};

/** One custom property of a case: a string key and a string value. */
export type CustomPropertyInput = {
  /** The property's name: 1 to 100 characters, unique within the case. */
  key: string;
  /** The property's value: at most 1000 characters. */
  value: string;
};

export type EnqueueCaseMutationVariables = Exact<{
  input: CaseEnqueueInput;
}>;


export type EnqueueCaseMutation = { enqueueCase: { caseId: number, serviceId: number, serviceIdExtRef: string | null, customerId: number | null, extRef: string | null, notes: string | null, subject: string | null, classificationCode: string | null, autoClose: boolean, procedureExtRef: string | null, procedureOptionExtRef: string | null, status: CaseStatus, enqueuedAt: string, closedAt: string | null, customProperties: Array<{ key: string, value: string }> } };

export type CreateServiceMutationVariables = Exact<{
  input: CreateServiceInput;
}>;


export type CreateServiceMutation = { createService: { id: number, name: string, extRef: string | null, queueCode: string | null, createdAt: string } };

export type ServiceQueryVariables = Exact<{
  id: number;
}>;


export type ServiceQuery = { service: { id: number, name: string, extRef: string | null, queueCode: string | null, createdAt: string } | null };

export type ServicesQueryVariables = Exact<{ [key: string]: never; }>;


export type ServicesQuery = { services: Array<{ id: number, name: string, extRef: string | null, queueCode: string | null, createdAt: string }> };


export const EnqueueCaseDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"EnqueueCase"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CaseEnqueueInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enqueueCase"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"caseId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceId"}},{"kind":"Field","name":{"kind":"Name","value":"serviceIdExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"customerId"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"notes"}},{"kind":"Field","name":{"kind":"Name","value":"subject"}},{"kind":"Field","name":{"kind":"Name","value":"classificationCode"}},{"kind":"Field","name":{"kind":"Name","value":"autoClose"}},{"kind":"Field","name":{"kind":"Name","value":"customProperties"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"procedureExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"procedureOptionExtRef"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"enqueuedAt"}},{"kind":"Field","name":{"kind":"Name","value":"closedAt"}}]}}]}}]} as unknown as DocumentNode<EnqueueCaseMutation, EnqueueCaseMutationVariables>;
export const CreateServiceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateService"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateServiceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createService"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<CreateServiceMutation, CreateServiceMutationVariables>;
export const ServiceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Service"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"service"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<ServiceQuery, ServiceQueryVariables>;
export const ServicesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"services"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"extRef"}},{"kind":"Field","name":{"kind":"Name","value":"queueCode"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<ServicesQuery, ServicesQueryVariables>;