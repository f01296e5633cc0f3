import type { MutationResolvers } from '../../../generated/graphql.js';
import { cancelCase as cancel } from '../../../queue/transitions.js';

export const cancelCase: NonNullable<MutationResolvers['cancelCase']> = (_parent, { input }, { db }) =>
  cancel(db, input);
