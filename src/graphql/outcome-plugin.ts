// Tells the HTTP edge what a GraphQL request came to (src/http/request-report.ts):
// the operation's name, the root fields it selects and the first error's code.
// Never the query text, the variables or error messages, which may quote
// personal data.
import type { GraphQLResponse } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { ANONYMOUS_OPERATION } from '../http/request-report.js';
import type { GraphQLContext } from './context.js';
import { rootFieldsCache } from './root-fields.js';

/** What the outcome is told from: a part of Apollo's `willSendResponse` context. */
export interface AnsweredRequest {
  readonly contextValue: GraphQLContext;
  readonly response: GraphQLResponse;
  readonly operationName?: string | null | undefined;
  readonly operation?: OperationDefinitionNode | undefined;
  readonly document?: DocumentNode | undefined;
  readonly schema: GraphQLSchema;
}

/** Writes what the request came to into its context's outcome (when it has one: over HTTP). */
export function outcomeTeller(): (request: AnsweredRequest) => void {
  const rootFields = rootFieldsCache();
  return (request) => {
    const outcome = request.contextValue.outcome;
    if (!outcome) return;
    const operation = request.operation;
    const document = request.document;
    outcome.operation = request.operationName ?? (operation ? ANONYMOUS_OPERATION : null);
    // Set once the operation is resolved, which is after it was validated against the schema.
    outcome.fields = operation && document ? rootFields(request.schema, document, operation) : null;
    const body = request.response.body;
    const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
    const code = errors?.[0]?.extensions?.['code'];
    outcome.outcome = errors === undefined ? 'OK' : typeof code === 'string' ? code : 'ERROR';
  };
}
