// The resolver map: the root types, the scalar, and the object types with
// fields that differ from the rows they are mapped to (codegen.ts `mappers`).
// Listed explicitly, not merged by spreading, so none can be lost silently.
import type { Resolvers } from '../../generated/graphql.js';
import { DateTime } from '../date-time.js';
import { ApiKey } from './ApiKey.js';
import { Case } from './Case.js';
import { CaseEnqueuePayload } from './CaseEnqueuePayload.js';
import { Classification } from './Classification.js';
import { Mutation } from './Mutation.js';
import { Procedure } from './Procedure.js';
import { Query } from './Query.js';
import { QueueConnection } from './QueueConnection.js';
import { QueueEdge } from './QueueEdge.js';
import { QueueStatistics } from './QueueStatistics.js';
import { Service } from './Service.js';
import { Subscription } from './Subscription.js';
import { Viewer } from './Viewer.js';

export const resolvers = {
  DateTime,
  Query,
  Mutation,
  Subscription,
  Case,
  CaseEnqueuePayload,
  Service,
  QueueConnection,
  QueueEdge,
  QueueStatistics,
  Classification,
  Procedure,
  ApiKey,
  Viewer,
} satisfies Resolvers;
