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
import { standingsPreferring } from '../queue/queue-reads.js';
import { afterWrite } from '../queue/unknown-outcome.js';

/**
 * `reads`: where positions are read (what screens poll; context.ts decides:
 * perhaps a standby for a query, the primary for a mutation); the rest is
 * read on `db`, the primary. `afterWriting`: the reads show a mutation's
 * result, and wait out a failover rather than fail (unknown-outcome.ts, afterWrite).
 */
export function createLoaders(db: Database, reads: () => Database = () => db, afterWriting = false) {
  const read = afterWriting ? <T>(run: () => Promise<T>) => afterWrite(db, run) : <T>(run: () => Promise<T>) => run();
  return {
    service: new DataLoader((ids: readonly number[]) => read(() => servicesById(db, ids))),
    customer: new DataLoader((ids: readonly number[]) => read(() => customersById(db, ids))),
    properties: new DataLoader((caseIds: readonly number[]) => read(() => propertiesByCase(db, caseIds))),
    history: new DataLoader((caseIds: readonly number[]) => read(() => historyByCase(db, caseIds))),
    standing: new DataLoader((caseIds: readonly number[]) => read(() => standingsPreferring(reads(), db, caseIds))),
    classificationServices: new DataLoader((ids: readonly number[]) => read(() => servicesByClassification(db, ids))),
    procedureOptions: new DataLoader((ids: readonly number[]) => read(() => optionsByProcedure(db, ids))),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
