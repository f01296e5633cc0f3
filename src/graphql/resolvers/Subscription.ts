// Every subscription, one entry each. Each yields the updates themselves,
// so `resolve` hands them on as they are.
import { caseFollower } from '../../auth/case-follow.js';
import type { SubscriptionResolvers } from '../../generated/graphql.js';
import type { QueueUpdate } from '../../live/service-feed.js';
import type { CaseState } from '../../queue/live-reads.js';

export const Subscription: SubscriptionResolvers = {
  queueChanged: {
    subscribe: (_parent, args, { live, principal }) => live.followQueue(args, principal),
    resolve: (update: QueueUpdate) => update,
  },
  caseChanged: {
    subscribe: (_parent, args, { live, principal, receipts }) =>
      live.followCase(args, caseFollower(principal, args.caseId, args.receipt, receipts)),
    resolve: (state: CaseState) => state,
  },
};
