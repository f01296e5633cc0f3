import type { MutationResolvers } from '../../../generated/graphql.js';
import { createClassification as create } from '../../../queue/reference-data.js';

export const createClassification: NonNullable<MutationResolvers['createClassification']> = (
  _parent,
  { input },
  { db },
) => create(db, input);
