// Reading cases and what hangs off them, in batches: the GraphQL layer wraps
// these in per-request DataLoaders so nested fields cost one query per level.
import type { Database } from '../db/prisma-client.js';
import type { Case, CaseEvent, CaseProperty, Customer, ProcedureOption, Service } from '../generated/prisma/client.js';
import type { Actor } from './actor.js';
import { visibleTo } from './actor-rules.js';
import { caseEventColumns } from './case-columns.js';
import { historyRules, LIMITS, parseInput, type HistoryRequest } from './input-rules.js';

/** The case with this id, or null: also when it is in a service the actor is limited away from. */
export async function findCase(db: Database, id: number, actor: Actor): Promise<Case | null> {
  return visibleTo(actor, await db.case.findUnique({ where: { id } }));
}

/** Groups rows by a key, in the order of `keys`; keys without rows get []. */
function groupBy<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): R[][] {
  const groups = new Map<K, R[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

function byId<R extends { id: number }>(ids: readonly number[], rows: readonly R[]): (R | null)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
}

export async function servicesById(db: Database, ids: readonly number[]): Promise<(Service | null)[]> {
  return byId(ids, await db.service.findMany({ where: { id: { in: [...ids] } } }));
}

export async function customersById(db: Database, ids: readonly number[]): Promise<(Customer | null)[]> {
  return byId(ids, await db.customer.findMany({ where: { id: { in: [...ids] } } }));
}

export async function propertiesByCase(db: Database, caseIds: readonly number[]): Promise<CaseProperty[][]> {
  const rows = await db.caseProperty.findMany({
    where: { caseId: { in: [...caseIds] } },
    orderBy: [{ caseId: 'asc' }, { position: 'asc' }],
  });
  return groupBy(caseIds, rows, (row) => row.caseId);
}

/**
 * The most recent `HISTORY_LIMIT` events of each case, oldest first: a case
 * returned to the queue again and again gathers events without bound, and a
 * page of cases must not read them all (each case's newest events are one
 * index range of `(case_id, id)`).
 */
export async function historyByCase(db: Database, caseIds: readonly number[]): Promise<CaseEvent[][]> {
  const rows = await db.$queryRaw<CaseEvent[]>`
    SELECT ${caseEventColumns('e')}
      FROM unnest(${[...caseIds]}::int[]) AS wanted(case_id)
      CROSS JOIN LATERAL (
        SELECT * FROM case_events
         WHERE case_id = wanted.case_id
         ORDER BY id DESC
         LIMIT ${LIMITS.history.last}
      ) e
     ORDER BY e.case_id, e.id`;
  return groupBy(caseIds, rows, (row) => row.caseId);
}

/** The last `request.last` (default and at most 100) of a case's recent events. */
export function recentHistory(events: readonly CaseEvent[], request: HistoryRequest): CaseEvent[] {
  const { last } = parseInput(historyRules, request);
  return events.slice(-last);
}

export async function servicesByClassification(
  db: Database,
  classificationIds: readonly number[],
): Promise<Service[][]> {
  const links = await db.classificationService.findMany({
    where: { classificationId: { in: [...classificationIds] } },
    include: { service: true },
    orderBy: [{ classificationId: 'asc' }, { serviceId: 'asc' }],
  });
  return groupBy(classificationIds, links, (link) => link.classificationId).map((group) =>
    group.map((link) => link.service),
  );
}

export async function optionsByProcedure(db: Database, procedureIds: readonly number[]): Promise<ProcedureOption[][]> {
  const rows = await db.procedureOption.findMany({
    where: { procedureId: { in: [...procedureIds] } },
    orderBy: [{ procedureId: 'asc' }, { extRef: 'asc' }],
  });
  return groupBy(procedureIds, rows, (row) => row.procedureId);
}
