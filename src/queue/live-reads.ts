// What live subscribers see of a service: one statement reads the whole
// state a change can affect (the head of the queue, who is in service, and
// every followed case with its position), so a change costs the same one
// read whether ten kiosks follow the queue or a thousand. One statement also
// means one snapshot: counts, positions and lists always agree.
import { Prisma } from '../generated/prisma/client.js';
import type { CaseAction, CaseStatus } from '../generated/prisma/enums.js';
import { z } from 'zod';
import type { Database } from '../db/prisma-client.js';
import { LIMITS } from './input-rules.js';
import { aheadSumFor, queueLengthSql, rankedSql } from './queue-positions.js';
import { paceCallsJoin, paceSampleColumns, paceSampleOf, paceSampleRow } from './pace-sample.js';
import { standingsIn, type WaitRange } from './standing.js';

/** A waiting case as a screen shows it. */
export interface QueuedTicket {
  readonly caseId: number;
  readonly ticket: string;
  readonly position: number;
  readonly estimatedWaitSeconds: number | null;
  readonly estimatedWaitRange: WaitRange | null;
  readonly queuedAt: Date;
}

/** A case in service as a screen shows it. */
export interface ServedTicket {
  readonly caseId: number;
  readonly ticket: string;
  readonly agent: string | null;
  readonly calledAt: Date;
}

/** One case as its ticket holder follows it. */
export interface CaseState {
  readonly caseId: number;
  readonly ticket: string;
  readonly serviceId: number;
  readonly status: CaseStatus;
  readonly lastAction: CaseAction;
  readonly lastAgent: string | null;
  readonly position: number | null;
  readonly estimatedWaitSeconds: number | null;
  readonly estimatedWaitRange: WaitRange | null;
  readonly calledAt: Date | null;
  readonly closedAt: Date | null;
  readonly at: Date;
}

export interface ServiceState {
  readonly serviceId: number;
  /** When the state was read, by the database's clock. */
  readonly at: Date;
  readonly waitingCount: number;
  /** The head of the queue, as many as asked for. */
  readonly waiting: readonly QueuedTicket[];
  /** The most recently called first. */
  readonly inService: readonly ServedTicket[];
  /** The followed cases of this service that exist, by id. */
  readonly cases: ReadonlyMap<number, CaseState>;
}

const STATUSES = ['WAITING', 'IN_SERVICE', 'COMPLETED', 'CANCELLED'] as const satisfies readonly CaseStatus[];
const ACTIONS = [
  'ENQUEUE',
  'AUTO_CLOSE',
  'CALL_NEXT',
  'CALL_CASE',
  'COMPLETE',
  'RETURN_TO_QUEUE',
  'CANCEL',
] as const satisfies readonly CaseAction[];

// Times inside json_build_object come as text: checked and turned into Dates here.
const time = z.coerce.date();
const stateRow = paceSampleRow.extend({
  at: z.date(),
  waitingCount: z.number().int(),
  waiting: z.array(z.object({ caseId: z.number().int(), ticket: z.string(), queuedAt: time })),
  inService: z.array(
    z.object({ caseId: z.number().int(), ticket: z.string(), agent: z.string().nullable(), calledAt: time }),
  ),
  cases: z.array(
    z.object({
      caseId: z.number().int(),
      ticket: z.string(),
      status: z.enum(STATUSES),
      lastAction: z.enum(ACTIONS),
      lastAgent: z.string().nullable(),
      position: z.number().int().nullable(),
      calledAt: time.nullable(),
      closedAt: time.nullable(),
    }),
  ),
});

/**
 * The state of service `serviceId` for its live subscribers: the first
 * `first` waiting cases, the cases in service, and the cases of `caseIds`
 * (those of another service are left out). Positions of followed cases come
 * from the queue's blocks (queue-positions.ts): a change costs the same read
 * at a million waiting as at a thousand.
 */
