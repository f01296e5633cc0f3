import type { MutationResolvers } from '../../../generated/graphql.js';
import { updateService as update } from '../../../queue/services.js';

export const updateService: NonNullable<MutationResolvers['updateService']> = (_parent, { id, input }, { db }) =>
  update(db, id, input);
