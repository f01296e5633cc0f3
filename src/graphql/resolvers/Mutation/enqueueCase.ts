import type { MutationResolvers } from '../../../generated/graphql.js';

export const enqueueCase: NonNullable<MutationResolvers['enqueueCase']> = (_parent, { input }, { enqueuer }) =>
  enqueuer.enqueue(input);
