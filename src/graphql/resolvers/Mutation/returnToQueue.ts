import type { MutationResolvers } from '../../../generated/graphql.js';
import { returnToQueue as requeue } from '../../../queue/transitions.js';

export const returnToQueue: NonNullable<MutationResolvers['returnToQueue']> = (_parent, { input }, { db }) =>
  requeue(db, input);
