import type { MutationResolvers } from '../../../generated/graphql.js';
import { createProcedure as create } from '../../../queue/reference-data.js';

export const createProcedure: NonNullable<MutationResolvers['createProcedure']> = (_parent, { input }, { db }) =>
  create(db, input);
