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

type Read = <T>(run: () => Promise<T>) => Promise<T>;

/** Each loader, made on first use: most requests use none or a few of them. */
const makers = {
  service: (db: Database, _reads: () => Database, read: Read) =>
    new DataLoader((ids: readonly number[]) => read(() => servicesById(db, ids))),
  customer: (db: Database, _reads: () => Database, read: Read) =>
    new DataLoader((ids: readonly number[]) => read(() => customersById(db, ids))),
  properties: (db: Database, _reads: () => Database, read: Read) =>
    new DataLoader((caseIds: readonly number[]) => read(() => propertiesByCase(db, caseIds))),
  history: (db: Database, _reads: () => Database, read: Read) =>
    new DataLoader((caseIds: readonly number[]) => read(() => historyByCase(db, caseIds))),
  standing: (db: Database, reads: () => Database, read: Read) =>
    new DataLoader((caseIds: readonly number[]) => read(() => standingsPreferring(reads(), db, caseIds))),
  classificationServices: (db: Database, _reads: () => Database, read: Read) =>
    new DataLoader((ids: readonly number[]) => read(() => servicesByClassification(db, ids))),
  procedureOptions: (db: Database, _reads: () => Database, read: Read) =>
    new DataLoader((ids: readonly number[]) => read(() => optionsByProcedure(db, ids))),
};

type Made = { -readonly [K in keyof typeof makers]?: ReturnType<(typeof makers)[K]> };

/** A request's loaders, each made when a resolver first asks for it. */
export class Loaders {
  readonly #made: Made = {};

  constructor(
    private readonly db: Database,
    private readonly reads: () => Database,
    private readonly read: Read,
  ) {}

  #get<K extends keyof typeof makers>(name: K): ReturnType<(typeof makers)[K]> {
    const made = this.#made[name] ?? (makers[name](this.db, this.reads, this.read) as Made[K]);
    this.#made[name] = made;
    return made as ReturnType<(typeof makers)[K]>;
  }

  get service() {
    return this.#get('service');
  }
  get customer() {
    return this.#get('customer');
  }
  get properties() {
    return this.#get('properties');
  }
  get history() {
    return this.#get('history');
  }
  get standing() {
    return this.#get('standing');
  }
  get classificationServices() {
    return this.#get('classificationServices');
  }
  get procedureOptions() {
    return this.#get('procedureOptions');
  }
}

/**
 * `reads`: where positions are read (what screens poll; context.ts decides:
 * perhaps a standby for a query, the primary for a mutation); the rest is
 * read on `db`, the primary. `afterWriting`: the reads show a mutation's
 * result, and wait out a failover rather than fail (unknown-outcome.ts, afterWrite).
 */
export function createLoaders(db: Database, reads: () => Database = () => db, afterWriting = false): Loaders {
  return new Loaders(db, reads, afterWriting ? afterWriteRead(db) : runRead);
}

const runRead: Read = (run) => run();
const afterWriteRead =
  (db: Database): Read =>
  (run) =>
    afterWrite(db, run);
