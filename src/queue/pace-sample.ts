// The sample of a service's recent pace that wait estimates are made from
// (wait-estimate.ts), read in SQL next to the positions it is for: a few
// short index scans, bounded by PACE_SAMPLE however long the queue or the
// day. Times travel as epoch milliseconds, so no date parsing on the way.
import { Prisma } from '../generated/prisma/client.js';
import { z } from 'zod';
import { PACE_SAMPLE, type PaceSample } from './wait-estimate.js';

const epochMillis = (column: Prisma.Sql) => Prisma.sql`(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * The pace sample of the service `service` (an SQL expression) as the columns
 * "paceNow", "callAt", "callAgent", "callClosedAt", "closeSeconds" and
 * "inServiceAgents". The bounds are scalar subqueries (computed once) so
 * that they can be index conditions.
 */
export function paceSampleColumns(service: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
      ${epochMillis(Prisma.sql`clock_timestamp()`)} AS "paceNow",
      calls."callAt", calls."callAgent", calls."callClosedAt",
      ARRAY(SELECT extract(epoch FROM c.closed_at - c.called_at)::float8 FROM cases c
             WHERE c.service_id = ${service} AND c.called_at IS NOT NULL
               AND c.closed_at >= (SELECT clock_timestamp() - make_interval(secs => ${PACE_SAMPLE.closesWithinSeconds}))
             ORDER BY c.closed_at DESC LIMIT ${PACE_SAMPLE.closes}) AS "closeSeconds",
      ARRAY(SELECT c.last_agent FROM cases c WHERE c.service_id = ${service} AND c.status = 'IN_SERVICE'
             ORDER BY c.called_at DESC LIMIT ${PACE_SAMPLE.inService}) AS "inServiceAgents"`;
}

/** The recent calls of `service`, as a lateral join named `calls` that paceSampleColumns reads. */
export function paceCallsJoin(service: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`CROSS JOIN LATERAL (
      SELECT coalesce(array_agg(${epochMillis(Prisma.sql`r.called_at`)} ORDER BY r.called_at DESC, r.id DESC), '{}') AS "callAt",
             coalesce(array_agg(r.last_agent ORDER BY r.called_at DESC, r.id DESC), '{}') AS "callAgent",
             coalesce(array_agg(${epochMillis(Prisma.sql`r.closed_at`)} ORDER BY r.called_at DESC, r.id DESC), '{}') AS "callClosedAt"
        FROM (SELECT c.id, c.called_at, c.last_agent, c.closed_at FROM cases c
               WHERE c.service_id = ${service}
                 AND c.called_at >= (SELECT clock_timestamp() - make_interval(secs => ${PACE_SAMPLE.callsWithinSeconds}))
               ORDER BY c.called_at DESC, c.id DESC LIMIT ${PACE_SAMPLE.calls}) r) calls`;
}

/** The columns of paceSampleColumns, checked. */
export const paceSampleRow = z.object({
  paceNow: z.number(),
  callAt: z.array(z.number()),
  callAgent: z.array(z.string().nullable()),
  callClosedAt: z.array(z.number().nullable()),
  closeSeconds: z.array(z.number()),
  inServiceAgents: z.array(z.string().nullable()),
});

export type PaceSampleRow = z.infer<typeof paceSampleRow>;

/** The sample the estimator takes, from the columns of paceSampleColumns. */
export function paceSampleOf(row: PaceSampleRow): PaceSample {
  return {
    now: row.paceNow,
    calls: row.callAt.map((at, index) => ({
      at,
      agent: row.callAgent[index] ?? null,
      closedAt: row.callClosedAt[index] ?? null,
    })),
    closeSeconds: row.closeSeconds,
    inServiceAgents: row.inServiceAgents,
  };
}
