import type { QueryResolvers } from '../../../generated/graphql.js';
import { findCase } from '../../../queue/case-reads.js';

export const case_: NonNullable<QueryResolvers['case']> = (_parent, { id }, { db }) => findCase(db, id);
