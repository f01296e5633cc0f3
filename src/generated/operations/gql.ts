/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation EnqueueCase($input: CaseEnqueueInput!) {\n  enqueueCase(input: $input) {\n    caseId\n    serviceId\n    serviceIdExtRef\n    customerId\n    extRef\n    notes\n    subject\n    classificationCode\n    autoClose\n    customProperties {\n      key\n      value\n    }\n    procedureExtRef\n    procedureOptionExtRef\n    status\n    enqueuedAt\n    closedAt\n  }\n}": typeof types.EnqueueCaseDocument,
    "mutation CreateService($input: CreateServiceInput!) {\n  createService(input: $input) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Service($id: Int!) {\n  service(id: $id) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Services {\n  services {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}": typeof types.CreateServiceDocument,
};
const documents: Documents = {
    "mutation EnqueueCase($input: CaseEnqueueInput!) {\n  enqueueCase(input: $input) {\n    caseId\n    serviceId\n    serviceIdExtRef\n    customerId\n    extRef\n    notes\n    subject\n    classificationCode\n    autoClose\n    customProperties {\n      key\n      value\n    }\n    procedureExtRef\n    procedureOptionExtRef\n    status\n    enqueuedAt\n    closedAt\n  }\n}": types.EnqueueCaseDocument,
    "mutation CreateService($input: CreateServiceInput!) {\n  createService(input: $input) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Service($id: Int!) {\n  service(id: $id) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Services {\n  services {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}": types.CreateServiceDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation EnqueueCase($input: CaseEnqueueInput!) {\n  enqueueCase(input: $input) {\n    caseId\n    serviceId\n    serviceIdExtRef\n    customerId\n    extRef\n    notes\n    subject\n    classificationCode\n    autoClose\n    customProperties {\n      key\n      value\n    }\n    procedureExtRef\n    procedureOptionExtRef\n    status\n    enqueuedAt\n    closedAt\n  }\n}"): (typeof documents)["mutation EnqueueCase($input: CaseEnqueueInput!) {\n  enqueueCase(input: $input) {\n    caseId\n    serviceId\n    serviceIdExtRef\n    customerId\n    extRef\n    notes\n    subject\n    classificationCode\n    autoClose\n    customProperties {\n      key\n      value\n    }\n    procedureExtRef\n    procedureOptionExtRef\n    status\n    enqueuedAt\n    closedAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateService($input: CreateServiceInput!) {\n  createService(input: $input) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Service($id: Int!) {\n  service(id: $id) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Services {\n  services {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}"): (typeof documents)["mutation CreateService($input: CreateServiceInput!) {\n  createService(input: $input) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Service($id: Int!) {\n  service(id: $id) {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}\n\nquery Services {\n  services {\n    id\n    name\n    extRef\n    queueCode\n    createdAt\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;