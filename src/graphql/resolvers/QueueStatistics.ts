import type { QueueStatisticsResolvers } from '../../generated/graphql.js';

export const QueueStatistics: QueueStatisticsResolvers = {
  estimateAccuracy: (statistics) => statistics.estimateAccuracy(),
};
