// What screens poll: a service's queue page by page, each waiting case's
// position and estimated wait, and queue statistics. Each read is made of
// index range scans (docs/queries.md shows the plans on a 100,000-case queue,
// from scripts/explain-queries.ts, which runs these very builders).
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import type { Actor } from './actor.js';
import { requireService } from './actor-rules.js';
import { caseColumns } from './case-columns.js';
import { aheadSumFor, queueLengthSql, rankedSql, waitingUpToSql } from './queue-positions.js';
import { badInput } from './errors.js';
import { estimateAccuracy, type EstimateAccuracy } from './estimate-accuracy.js';
import { paceCallsJoin, paceSampleColumns, paceSampleOf, paceSampleRow } from './pace-sample.js';
import { NOT_WAITING, standingsIn, type Standing } from './standing.js';
import { z } from 'zod';
import {
  parseInput,
  queuePageRules,
  statisticsRules,
  type QueuePageRequest,
  type StatisticsRequest,
} from './input-rules.js';

/**
 * Positions of the waiting cases among `caseIds`, with the pace sample of
 * their services: one row per service, its asked cases' ids and positions as
 * two arrays, so the sample travels (and is parsed) once per service, not once
 * per case. Positions come from the queue's blocks (queue-positions.ts): the
 * same cost at a thousand waiting as at a million; the sample is bounded
 * (pace-sample.ts).
 */
export function standingsSql(caseIds: readonly number[]): Prisma.Sql {
  // Hot: kiosks ask for it with every enqueue.
  return Prisma.sql`/* hot: standings */
    WITH asked AS (
      SELECT id, service_id, queued_at, queue_seq FROM cases WHERE id = ANY(${[...caseIds]}::int[]) AND status = 'WAITING'
    ), ${rankedSql(aheadSumFor(caseIds.length))}, pace AS (
      SELECT s.service_id, ${paceSampleColumns(Prisma.sql`s.service_id`)}
        FROM (SELECT DISTINCT service_id FROM asked) s ${paceCallsJoin(Prisma.sql`s.service_id`)}
    ), by_service AS (
      SELECT service_id, array_agg(id ORDER BY position) AS ids, array_agg(position ORDER BY position) AS positions
        FROM ranked GROUP BY service_id
    )
    SELECT by_service.ids, by_service.positions, pace.* FROM by_service JOIN pace USING (service_id)`;
}

const standingsRow = paceSampleRow.extend({ ids: z.array(z.number().int()), positions: z.array(z.number().int()) });

/**
 * Position and estimated wait of each case, in the order of `caseIds`
 * (wait-estimate.ts says how the wait is estimated); NOT_WAITING for a case
 * that does not wait.
 */
export async function standings(db: Database, caseIds: readonly number[]): Promise<Standing[]> {
  const rows = await db.$queryRaw<unknown[]>(standingsSql(caseIds));
  const found = new Map<number, Standing>();
  for (const raw of rows) {
    const row = standingsRow.parse(raw);
    const standingOf = standingsIn(paceSampleOf(row));
    row.ids.forEach((id, index) => {
      const position = row.positions[index];
      if (position !== undefined) found.set(id, standingOf(position));
    });
  }
  return caseIds.map((id) => found.get(id) ?? NOT_WAITING);
}

/**
 * `standings` read on `reads` (where screens' reads go: perhaps a standby,
 * behind the primary), the cases it does not show as waiting read again on
 * `primary`. Callers ask only for cases they saw waiting, so one the standby
 * does not show is one it has not replayed yet (a case just enqueued): its
 * position comes from the primary, never null.
 */
export async function standingsPreferring(
  reads: Database,
  primary: Database,
  caseIds: readonly number[],
): Promise<Standing[]> {
  const found = await standings(reads, caseIds);
  if (reads === primary) return found;
  const missing = caseIds.filter((_id, index) => found[index]?.position === null);
  if (missing.length === 0) return found;
  const again = await standings(primary, missing);
  const fromPrimary = new Map(missing.map((id, index) => [id, again[index]]));
  return caseIds.map((id, index) => fromPrimary.get(id) ?? found[index] ?? NOT_WAITING);
}

export interface QueueEdge {
  readonly cursor: string;
  readonly node: Case;
  /** Its place in the queue; counted only when a client asks for it. */
  position(): Promise<number>;
}

