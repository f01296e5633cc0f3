// Who may follow a case live (Subscription.caseChanged): agents and
// administrators within their services, and a kiosk holding the case's
// receipt, which names that one case and nothing else.
import { GatewayError } from '../queue/errors.js';
import type { Actor } from '../queue/actor.js';
import { holdsAny, type Principal } from './principal.js';
import type { Receipts } from './receipts.js';

/** The actor to follow the case as; throws FORBIDDEN when the principal may not follow it. */
export function caseFollower(
  principal: Principal,
  caseId: number,
  receipt: string | null | undefined,
  receipts: Receipts,
): Actor {
  // Agents and administrators see cases whole; their service limits still apply.
  if (holdsAny(principal, ['AGENT', 'ADMIN'])) return principal;
  if (receipt === null || receipt === undefined)
    throw new GatewayError('FORBIDDEN', {
      field: 'receipt',
      rule: 'required',
      message: "a kiosk follows a case with the case's receipt, as enqueueCase returned it",
    });
  if (!receipts.verify(caseId, receipt))
    throw new GatewayError('FORBIDDEN', {
      field: 'receipt',
      rule: 'receipt',
      message: 'is not the receipt of this case',
    });
  // The receipt is the right to this case, whichever service it is in.
  return { ...principal, services: null };
}
