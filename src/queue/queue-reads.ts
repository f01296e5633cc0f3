// What screens poll: a service's queue page by page, each waiting case's
// position and estimated wait, and queue statistics. Each read is a range
// scan of one index (docs/queries.md shows the plans on a 100,000-case queue).
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import { caseColumns } from './case-columns.js';
import { badInput } from './errors.js';
import { parseInput, queuePageRules, statisticsRules } from './input-rules.js';

/** The window over which the call rate behind estimated waits is measured. */
const RATE_WINDOW_SECONDS = 3600;

export interface Standing {
  /** From 1 (called next); null when the case is not waiting. */
  readonly position: number | null;
  readonly estimatedWaitSeconds: number | null;
}

/**
 * Position and estimated wait of each case, in the order of `caseIds`. The
 * estimate is position × the average interval between calls of the case's
 * service over the last hour; unknown when nothing was called in that hour.
 */
export async function standings(db: Database, caseIds: readonly number[]): Promise<Standing[]> {
  const rows = await db.$queryRaw<{ id: number; position: number; calls: number }[]>`
    SELECT c.id,
           (SELECT count(*)::int FROM cases w
             WHERE w.service_id = c.service_id AND w.status = 'WAITING'
               AND (w.queued_at, w.id) <= (c.queued_at, c.id)) AS position,
           (SELECT count(*)::int FROM cases r
             WHERE r.service_id = c.service_id
               AND r.called_at >= clock_timestamp() - make_interval(secs => ${RATE_WINDOW_SECONDS})) AS calls
      FROM cases c
     WHERE c.id = ANY(${[...caseIds]}::int[]) AND c.status = 'WAITING'`;
  const found = new Map(rows.map((row) => [row.id, row]));
  return caseIds.map((id) => {
    const row = found.get(id);
    if (!row) return { position: null, estimatedWaitSeconds: null };
    const estimatedWaitSeconds = row.calls > 0 ? Math.round((row.position * RATE_WINDOW_SECONDS) / row.calls) : null;
    return { position: row.position, estimatedWaitSeconds };
  });
}

export interface QueueEdge {
  readonly cursor: string;
  readonly position: number;
  readonly node: Case;
}

export interface QueuePage {
  readonly edges: QueueEdge[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}

/** A cursor names a place in the queue order: (queued_at, id). */
const encodeCursor = (row: Pick<Case, 'queuedAt' | 'id'>): string => Buffer.from(`${row.queuedAt.getTime()}:${row.id}`).toString('base64url');

function decodeCursor(cursor: string): { queuedAt: Date; id: number } {
  const match = /^(\d{1,15}):(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw badInput('after', 'cursor', 'is not a cursor this queue returned');
  return { queuedAt: new Date(Number(match[1])), id: Number(match[2]) };
}

export interface QueuePageRequest {
  readonly first?: number | null;
  readonly after?: string | null;
}

/** Waiting cases of a service, oldest first, after the cursor. */
export async function queuePage(db: Database, serviceId: number, request: QueuePageRequest): Promise<QueuePage> {
  const { first, after } = parseInput(queuePageRules, request);
  const from = after === null ? null : decodeCursor(after);
  const afterClause = from === null ? Prisma.empty : Prisma.sql`AND (c.queued_at, c.id) > (${from.queuedAt}::timestamptz, ${from.id}::int)`;
  const [rows, [counts]] = await Promise.all([
    db.$queryRaw<Case[]>`
      SELECT ${caseColumns('c')} FROM cases c
       WHERE c.service_id = ${serviceId} AND c.status = 'WAITING' ${afterClause}
       ORDER BY c.queued_at, c.id
       LIMIT ${first + 1}`,
    db.$queryRaw<{ total: number; before: number }[]>`
      SELECT count(*)::int AS total,
             ${from === null ? Prisma.sql`0` : Prisma.sql`count(*) FILTER (WHERE (c.queued_at, c.id) <= (${from.queuedAt}::timestamptz, ${from.id}::int))::int`} AS before
        FROM cases c WHERE c.service_id = ${serviceId} AND c.status = 'WAITING'`,
  ]);
  const page = rows.slice(0, first);
  const before = counts?.before ?? 0;
  return {
    edges: page.map((node, index) => ({ cursor: encodeCursor(node), position: before + index + 1, node })),
    hasNextPage: rows.length > first,
    totalCount: counts?.total ?? 0,
  };
}

export interface QueueStatistics {
  readonly waitingCount: number;
  readonly inServiceCount: number;
  readonly longestWaitSeconds: number | null;
  readonly averageWaitSeconds: number | null;
  readonly servedInWindow: number;
  readonly enqueuedToday: number;
  readonly closedToday: number;
  readonly autoClosedToday: number;
  readonly windowMinutes: number;
}

export interface StatisticsRequest {
  readonly windowMinutes?: number | null;
}

/**
 * Figures for one service. "Today" starts at midnight in the service's time
 * zone. The longest wait is that of the case at the head of the queue,
 * counted from when it (re)joined the queue.
 */
export async function queueStatistics(db: Database, serviceId: number, request: StatisticsRequest): Promise<QueueStatistics> {
  const { windowMinutes } = parseInput(statisticsRules, request);
  const [row] = await db.$queryRaw<Omit<QueueStatistics, 'windowMinutes'>[]>`
    WITH service AS (
      SELECT id, (date_trunc('day', clock_timestamp() AT TIME ZONE time_zone) AT TIME ZONE time_zone) AS today
        FROM services WHERE id = ${serviceId}
    ), recent AS (
      SELECT clock_timestamp() - make_interval(mins => ${windowMinutes}) AS since
    )
    SELECT
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND status = 'WAITING') AS "waitingCount",
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND status = 'IN_SERVICE') AS "inServiceCount",
      (SELECT floor(extract(epoch FROM clock_timestamp() - queued_at))::int FROM cases
        WHERE service_id = service.id AND status = 'WAITING' ORDER BY queued_at, id LIMIT 1) AS "longestWaitSeconds",
      (SELECT round(avg(extract(epoch FROM called_at - enqueued_at)))::int FROM cases, recent
        WHERE service_id = service.id AND called_at >= recent.since) AS "averageWaitSeconds",
      (SELECT count(*)::int FROM cases, recent WHERE service_id = service.id AND called_at >= recent.since) AS "servedInWindow",
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND enqueued_at >= service.today) AS "enqueuedToday",
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND closed_at >= service.today) AS "closedToday",
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND closed_at >= service.today AND auto_close) AS "autoClosedToday"
    FROM service`;
  if (!row) throw new Error(`service ${serviceId} vanished while its statistics were read`);
  return { ...row, windowMinutes };
}
