// Call next: hand the oldest waiting case of some services to one agent.
//
// Exactly once, without waiting: the candidate rows are locked with
// FOR UPDATE SKIP LOCKED, so of several agents calling at once each locks a
// different case, and none waits for another's transaction. The statement
// looks at the first few waiting cases of each service (an index scan each),
// orders them, and locks the oldest one nobody else has locked: within a
// service that is always the oldest case not already being handed out. Only
// when every one of those candidates is taken by other agents at that moment
// does it look further (a wider candidate list), so a busy queue cannot make
// a call come back empty while cases wait.
import type { Database } from '../db/prisma-client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import { caseColumns } from './case-columns.js';
import { notFound } from './errors.js';
import { callNextRules, parseInput } from './input-rules.js';

export interface CallNextRequest {
  readonly serviceIds: readonly number[];
  readonly agent: string;
}

/** The row when no case was locked: every case column is null. */
type NullCase = { [K in keyof Case]: null };

// Candidates per service on each try; the last is unbounded.
const CANDIDATES = [16, 1024, 2 ** 31 - 1];

/** The hand-out statement; `candidates` is how many waiting cases of each service it considers. */
export function callNextSql(serviceIds: readonly number[], agent: string, candidates: number): Prisma.Sql {
  // The candidate ids go to the lock step as an array, so it fetches them by
  // primary key whatever the planner thinks of the list's size.
  return Prisma.sql`
    WITH known AS (
      -- A desk set up with a service that does not exist gets an error, not an empty queue.
      SELECT count(*)::int AS services FROM services WHERE id = ANY(${serviceIds}::int[])
    ), candidate AS (
      SELECT c.id
        FROM unnest(${serviceIds}::int[]) AS s(id)
        CROSS JOIN LATERAL (
          SELECT id FROM cases
           WHERE service_id = s.id AND status = 'WAITING'
           ORDER BY queued_at, queue_seq
           LIMIT ${candidates}
        ) c
    ), next AS (
      SELECT id FROM cases
       WHERE id = ANY(ARRAY(SELECT id FROM candidate)) AND status = 'WAITING'
         AND (SELECT services FROM known) = ${serviceIds.length}
       ORDER BY queued_at, queue_seq
       LIMIT 1
         FOR UPDATE SKIP LOCKED
    ), called AS (
      UPDATE cases c
         SET status = 'IN_SERVICE', called_at = clock_timestamp(), updated_at = clock_timestamp(),
             last_action = 'CALL_NEXT', last_agent = ${agent}
        FROM next
       WHERE c.id = next.id
      RETURNING ${caseColumns('c')}
    ), event AS (
      INSERT INTO case_events (case_id, action, agent, from_status, to_status, at)
      SELECT id, 'CALL_NEXT', ${agent}, 'WAITING', 'IN_SERVICE', "calledAt" FROM called
    )
    SELECT called.*, (SELECT count(*)::int FROM candidate) AS candidates, (SELECT services FROM known) AS known
      FROM (VALUES (1)) AS always(one) LEFT JOIN called ON TRUE`;
}

interface Counts {
  readonly candidates: number;
  readonly known: number;
}

async function tryCall(db: Database, serviceIds: readonly number[], agent: string, candidates: number): Promise<Case | null | 'none-free'> {
  const rows = await db.$queryRaw<((Case & Counts) | (NullCase & Counts))[]>(callNextSql(serviceIds, agent, candidates));
  const [row] = rows;
  if (!row) return null;
  const { candidates: found, known, ...called } = row;
  if (known !== serviceIds.length) await requireServices(db, serviceIds);
  if (called.id !== null) return called;
  // Nothing locked: either nothing waits, or every candidate was taken.
  return found === 0 ? null : 'none-free';
}

/** Nothing to hand out: tells a quiet queue from a service that does not exist. */
async function requireServices(db: Database, serviceIds: readonly number[]): Promise<void> {
  const found = await db.service.findMany({ where: { id: { in: [...serviceIds] } }, select: { id: true } });
  const missing = serviceIds.find((id) => !found.some((service) => service.id === id));
  if (missing !== undefined) throw notFound('serviceIds', `no service has the id ${missing}`);
}

/** The case handed to `agent`, or null when no case waits in those services. */
export async function callNext(db: Database, request: CallNextRequest): Promise<Case | null> {
  const { serviceIds, agent } = parseInput(callNextRules, request);
  for (const candidates of CANDIDATES) {
    const result = await tryCall(db, serviceIds, agent, candidates);
    if (result !== 'none-free') return result;
  }
  return null;
}
