// A service's queue and statistics, read on demand, where screens' reads go
// (a standby in a query, the primary in a mutation: context.ts).
import type { ServiceResolvers } from '../../generated/graphql.js';
import { queuePage, queueStatistics } from '../../queue/queue-reads.js';

export const Service: ServiceResolvers = {
  queue: (service, args, { reads, principal }) => queuePage(reads(), service.id, args, principal),
  statistics: (service, args, { reads, principal }) => queueStatistics(reads(), service.id, args, principal),
};
