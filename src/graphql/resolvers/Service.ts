// A service's queue and statistics, read on demand.
import type { ServiceResolvers } from '../../generated/graphql.js';
import { queuePage, queueStatistics } from '../../queue/queue-reads.js';

export const Service: ServiceResolvers = {
  queue: (service, args, { db }) => queuePage(db, service.id, args),
  statistics: (service, args, { db }) => queueStatistics(db, service.id, args),
};
