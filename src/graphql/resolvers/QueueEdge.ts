import type { QueueEdgeResolvers } from '../../generated/graphql.js';

export const QueueEdge: QueueEdgeResolvers = {
  position: (edge) => edge.position(),
};
