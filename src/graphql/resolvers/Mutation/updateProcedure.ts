import type { MutationResolvers } from '../../../generated/graphql.js';
import { updateProcedure as update } from '../../../queue/reference-data.js';

export const updateProcedure: NonNullable<MutationResolvers['updateProcedure']> = (
  _parent,
  { extRef, input },
  { db },
) => update(db, extRef, input);
