// Requests the gateway does not serve over HTTP, refused with a coded 4xx
// before anything runs, rather than failing inside the executor as
// INTERNAL_SERVER_ERROR.
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';

export const PERSISTED_QUERY_NOT_SUPPORTED = 'PERSISTED_QUERY_NOT_SUPPORTED';

/**
 * Subscriptions need a connection that stays open (WebSocket); over HTTP
 * they are refused with BAD_REQUEST (400), whatever the schema declares.
 * Automatic persisted queries are off (apollo.ts): Apollo answers any
 * `persistedQuery` extension with PERSISTED_QUERY_NOT_SUPPORTED, at HTTP
 * 200 so that APQ clients fall back; made 400 here, which those clients
 * (Apollo Client's persisted-query link) treat the same way, so the refusal
 * is a 4xx like every other refused request.
 */
export function requestGuardsPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    requestDidStart: () =>
      Promise.resolve({
        didResolveOperation({ operation }) {
          if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return Promise.resolve();
          return Promise.reject(
            new GraphQLError(
              'Subscription operations are not served over HTTP: open a WebSocket to this URL (graphql-ws protocol)',
              {
                extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
              },
            ),
          );
        },
        willSendResponse({ response }) {
          if (response.body.kind === 'single') {
            const refused = response.body.singleResult.errors?.some(
              (error) => error.extensions?.['code'] === PERSISTED_QUERY_NOT_SUPPORTED,
            );
            if (refused) response.http.status = 400;
          }
          return Promise.resolve();
        },
      }),
  };
}
