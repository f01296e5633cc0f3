// Refusals Apollo makes itself, answered with a 4xx like every other refused
// request. (Which operations a channel serves is decided with the rest of the
// admission path, in prepare-operation.ts.)
import type { GraphQLResponse } from '@apollo/server';

export const PERSISTED_QUERY_NOT_SUPPORTED = 'PERSISTED_QUERY_NOT_SUPPORTED';

/**
 * Automatic persisted queries are off (apollo.ts): Apollo answers any
 * `persistedQuery` extension with PERSISTED_QUERY_NOT_SUPPORTED, at HTTP
 * 200 so that APQ clients fall back; made 400 here, which those clients
 * (Apollo Client's persisted-query link) treat the same way, so the refusal
 * is a 4xx like every other refused request.
 */
export function refusePersistedQueries(response: GraphQLResponse): void {
  if (response.body.kind !== 'single') return;
  const refused = response.body.singleResult.errors?.some(
    (error) => error.extensions?.['code'] === PERSISTED_QUERY_NOT_SUPPORTED,
  );
  if (refused) response.http.status = 400;
}
