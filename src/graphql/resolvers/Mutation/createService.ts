import type { MutationResolvers } from '../../../generated/graphql.js';
import { createService as create } from '../../../queue/services.js';

export const createService: NonNullable<MutationResolvers['createService']> = (_parent, { input }, { db }) =>
  create(db, input);
