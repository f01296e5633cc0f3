// Tells the HTTP edge what a GraphQL request came to (src/http/request-report.ts):
// the operation's name, the root fields it selects and the first error's code.
// Never the query text, the variables or error messages, which may quote
// personal data.
import type { ApolloServerPlugin } from '@apollo/server';
import { ANONYMOUS_OPERATION } from '../http/request-report.js';
import type { GraphQLContext } from './context.js';
import { rootFieldsCache } from './root-fields.js';

export function outcomePlugin(): ApolloServerPlugin<GraphQLContext> {
  const rootFields = rootFieldsCache();
  return {
    requestDidStart: () =>
      Promise.resolve({
        willSendResponse: ({ contextValue, operationName, operation, document, schema, response }) => {
          const outcome = contextValue.outcome;
          if (!outcome) return Promise.resolve();
          outcome.operation = operationName ?? (operation ? ANONYMOUS_OPERATION : null);
          // Set once the operation is resolved, which is after it was validated against the schema.
          outcome.fields = operation && document ? rootFields(schema, document, operation) : null;
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          const code = errors?.[0]?.extensions?.['code'];
          outcome.outcome = errors === undefined ? 'OK' : typeof code === 'string' ? code : 'ERROR';
          return Promise.resolve();
        },
      }),
  };
}
