import type { QueryResolvers } from '../../../generated/graphql.js';
import { listClassifications } from '../../../queue/reference-data.js';

export const classifications: NonNullable<QueryResolvers['classifications']> = (_parent, _args, { db }) =>
  listClassifications(db);
