// Positions and queue lengths that cost the same at a thousand waiting as at
// a million. The trigger of migration `flat_counts` keeps `queue_blocks`: a
// service's waiting cases cut into blocks of the queue order (queued_at,
// queue_seq), a few hundred cases each, with their count. So:
//   - a queue's length is the sum of its blocks (one row per ~256 waiting);
//   - a case's position is the sum of the blocks before its own, plus its rank
//     inside its block, counted from whichever end of the block is nearer
//     (at most 512 index entries, about a quarter of a block on average).
// Blocks and cases change in the same transaction, so one statement's
// snapshot sees them agree: positions are exact (docs/database.md, "Counts
// that stay flat"; test/queue/positions.test.ts compares them with a plain
// count over randomised histories).
import { Prisma } from '../generated/prisma/client.js';

/** How many cases of `service` (an SQL expression) wait: the sum of its blocks. */
export const queueLengthSql = (service: Prisma.Sql): Prisma.Sql =>
  Prisma.sql`(SELECT coalesce(sum(b.waiting), 0)::int FROM queue_blocks b WHERE b.service_id = ${service})`;

/**
 * How many cases of `service` wait at or before the place (at, seq), which
 * need not be a waiting case's: the blocks before the place's block, and a
 * count inside it.
 */
export function waitingUpToSql(service: Prisma.Sql, at: Prisma.Sql, seq: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`coalesce((
    SELECT (SELECT coalesce(sum(p.waiting), 0) FROM queue_blocks p
             WHERE p.service_id = ${service} AND (p.first_at, p.first_seq) < (q.first_at, q.first_seq))
         + (SELECT count(*) FROM cases w
             WHERE w.service_id = ${service} AND w.status = 'WAITING'
               AND (w.queued_at, w.queue_seq) >= (q.first_at, q.first_seq) AND (w.queued_at, w.queue_seq) <= (${at}, ${seq}))
      FROM queue_blocks q
     WHERE q.service_id = ${service} AND (q.first_at, q.first_seq) <= (${at}, ${seq})
     ORDER BY q.first_at DESC, q.first_seq DESC LIMIT 1), 0)::int`;
}

/**
 * How the sum of the blocks ahead of each ranked block is taken: `span` sums
 * them for each block that holds asked cases (cheapest for a few: the head of
 * a queue sums nothing), `running` takes one running sum over all the blocks
 * of the services (cheapest for many cases spread over the queue).
 */
export type AheadSum = 'span' | 'running';

/** `span` up to this many asked cases, `running` beyond. */
const SPAN_SUMS_UP_TO = 16;
export const aheadSumFor = (asked: number): AheadSum => (asked <= SPAN_SUMS_UP_TO ? 'span' : 'running');

/** A block with up to this many asked cases counts up to each of them; one with more is ranked once. */
const COUNT_EACH_UP_TO = 4;

/**
 * CTEs (to follow a WITH and a CTE named `asked` with the columns id,
 * service_id, queued_at and queue_seq of waiting cases, and `columns`) that
 * end in `ranked (id, service_id, position, ...columns)`: one row per asked
 * case. Inside its block, a case's rank is a count of the waiting cases from
 * the block's start up to it (an index range, no table rows), or, where a
 * block holds more than a few asked cases, one numbering of the block up to
 * its last asked case; added to the sum of the blocks ahead (`ahead`).
 * `ranked` is materialized and never joined back to `asked` by id: the
 * planner, blind to how many rows CTEs hold, would rank again for each asked
 * case. `columns` are read from `cases` in the same snapshot.
 */