export interface QueuePage {
  readonly edges: QueueEdge[];
  readonly hasNextPage: boolean;
  /** Counted only when a client asks for it: a sum of the queue's blocks. */
  totalCount(): Promise<number>;
}

/** A cursor names a place in the queue order: (queued_at, queue_seq). */
const encodeCursor = (row: Pick<Case, 'queuedAt' | 'queueSeq'>): string =>
  Buffer.from(`${row.queuedAt.getTime()}:${row.queueSeq}`).toString('base64url');

interface Cursor {
  readonly queuedAt: Date;
  readonly queueSeq: bigint;
}

const MAX_BIGINT = 2n ** 63n - 1n;
// Times PostgreSQL takes as the driver writes them (ISO years 1 to 9999): a
// crafted cursor outside them would fail in the database, not as bad input.
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

function decodeCursor(cursor: string): Cursor {
  // Times may be negative: a case returned to the front can sort before 1970 in principle.
  const [, millis, seq] = /^(-?\d{1,15}):(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8')) ?? [];
  const queueSeq = seq === undefined ? 0n : BigInt(seq);
  const queuedAt = new Date(Number(millis));
  const time = queuedAt.getTime();
  if (seq === undefined || queueSeq > MAX_BIGINT || !(time >= EARLIEST && time <= LATEST))
    throw badInput('after', 'cursor', 'is not a cursor this queue returned');
  return { queuedAt, queueSeq };
}

/** The waiting cases of a service after `from`, oldest first: a range of the queue-order index. */
export function queuePageSql(serviceId: number, from: Cursor | null, limit: number): Prisma.Sql {
  const after =
    from === null
      ? Prisma.empty
      : Prisma.sql`AND (c.queued_at, c.queue_seq) > (${from.queuedAt}::timestamptz, ${from.queueSeq}::bigint)`;
  return Prisma.sql`
    SELECT ${caseColumns('c')} FROM cases c
     WHERE c.service_id = ${serviceId} AND c.status = 'WAITING' ${after}
     ORDER BY c.queued_at, c.queue_seq
     LIMIT ${limit}`;
}

/** How many cases of a service wait, up to and including `upTo` when given: from the queue's blocks. */
export function waitingCountSql(serviceId: number, upTo: Cursor | null): Prisma.Sql {
  const service = Prisma.sql`${serviceId}::int`;
  const count =
    upTo === null
      ? queueLengthSql(service)
      : waitingUpToSql(service, Prisma.sql`${upTo.queuedAt}::timestamptz`, Prisma.sql`${upTo.queueSeq}::bigint`);
  return Prisma.sql`SELECT ${count} AS count`;
}

function lazy<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

/** Waiting cases of a service, oldest first, after the cursor; outside the actor's services, NOT_FOUND as a missing service. */
export async function queuePage(
  db: Database,
  serviceId: number,
  request: QueuePageRequest,
  actor: Actor,
): Promise<QueuePage> {
  requireService(actor, serviceId, 'id');
  const { first, after } = parseInput(queuePageRules, request);
  const from = after === null ? null : decodeCursor(after);
  const count = async (upTo: Cursor | null): Promise<number> =>
    (await db.$queryRaw<{ count: number }[]>(waitingCountSql(serviceId, upTo)))[0]?.count ?? 0;
  const rows = await db.$queryRaw<Case[]>(queuePageSql(serviceId, from, first + 1));
  const ahead = lazy(() => (from === null ? Promise.resolve(0) : count(from)));
  return {
    edges: rows
      .slice(0, first)
      .map((node, index) => ({ cursor: encodeCursor(node), node, position: async () => (await ahead()) + index + 1 })),
    hasNextPage: rows.length > first,
    totalCount: lazy(() => count(null)),
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
  /** Read only when asked: its own statement, so that screens' polls do not plan it. */
  estimateAccuracy(): Promise<EstimateAccuracy>;
  readonly windowMinutes: number;
}

const statisticsRow = z.object({
  waitingCount: z.number().int(),
  inServiceCount: z.number().int(),
  longestWaitSeconds: z.number().int().nullable(),
  averageWaitSeconds: z.number().int().nullable(),
  servedInWindow: z.number().int(),
  enqueuedToday: z.number().int(),
  closedToday: z.number().int(),
  autoClosedToday: z.number().int(),
});

/** Tallies are kept per quarter of an hour from this origin (migration `flat_counts`). */
const quarterOf = (time: Prisma.Sql) =>
  Prisma.sql`date_bin('15 minutes'::interval, ${time}, '2000-01-01 00:00:00+00'::timestamptz)`;

/**
 * The cases of service `service` whose `column` (enqueued_at or closed_at) is
 * at or after `since` (and, with `condition`, meet it): the tallies of the
 * whole quarters from the first quarter boundary at or after `since`, and a
 * count of the cases before that boundary. Exact in every time zone (a
 * midnight need not fall on a quarter) and at most 96 tallies for a day.
 */
function sinceSql(
  service: Prisma.Sql,
  column: 'enqueued_at' | 'closed_at',
  since: Prisma.Sql,
  auto: boolean,
): Prisma.Sql {
  const tally = Prisma.raw(column === 'enqueued_at' ? 'enqueued' : auto ? 'auto_closed' : 'closed');
  const field = Prisma.raw(column);
  const condition = auto ? Prisma.sql`AND auto_close` : Prisma.empty;
  return Prisma.sql`(
    SELECT (SELECT coalesce(sum(t.${tally}), 0) FROM service_tallies t WHERE t.service_id = ${service} AND t.bucket >= edge.at)
         + (SELECT count(*) FROM cases c WHERE c.service_id = ${service} AND c.${field} >= ${since} AND c.${field} < edge.at ${condition})
      FROM (SELECT CASE WHEN ${quarterOf(since)} = ${since} THEN ${since}
                        ELSE ${quarterOf(since)} + interval '15 minutes' END AS at) edge)::int`;
}

/**
 * Figures for one service. "Today" starts at midnight in the service's time
 * zone. The longest wait is that of the case at the head of the queue,
 * counted from its queue time (queued_at), which an index gives directly.
 * Counts over the queue and the day come from the blocks and tallies kept
 * by the trigger on `cases`; those over the window are bounded by the calls
 * in it, however long the queue.
 */
export function statisticsSql(serviceId: number, windowMinutes: number): Prisma.Sql {
  // The bounds are scalar subqueries, computed once, so that they can be index conditions.
  const service = Prisma.sql`service.id`;
  const today = Prisma.sql`service.today`;
  return Prisma.sql`
    WITH service AS (
      SELECT id, (date_trunc('day', clock_timestamp() AT TIME ZONE time_zone) AT TIME ZONE time_zone) AS today
        FROM services WHERE id = ${serviceId}
    ), recent AS (
      SELECT (SELECT clock_timestamp() - make_interval(mins => ${windowMinutes})) AS since
    )
    SELECT
      ${queueLengthSql(service)} AS "waitingCount",
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND status = 'IN_SERVICE') AS "inServiceCount",
      (SELECT floor(extract(epoch FROM clock_timestamp() - queued_at))::int FROM cases
        WHERE service_id = service.id AND status = 'WAITING' ORDER BY queued_at, queue_seq LIMIT 1) AS "longestWaitSeconds",
      (SELECT round(avg(extract(epoch FROM called_at - enqueued_at)))::int FROM cases
        WHERE service_id = service.id AND called_at >= (SELECT since FROM recent)) AS "averageWaitSeconds",
      (SELECT count(*)::int FROM cases WHERE service_id = service.id AND called_at >= (SELECT since FROM recent)) AS "servedInWindow",
      ${sinceSql(service, 'enqueued_at', today, false)} AS "enqueuedToday",
      ${sinceSql(service, 'closed_at', today, false)} AS "closedToday",
      ${sinceSql(service, 'closed_at', today, true)} AS "autoClosedToday"
    FROM service`;
}

/** The figures of a service; outside the actor's services, NOT_FOUND as a missing service. */
export async function queueStatistics(
  db: Database,
  serviceId: number,
  request: StatisticsRequest,
  actor: Actor,
): Promise<QueueStatistics> {
  requireService(actor, serviceId, 'id');
  const { windowMinutes } = parseInput(statisticsRules, request);
  const [raw] = await db.$queryRaw<unknown[]>(statisticsSql(serviceId, windowMinutes));
  if (!raw) throw new Error(`service ${serviceId} vanished while its statistics were read`);
  return {
    ...statisticsRow.parse(raw),
    estimateAccuracy: lazy(() => estimateAccuracy(db, serviceId, windowMinutes)),
    windowMinutes,
  };
}
