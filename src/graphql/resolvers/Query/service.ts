import type { QueryResolvers } from '../../../generated/graphql.js';
import { findService } from '../../../queue/services.js';

export const service: NonNullable<QueryResolvers['service']> = (_parent, { id }, { db }) => findService(db, id);
