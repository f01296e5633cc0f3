import type { MutationResolvers } from '../../../generated/graphql.js';
import { updateClassification as update } from '../../../queue/reference-data.js';

export const updateClassification: NonNullable<MutationResolvers['updateClassification']> = (
  _parent,
  { code, input },
  { db },
) => update(db, code, input);
