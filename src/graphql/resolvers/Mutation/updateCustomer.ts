import type { MutationResolvers } from '../../../generated/graphql.js';
import { updateCustomer as update } from '../../../queue/reference-data.js';

export const updateCustomer: NonNullable<MutationResolvers['updateCustomer']> = (_parent, { id, input }, { db }) =>
  update(db, id, input);
