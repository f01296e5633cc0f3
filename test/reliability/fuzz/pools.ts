// What the fuzz has learnt about the database from earlier answers: ids,
// codes and cursors that exist, so generated requests name real rows and
// cases actually move through their life cycle. Plans only say "pick the
// n-th known service"; the pick is resolved when the request is sent.
import type { Json } from './values.js';

export const POOL_NAMES = [
  'services',
  'serviceExtRefs',
  'cases',
  'customers',
  'classificationCodes',
  'procedures',
  'options',
  'idempotencyKeys',
  'cursors',
] as const;
export type PoolName = (typeof POOL_NAMES)[number];

/** How a response's object, by its `__typename`, feeds the pools: field → pool. */
const HARVEST: Readonly<Record<string, Readonly<Record<string, PoolName>>>> = {
  Service: { id: 'services', extRef: 'serviceExtRefs' },
  Case: { id: 'cases' },
  CaseEnqueuePayload: { caseId: 'cases', serviceIdExtRef: 'serviceExtRefs' },
  Customer: { id: 'customers' },
  Classification: { code: 'classificationCodes' },
  Procedure: { extRef: 'procedures' },
  ProcedureOption: { extRef: 'options' },
  QueueEdge: { cursor: 'cursors' },
  PageInfo: { endCursor: 'cursors' },
};

/** Picks favour recent entries: new cases are the ones still waiting or in service. */
const RECENT = 40;

export class Pools {
  private readonly lists = new Map<PoolName, Json[]>(POOL_NAMES.map((name) => [name, []]));
  private readonly seen = new Map<PoolName, Set<string>>(POOL_NAMES.map((name) => [name, new Set()]));

  add(pool: PoolName, value: Json): void {
    if (value === null) return;
    const key = JSON.stringify(value);
    const seen = this.seen.get(pool);
    if (!seen || seen.has(key)) return;
    seen.add(key);
    this.lists.get(pool)?.push(value);
  }

  /** The `pick`-th entry (modulo), from the recent ones seven times in ten; undefined while empty. */
  pick(pool: PoolName, pick: number): Json | undefined {
    const list = this.lists.get(pool) ?? [];
    if (list.length === 0) return undefined;
    if (pick % 10 < 7) {
      const recent = Math.min(list.length, RECENT);
      return list[list.length - 1 - (Math.floor(pick / 10) % recent)];
    }
    return list[Math.floor(pick / 10) % list.length];
  }

  size(pool: PoolName): number {
    return this.lists.get(pool)?.length ?? 0;
  }

  /** Walks a response's data and remembers every id, code and cursor it names. */
  harvest(data: unknown): void {
    if (Array.isArray(data)) {
      for (const item of data) this.harvest(item);
      return;
    }
    if (typeof data !== 'object' || data === null) return;
    const record = data as Record<string, unknown>;
    const fields = typeof record['__typename'] === 'string' ? HARVEST[record['__typename']] : undefined;
    for (const [key, value] of Object.entries(record)) {
      const pool = fields?.[key];
      if (pool && (typeof value === 'number' || typeof value === 'string')) this.add(pool, value);
      else if (typeof value === 'object') this.harvest(value);
    }
  }
}
