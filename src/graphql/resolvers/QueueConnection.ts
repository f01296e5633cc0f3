import type { QueueConnectionResolvers } from '../../generated/graphql.js';

export const QueueConnection: QueueConnectionResolvers = {
  pageInfo: (page) => ({ hasNextPage: page.hasNextPage, endCursor: page.edges.at(-1)?.cursor ?? null }),
  totalCount: (page) => page.totalCount(),
};
