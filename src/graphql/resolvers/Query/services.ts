import type { QueryResolvers } from '../../../generated/graphql.js';
import { listServices } from '../../../queue/services.js';

export const services: NonNullable<QueryResolvers['services']> = (_parent, _args, { db }) => listServices(db);
