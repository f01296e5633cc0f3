// Every mutation, one line each: the arguments go to the queue domain, whose
// answer maps onto the payload types. `MutationResolvers` requires every root
// field (codegen's avoidOptionals.mutation), so a mutation added to
// schema.graphql without a line here fails the type check.
import type { MutationResolvers } from '../../generated/graphql.js';
import * as referenceData from '../../queue/reference-data.js';
import * as services from '../../queue/services.js';
import * as transitions from '../../queue/transitions.js';

export const Mutation: MutationResolvers = {
  // Cases: enqueue and the life cycle.
  enqueueCase: (_parent, { input }, { enqueuer }) => enqueuer.enqueue(input),
  callNext: (_parent, { input }, { caller }) => caller.callNext(input),
  callCase: (_parent, { input }, { db }) => transitions.callCase(db, input),
  completeCase: (_parent, { input }, { db }) => transitions.completeCase(db, input),
  returnToQueue: (_parent, { input }, { db }) => transitions.returnToQueue(db, input),
  cancelCase: (_parent, { input }, { db }) => transitions.cancelCase(db, input),

  // Services.
  createService: (_parent, { input }, { db }) => services.createService(db, input),
  updateService: (_parent, { id, input }, { db }) => services.updateService(db, id, input),

  // Reference data.
  createCustomer: (_parent, { input }, { db }) => referenceData.createCustomer(db, input),
  updateCustomer: (_parent, { id, input }, { db }) => referenceData.updateCustomer(db, id, input),
  createClassification: (_parent, { input }, { db }) => referenceData.createClassification(db, input),
  updateClassification: (_parent, { code, input }, { db }) => referenceData.updateClassification(db, code, input),
  createProcedure: (_parent, { input }, { db }) => referenceData.createProcedure(db, input),
  updateProcedure: (_parent, { extRef, input }, { db }) => referenceData.updateProcedure(db, extRef, input),
  addProcedureOption: (_parent, { procedureExtRef, input }, { db }) =>
    referenceData.addProcedureOption(db, procedureExtRef, input),
};
