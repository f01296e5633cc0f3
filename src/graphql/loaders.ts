// Per-request batching: every nested field that reads the database goes
// through one of these, so a page of 50 cases costs one query per field,
// not 50. Made fresh per request, so nothing is cached across requests.
import DataLoader from 'dataloader';
import type { Database } from '../db/prisma-client.js';
import {
  customersById,
  historyByCase,
  optionsByProcedure,
  propertiesByCase,
  servicesByClassification,
  servicesById,
} from '../queue/case-reads.js';
import { standings } from '../queue/queue-reads.js';

export function createLoaders(db: Database) {
  return {
    service: new DataLoader((ids: readonly number[]) => servicesById(db, ids)),
    customer: new DataLoader((ids: readonly number[]) => customersById(db, ids)),
    properties: new DataLoader((caseIds: readonly number[]) => propertiesByCase(db, caseIds)),
    history: new DataLoader((caseIds: readonly number[]) => historyByCase(db, caseIds)),
    standing: new DataLoader((caseIds: readonly number[]) => standings(db, caseIds)),
    classificationServices: new DataLoader((ids: readonly number[]) => servicesByClassification(db, ids)),
    procedureOptions: new DataLoader((ids: readonly number[]) => optionsByProcedure(db, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
