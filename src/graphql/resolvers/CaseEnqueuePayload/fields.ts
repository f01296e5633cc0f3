// Fields whose names differ between the seed's response and the cases table;
// every other field resolves from the row as it is.
import type { CaseEnqueuePayloadResolvers } from '../../../generated/graphql.js';

export const CaseEnqueuePayload: CaseEnqueuePayloadResolvers = {
  caseId: (row) => row.id,
  serviceIdExtRef: (row) => row.service.extRef,
  customProperties: (row) => row.properties,
};
