// The HTTP status of a GraphQL answer with errors, for clients, proxies and
// load balancers that read the status and not the body: DATABASE_UNAVAILABLE
// is 503 with Retry-After ("try again later"), FORBIDDEN 403 ("not with this
// credential"), as the HTTP edge already answers its own refusals (@auth, REST).
import type { GraphQLResponse } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, type GatewayErrorCode } from '../queue/error-codes.js';

const FORBIDDEN: GatewayErrorCode = 'FORBIDDEN';

/**
 * The codes that decide the status, first match wins. An outage comes first:
 * a retry is worth it, and the retried request tells the rest.
 */
const STATUS_OF_CODE: readonly (readonly [code: string, status: number])[] = [
  [DATABASE_UNAVAILABLE, 503],
  [FORBIDDEN, 403],
];

const codeOf = (error: GraphQLFormattedError): unknown => error.extensions?.['code'];

/** Whether any root field carries a value: then some work was done and shown, and the response is kept at 200. */
function anyResult(data: Record<string, unknown> | null | undefined): boolean {
  return Object.values(data ?? {}).some((value) => value !== null && value !== undefined);
}

/**
 * Any DATABASE_UNAVAILABLE error adds `Retry-After`. The status becomes 503
 * or 403 only when no root field has a value: a partial result (say one
 * mutation done, another refused) stays 200 with its per-field errors, so a
 * client or proxy that acts on the status never repeats or drops work whose
 * result it was shown.
 */
export function markErrorStatus(response: GraphQLResponse): void {
  if (response.body.kind !== 'single') return;
  const { errors, data } = response.body.singleResult;
  if (!errors?.length) return;
  const codes = new Set(errors.map(codeOf));
  if (codes.has(DATABASE_UNAVAILABLE)) response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
  if (anyResult(data)) return;
  const status = STATUS_OF_CODE.find(([code]) => codes.has(code))?.[1];
  if (status !== undefined) response.http.status = status;
}
