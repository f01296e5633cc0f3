import type { MutationResolvers } from '../../../generated/graphql.js';
import { completeCase as complete } from '../../../queue/transitions.js';

export const completeCase: NonNullable<MutationResolvers['completeCase']> = (_parent, { input }, { db }) =>
  complete(db, input);
