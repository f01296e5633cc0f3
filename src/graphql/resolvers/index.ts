// The resolver map, one entry per field that needs code. Listed explicitly
// (no spreading of partial maps) so a field cannot be dropped silently.
import type { Resolvers } from '../../generated/graphql.js';
import { DateTime } from '../date-time.js';
import { CaseEnqueuePayload } from './CaseEnqueuePayload/fields.js';
import { createService } from './Mutation/createService.js';
import { enqueueCase } from './Mutation/enqueueCase.js';
import { service } from './Query/service.js';
import { services } from './Query/services.js';

export const resolvers: Resolvers = {
  DateTime,
  Query: { service, services },
  Mutation: { enqueueCase, createService },
  CaseEnqueuePayload,
};
