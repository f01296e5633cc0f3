// Tells the HTTP edge what a GraphQL request came to (src/http/request-report.ts):
// the operation's name and the first error's code. Never the query text, the
// variables or error messages, which may quote personal data.
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context.js';

export function outcomePlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart: () =>
      Promise.resolve({
        willSendResponse: ({ contextValue, operationName, operation, response }) => {
          const outcome = contextValue.outcome;
          if (!outcome) return Promise.resolve();
          outcome.operation = operationName ?? (operation ? 'anonymous' : null);
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          const code = errors?.[0]?.extensions?.['code'];
          outcome.outcome = errors === undefined ? 'OK' : typeof code === 'string' ? code : 'ERROR';
          return Promise.resolve();
        },
      }),
  };
}
