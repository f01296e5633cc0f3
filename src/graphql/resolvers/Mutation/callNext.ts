import type { MutationResolvers } from '../../../generated/graphql.js';

export const callNext: NonNullable<MutationResolvers['callNext']> = (_parent, { input }, { caller }) =>
  caller.callNext(input);
