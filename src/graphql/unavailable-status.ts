// The HTTP side of DATABASE_UNAVAILABLE: 503 and Retry-After, so clients,
// proxies and load balancers see "try again later" without reading the body.
import type { GraphQLResponse } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS } from './errors.js';

const unavailable = (error: GraphQLFormattedError): boolean => error.extensions?.['code'] === DATABASE_UNAVAILABLE;

/** Whether any root field carries a value: then some work was done and shown, and the response is kept at 200. */
function anyResult(data: Record<string, unknown> | null | undefined): boolean {
  return Object.values(data ?? {}).some((value) => value !== null && value !== undefined);
}

/**
 * Any DATABASE_UNAVAILABLE error adds `Retry-After`. The status becomes 503
 * only when no root field has a value: a partial result (say one mutation
 * done, another failed) stays 200 with its per-field errors, so a client or
 * proxy that retries on 503 never repeats work whose result it was shown.
 */
export function markUnavailable(response: GraphQLResponse): void {
  if (response.body.kind !== 'single') return;
  const { errors, data } = response.body.singleResult;
  if (errors?.some(unavailable)) {
    response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
    if (!anyResult(data)) response.http.status = 503;
  }
}