export function rankedSql(ahead: AheadSum, columns: readonly string[] = []): Prisma.Sql {
  const sums =
    ahead === 'span'
      ? Prisma.sql`SELECT s.service_id, s.first_at, s.first_seq,
                          (SELECT coalesce(sum(p.waiting), 0) FROM queue_blocks p
                            WHERE p.service_id = s.service_id AND (p.first_at, p.first_seq) < (s.first_at, s.first_seq)) AS ahead,
                          b.waiting, n.first_at AS end_at, n.first_seq AS end_seq
                     FROM spans s
                     JOIN queue_blocks b USING (service_id, first_at, first_seq)
                     LEFT JOIN LATERAL (SELECT q.first_at, q.first_seq FROM queue_blocks q
                                         WHERE q.service_id = s.service_id AND (q.first_at, q.first_seq) > (s.first_at, s.first_seq)
                                         ORDER BY q.first_at, q.first_seq LIMIT 1) n ON true`
      : Prisma.sql`SELECT * FROM (
                     SELECT q.service_id, q.first_at, q.first_seq,
                            sum(q.waiting) OVER w - q.waiting AS ahead, q.waiting,
                            lead(q.first_at) OVER w AS end_at, lead(q.first_seq) OVER w AS end_seq
                       FROM queue_blocks q WHERE q.service_id IN (SELECT DISTINCT service_id FROM asked)
                     WINDOW w AS (PARTITION BY q.service_id ORDER BY q.first_at, q.first_seq)) every_block
                   -- Only the blocks holding asked cases are kept: the joins below then read those.
                   WHERE (service_id, first_at, first_seq) IN (SELECT service_id, first_at, first_seq FROM spans)`;
  const from = (table: string) => Prisma.raw(columns.map((column) => `, ${table}.${column}`).join(''));
  return Prisma.sql`
    placed AS (
      SELECT a.* , b.first_at, b.first_seq
        FROM asked a
        CROSS JOIN LATERAL (SELECT q.first_at, q.first_seq FROM queue_blocks q
                             WHERE q.service_id = a.service_id AND (q.first_at, q.first_seq) <= (a.queued_at, a.queue_seq)
                             ORDER BY q.first_at DESC, q.first_seq DESC LIMIT 1) b
    ), spans AS (
      SELECT service_id, first_at, first_seq, array_agg(id) AS ids,
             (array_agg(queued_at ORDER BY queued_at DESC, queue_seq DESC))[1] AS last_at,
             (array_agg(queue_seq ORDER BY queued_at DESC, queue_seq DESC))[1] AS last_seq
        FROM placed GROUP BY service_id, first_at, first_seq
    ), block_sums AS (
      ${sums}
    ), ranked AS MATERIALIZED (
      SELECT r.id, s.service_id, (bs.ahead + r.number)::int AS position ${from('r')}
        FROM spans s
        JOIN block_sums bs USING (service_id, first_at, first_seq)
        CROSS JOIN LATERAL (SELECT w.* , row_number() OVER (ORDER BY w.queued_at, w.queue_seq) AS number FROM cases w
                             WHERE w.service_id = s.service_id AND w.status = 'WAITING'
                               AND (w.queued_at, w.queue_seq) >= (s.first_at, s.first_seq)
                               AND (w.queued_at, w.queue_seq) <= (s.last_at, s.last_seq)) r
       WHERE cardinality(s.ids) > ${COUNT_EACH_UP_TO} AND r.id = ANY(s.ids)
      UNION ALL
      SELECT p.id, p.service_id,
             (bs.ahead + CASE
               -- Counted from the nearer end of the block: sequence numbers
               -- follow queue order closely enough to guess which (a wrong
               -- guess costs time, never exactness). The first block, which
               -- starts at -infinity, and the last are counted from the start.
               WHEN p.first_at <> '-infinity' AND p.queue_seq - p.first_seq > bs.end_seq - p.queue_seq
               THEN bs.waiting - (SELECT count(*) FROM cases w
                                   WHERE w.service_id = p.service_id AND w.status = 'WAITING'
                                     AND (w.queued_at, w.queue_seq) > (p.queued_at, p.queue_seq)
                                     AND (w.queued_at, w.queue_seq) < (bs.end_at, bs.end_seq))
               ELSE (SELECT count(*) FROM cases w
                      WHERE w.service_id = p.service_id AND w.status = 'WAITING'
                        AND (w.queued_at, w.queue_seq) >= (p.first_at, p.first_seq)
                        AND (w.queued_at, w.queue_seq) <= (p.queued_at, p.queue_seq)) END)::int AS position ${from('p')}
        FROM placed p
        JOIN spans s USING (service_id, first_at, first_seq)
        JOIN block_sums bs USING (service_id, first_at, first_seq)
       WHERE cardinality(s.ids) <= ${COUNT_EACH_UP_TO}
    )`;
}
