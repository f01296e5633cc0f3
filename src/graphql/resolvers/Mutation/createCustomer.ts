import type { MutationResolvers } from '../../../generated/graphql.js';
import { createCustomer as create } from '../../../queue/reference-data.js';

export const createCustomer: NonNullable<MutationResolvers['createCustomer']> = (_parent, { input }, { db }) =>
  create(db, input);
