// The resolver map, one entry per field that needs code. Listed explicitly
// (no spreading of partial maps) so a field cannot be dropped silently.
import type { Resolvers } from '../../generated/graphql.js';
import { DateTime } from '../date-time.js';
import { Case } from './Case/fields.js';
import { CaseEnqueuePayload } from './CaseEnqueuePayload/fields.js';
import { Classification } from './Classification/fields.js';
import { addProcedureOption } from './Mutation/addProcedureOption.js';
import { callCase } from './Mutation/callCase.js';
import { callNext } from './Mutation/callNext.js';
import { cancelCase } from './Mutation/cancelCase.js';
import { completeCase } from './Mutation/completeCase.js';
import { createClassification } from './Mutation/createClassification.js';
import { createCustomer } from './Mutation/createCustomer.js';
import { createProcedure } from './Mutation/createProcedure.js';
import { createService } from './Mutation/createService.js';
import { enqueueCase } from './Mutation/enqueueCase.js';
import { returnToQueue } from './Mutation/returnToQueue.js';
import { updateClassification } from './Mutation/updateClassification.js';
import { updateCustomer } from './Mutation/updateCustomer.js';
import { updateProcedure } from './Mutation/updateProcedure.js';
import { updateService } from './Mutation/updateService.js';
import { Procedure } from './Procedure/fields.js';
import { case_ } from './Query/case.js';
import { classifications } from './Query/classifications.js';
import { customer } from './Query/customer.js';
import { procedures } from './Query/procedures.js';
import { service } from './Query/service.js';
import { services } from './Query/services.js';
import { QueueConnection } from './QueueConnection/fields.js';
import { QueueEdge } from './QueueEdge/fields.js';
import { Service } from './Service/fields.js';

export const resolvers: Resolvers = {
  DateTime,
  Query: { service, services, case: case_, customer, classifications, procedures },
  Mutation: {
    enqueueCase,
    createService,
    updateService,
    callNext,
    callCase,
    completeCase,
    returnToQueue,
    cancelCase,
    createCustomer,
    updateCustomer,
    createClassification,
    updateClassification,
    createProcedure,
    updateProcedure,
    addProcedureOption,
  },
  Case,
  CaseEnqueuePayload,
  Service,
  QueueConnection,
  QueueEdge,
  Classification,
  Procedure,
};
