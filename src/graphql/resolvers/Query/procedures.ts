import type { QueryResolvers } from '../../../generated/graphql.js';
import { listProcedures } from '../../../queue/reference-data.js';

export const procedures: NonNullable<QueryResolvers['procedures']> = (_parent, _args, { db }) => listProcedures(db);
