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
  service: (_parent, { id }, { db }) => services.findService(db, id),
  services: (_parent, args, { db }) => services.listServices(db, args),
  customer: (_parent, { id }, { db }) => referenceData.findCustomer(db, id),
  classifications: (_parent, args, { db }) => referenceData.listClassifications(db, args),
  procedures: (_parent, args, { db }) => referenceData.listProcedures(db, args),
  viewer: (_parent, _args, { principal }) => principal,
  apiKeys: (_parent, args, { keys }) => keys.list(args),
  auditLog: (_parent, args, { db }) => listAudit(db, args),
};