export function serviceStateSql(serviceId: number, first: number, caseIds: readonly number[]): Prisma.Sql {
  return Prisma.sql`/* live: service state */
    WITH followed AS (
      SELECT id, ticket, status, last_action, last_agent, called_at, closed_at, queued_at, queue_seq
        FROM cases WHERE id = ANY(${[...caseIds]}::int[]) AND service_id = ${serviceId}
    ), asked AS (
      SELECT ${serviceId}::int AS service_id, * FROM followed WHERE status = 'WAITING'
    ), ${rankedSql(aheadSumFor(caseIds.length), ['ticket', 'status', 'last_action', 'last_agent', 'called_at', 'closed_at'])}
    SELECT
      clock_timestamp() AS "at",
      ${paceSampleColumns(Prisma.sql`s.id`)},
      ${queueLengthSql(Prisma.sql`s.id`)} AS "waitingCount",
      (SELECT coalesce(json_agg(json_build_object('caseId', id, 'ticket', ticket, 'queuedAt', queued_at)
                                ORDER BY queued_at, queue_seq), '[]')
         FROM (SELECT id, ticket, queued_at, queue_seq FROM cases
                WHERE service_id = s.id AND status = 'WAITING'
                ORDER BY queued_at, queue_seq LIMIT ${first}) head) AS "waiting",
      (SELECT coalesce(json_agg(json_build_object('caseId', id, 'ticket', ticket, 'agent', last_agent, 'calledAt', called_at)
                                ORDER BY called_at DESC, id DESC), '[]')
         FROM (SELECT id, ticket, last_agent, called_at FROM cases
                WHERE service_id = s.id AND status = 'IN_SERVICE'
                ORDER BY called_at DESC, id DESC LIMIT ${LIMITS.live.inService}) served) AS "inService",
      (SELECT coalesce(json_agg(json_build_object(
                'caseId', f.id, 'ticket', f.ticket, 'status', f.status, 'lastAction', f.last_action,
                'lastAgent', f.last_agent, 'position', f.position, 'calledAt', f.called_at, 'closedAt', f.closed_at)), '[]')
         FROM (SELECT id, ticket, status, last_action, last_agent, position, called_at, closed_at FROM ranked
               UNION ALL
               SELECT id, ticket, status, last_action, last_agent, NULL, called_at, closed_at FROM followed
                WHERE status <> 'WAITING') f) AS "cases"
    FROM services s ${paceCallsJoin(Prisma.sql`s.id`)} WHERE s.id = ${serviceId}`;
}

/** The state of a service for its subscribers, or null when no service has this id. */
export async function readServiceState(
  db: Database,
  serviceId: number,
  first: number,
  caseIds: readonly number[],
): Promise<ServiceState | null> {
  const rows = await db.$queryRaw<unknown[]>(serviceStateSql(serviceId, first, caseIds));
  if (rows.length === 0) return null;
  const row = stateRow.parse(rows[0]);
  const standingAt = standingsIn(paceSampleOf(row));
  const estimate = (position: number | null) => {
    const standing = position === null ? null : standingAt(position);
    return {
      estimatedWaitSeconds: standing?.estimatedWaitSeconds ?? null,
      estimatedWaitRange: standing?.estimatedWaitRange ?? null,
    };
  };
  return {
    serviceId,
    at: row.at,
    waitingCount: row.waitingCount,
    waiting: row.waiting.map((each, index) => ({
      ...each,
      position: index + 1,
      ...estimate(index + 1),
    })),
    inService: row.inService,
    cases: new Map(
      row.cases.map((each) => {
        // A case that stopped waiting between the two parts of the statement cannot happen
        // (one snapshot); a waiting case always has its rank.
        const position = each.status === 'WAITING' ? each.position : null;
        return [each.caseId, { ...each, serviceId, position, ...estimate(position), at: row.at } satisfies CaseState];
      }),
    ),
  };
}

/** The service a case is in (cases never move between services), or null when no case has this id. */
export async function serviceOfCase(db: Database, caseId: number): Promise<number | null> {
  const found = await db.case.findUnique({ where: { id: caseId }, select: { serviceId: true } });
  return found?.serviceId ?? null;
}

/** Whether a service with this id exists. */
export async function serviceExists(db: Database, serviceId: number): Promise<boolean> {
  return (await db.service.findUnique({ where: { id: serviceId }, select: { id: true } })) !== null;
}

/** Closed cases change no more: their subscriptions end. */
export const isClosed = (status: CaseStatus): boolean => status === 'COMPLETED' || status === 'CANCELLED';
