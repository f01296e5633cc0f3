// A KIOSK reads a case over REST as it follows one over GraphQL: with the
// case's receipt, checked by the very rule of `caseChanged`
// (src/auth/case-follow.ts). The receipt travels in a header, not the URL,
// so it stays out of access logs, proxies' caches and browser history.
import type { IncomingMessage } from 'node:http';
import { caseFollower } from '../auth/case-follow.js';
import type { Principal } from '../auth/principal.js';
import type { Receipts } from '../auth/receipts.js';
import type { Actor } from '../queue/actor.js';
import { GatewayError } from '../queue/errors.js';
import { RestError } from './rest-errors.js';

/** The header that carries the receipt `POST /api/Cases` answered (`Receipt`). */
export const RECEIPT_HEADER = 'X-Case-Receipt';

/**
 * One answer for a missing, malformed, wrong or another case's receipt: it is
 * decided without reading anything, so it is the same whether the case
 * exists or not, and the client has one thing to do either way.
 */
const refusal = (): RestError =>
  new RestError(403, 'FORBIDDEN', `${RECEIPT_HEADER}: must be the receipt POST /api/Cases answered for this case`, [
    {
      field: RECEIPT_HEADER,
      rule: 'receipt',
      message: 'must be the receipt POST /api/Cases answered for this case',
    },
  ]);

/** The header's value; sent twice, its values joined as Node joins them (and so refused). */
function receiptOf(request: IncomingMessage): string | undefined {
  const value = request.headers[RECEIPT_HEADER.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The actor to read case `caseId` as, on the strength of its receipt; throws the 403 when the request does not hold it. */
export function receiptHolder(
  principal: Principal,
  caseId: number,
  request: IncomingMessage,
  receipts: Receipts,
): Actor {
  try {
    return caseFollower(principal, caseId, receiptOf(request), receipts);
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'FORBIDDEN') throw refusal();
    throw error;
  }
}
