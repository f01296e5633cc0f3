// A case's fields that are not columns of its row: related rows, its place
// in the queue and its history, each batched per request.
import type { CaseResolvers } from '../../generated/graphql.js';
import { recentHistory } from '../../queue/case-reads.js';
import { required } from './required.js';

export const Case: CaseResolvers = {
  service: async (row, _args, { load }) => required(await load.service.load(row.serviceId), 'service', row.serviceId),
  customer: (row, _args, { load }) => (row.customerId === null ? null : load.customer.load(row.customerId)),
  position: async (row, _args, { load }) =>
    row.status === 'WAITING' ? (await load.standing.load(row.id)).position : null,
  estimatedWaitSeconds: async (row, _args, { load }) =>
    row.status === 'WAITING' ? (await load.standing.load(row.id)).estimatedWaitSeconds : null,
  estimatedWaitRange: async (row, _args, { load }) =>
    row.status === 'WAITING' ? (await load.standing.load(row.id)).estimatedWaitRange : null,
  customProperties: (row, _args, { load }) => load.properties.load(row.id),
  history: async (row, args, { load }) => recentHistory(await load.history.load(row.id), args),
};
