// Every query, one line each. `QueryResolvers` requires every root field
// (codegen's avoidOptionals.query), so a query added to schema.graphql without
// a line here fails the type check.
import type { QueryResolvers } from '../../generated/graphql.js';
import { listAudit } from '../../queue/audit.js';
import { findCase } from '../../queue/case-reads.js';
import * as referenceData from '../../queue/reference-data.js';
import * as services from '../../queue/services.js';

export const Query: QueryResolvers = {
  case: (_parent, { id }, { db, principal }) => findCase(db, id, principal),
  service: (_parent, args, { db, principal }) => services.findService(db, args, principal),
  services: (_parent, args, { db, principal }) => services.listServices(db, args, principal),
  customer: (_parent, { id }, { db }) => referenceData.findCustomer(db, id),
  classifications: (_parent, args, { db, principal }) => referenceData.listClassifications(db, args, principal),
  procedures: (_parent, args, { db }) => referenceData.listProcedures(db, args),
  viewer: (_parent, _args, { principal }) => principal,
  apiKeys: (_parent, args, { keys, principal }) => keys.list(args, principal),
  auditLog: (_parent, args, { db, principal }) => listAudit(db, args, principal),
  webhookEndpoints: (_parent, args, { webhooks, principal }) => webhooks.list(args, principal),
  webhookEndpoint: (_parent, { id }, { webhooks, principal }) => webhooks.find(id, principal),
  webhookDeliveries: (_parent, args, { webhooks, principal }) => webhooks.attempts(args, principal),
};
