// The enqueue response echoes the request in the seed's field names. The
// write itself returns the row, the service's external reference and the
// properties; position and estimated wait are read once per batch, when asked.
import type { CaseEnqueuePayloadResolvers } from '../../generated/graphql.js';

export const CaseEnqueuePayload: CaseEnqueuePayloadResolvers = {
  caseId: (row) => row.id,
  serviceIdExtRef: (row) => row.serviceExtRef,
  customProperties: (row) => [...row.customProperties],
  position: async (row) => (row.status === 'WAITING' ? (await row.standing()).position : null),
  estimatedWaitSeconds: async (row) => (row.status === 'WAITING' ? (await row.standing()).estimatedWaitSeconds : null),
  estimatedWaitRange: async (row) => (row.status === 'WAITING' ? (await row.standing()).estimatedWaitRange : null),
  case: (row) => row,
  receipt: (row, _args, { receipts }) => receipts.sign(row.id),
};
