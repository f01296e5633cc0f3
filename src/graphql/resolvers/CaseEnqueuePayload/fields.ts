// The enqueue response echoes the request in the seed's field names; the
// rest resolves from the stored case as it is.
import type { CaseEnqueuePayloadResolvers } from '../../../generated/graphql.js';
import { required } from '../required.js';

export const CaseEnqueuePayload: CaseEnqueuePayloadResolvers = {
  caseId: (row) => row.id,
  serviceIdExtRef: async (row, _args, { load }) => required(await load.service.load(row.serviceId), 'service', row.serviceId).extRef,
  customProperties: (row, _args, { load }) => load.properties.load(row.id),
  position: async (row, _args, { load }) => (row.status === 'WAITING' ? (await load.standing.load(row.id)).position : null),
  estimatedWaitSeconds: async (row, _args, { load }) => (row.status === 'WAITING' ? (await load.standing.load(row.id)).estimatedWaitSeconds : null),
  case: (row) => row,
};
