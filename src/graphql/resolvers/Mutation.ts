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
  enqueueCase: (_parent, { input }, { enqueuer, principal }) => enqueuer.enqueue(input, principal),
  callNext: (_parent, { input }, { caller, principal }) => caller.callNext(input, principal),
  callCase: (_parent, { input }, { db, principal }) => transitions.callCase(db, input, principal),
  completeCase: (_parent, { input }, { db, principal }) => transitions.completeCase(db, input, principal),
  returnToQueue: (_parent, { input }, { db, principal }) => transitions.returnToQueue(db, input, principal),
  cancelCase: (_parent, { input }, { db, principal }) => transitions.cancelCase(db, input, principal),

  // Services.
  createService: (_parent, { input }, { db, principal }) => services.createService(db, input, principal),
  updateService: (_parent, { id, input }, { db, principal }) => services.updateService(db, id, input, principal),

  // Reference data.
  createCustomer: (_parent, { input }, { db, principal }) => referenceData.createCustomer(db, input, principal),
  updateCustomer: (_parent, { id, input }, { db, principal }) => referenceData.updateCustomer(db, id, input, principal),
  createClassification: (_parent, { input }, { db, principal }) =>
    referenceData.createClassification(db, input, principal),
  updateClassification: (_parent, { code, input }, { db, principal }) =>
    referenceData.updateClassification(db, code, input, principal),
  createProcedure: (_parent, { input }, { db, principal }) => referenceData.createProcedure(db, input, principal),
  updateProcedure: (_parent, { extRef, input }, { db, principal }) =>
    referenceData.updateProcedure(db, extRef, input, principal),
  addProcedureOption: (_parent, { procedureExtRef, input }, { db, principal }) =>
    referenceData.addProcedureOption(db, procedureExtRef, input, principal),

  // API keys: the acting principal is recorded as their creator and in the audit log.
  createApiKey: (_parent, { input }, { keys, principal }) => keys.create(input, principal),
  rotateApiKey: (_parent, { id }, { keys, principal }) => keys.rotate(id, principal),
  revokeApiKey: (_parent, { id }, { keys, principal }) => keys.revoke(id, principal),

  // Webhook endpoints: secrets are answered by create and rotate alone; every change is audited.
  createWebhookEndpoint: (_parent, { input }, { webhooks, principal }) => webhooks.create(input, principal),
  updateWebhookEndpoint: (_parent, { id, input }, { webhooks, principal }) => webhooks.update(id, input, principal),
  rotateWebhookSecret: (_parent, { id }, { webhooks, principal }) => webhooks.rotateSecret(id, principal),
  disableWebhookEndpoint: (_parent, { id }, { webhooks, principal }) => webhooks.disable(id, principal),
  enableWebhookEndpoint: (_parent, { id }, { webhooks, principal }) => webhooks.enable(id, principal),
  deleteWebhookEndpoint: (_parent, { id }, { webhooks, principal }) => webhooks.delete(id, principal),
  replayWebhookEvents: (_parent, { endpointId, since }, { webhooks, principal }) =>
    webhooks.replay(endpointId, since, principal),
};
