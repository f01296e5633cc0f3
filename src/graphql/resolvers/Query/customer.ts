import type { QueryResolvers } from '../../../generated/graphql.js';
import { findCustomer } from '../../../queue/reference-data.js';

export const customer: NonNullable<QueryResolvers['customer']> = (_parent, { id }, { db }) => findCustomer(db, id);
