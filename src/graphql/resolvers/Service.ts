// A service's queue and statistics, read on demand.
import type { ServiceResolvers } from '../../generated/graphql.js';
import { queuePage, queueStatistics } from '../../queue/queue-reads.js';

export const Service: ServiceResolvers = {
  queue: (service, args, { db, principal }) => queuePage(db, service.id, args, principal),
  statistics: (service, args, { db, principal }) => queueStatistics(db, service.id, args, principal),
};
