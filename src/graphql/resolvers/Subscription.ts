// Every subscription, one entry each. Each yields the updates themselves,
// so `resolve` hands them on as they are.
import type { SubscriptionResolvers } from '../../generated/graphql.js';
import type { QueueUpdate } from '../../live/service-feed.js';
import type { CaseState } from '../../queue/live-reads.js';

export const Subscription: SubscriptionResolvers = {
  queueChanged: {
    subscribe: (_parent, args, { live }) => live.followQueue(args),
    resolve: (update: QueueUpdate) => update,
  },
  caseChanged: { subscribe: (_parent, args, { live }) => live.followCase(args), resolve: (state: CaseState) => state },
};
