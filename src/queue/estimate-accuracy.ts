// How honest the estimated waits are: the estimate each enqueue answered
// with is kept (wait_estimates), and a service's statistics set the kept
// estimates against the waits that followed (from when each was given to the first call).
import { Prisma } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import type { Standing } from './standing.js';

/**
 * Keeps the estimates of a batch of new cases (those that have one), once:
 * the first answer's is the estimate the person was given.
 */
export async function keepEstimates(
  db: Database,
  caseIds: readonly number[],
  given: readonly Standing[],
): Promise<void> {
  const kept = caseIds.flatMap((caseId, index) => {
    const standing = given[index];
    const range = standing?.estimatedWaitRange;
    return standing?.position != null && standing.estimatedWaitSeconds !== null && range
      ? [{ caseId, position: standing.position, seconds: standing.estimatedWaitSeconds, ...range }]
      : [];
  });
  if (kept.length === 0) return;
  const column = <K extends keyof (typeof kept)[number]>(key: K) => kept.map((each) => each[key]);
  await db.$executeRaw`
    INSERT INTO wait_estimates (case_id, position, seconds, low, high)
    SELECT * FROM unnest(${column('caseId')}::int[], ${column('position')}::int[], ${column('seconds')}::int[],
                         ${column('low')}::int[], ${column('high')}::int[])
    ON CONFLICT (case_id) DO NOTHING`;
}

/** How close the estimates given came to the waits that followed. */
export interface EstimateAccuracy {
  readonly estimatesRealised: number;
  readonly meanAbsoluteErrorSeconds: number | null;
  readonly withinRangeShare: number | null;
}

/**
 * The accuracy of the kept estimates of service `serviceId` whose case was
 * called in the last `windowMinutes`: how many, their mean absolute error in
 * seconds and the share of waits within their range. The actual wait runs
 * from when the estimate was given (just after the enqueue's commit) to the
 * case's first call (a returned case is called again later). Bounded by the
 * calls in the window.
 */
export function estimateAccuracySql(serviceId: number, windowMinutes: number): Prisma.Sql {
  return Prisma.sql`
    SELECT count(*)::int AS "estimatesRealised",
           round(avg(abs(w.seconds - realised.wait)))::int AS "meanAbsoluteErrorSeconds",
           -- Ranges are whole seconds: a wait within half a second of one is in it, as the backtest counts.
           avg(CASE WHEN realised.wait BETWEEN w.low - 0.5 AND w.high + 0.5 THEN 1 ELSE 0 END)::float8 AS "withinRangeShare"
      FROM cases c
      JOIN wait_estimates w ON w.case_id = c.id
      CROSS JOIN LATERAL (
        SELECT extract(epoch FROM min(e.at) - w.given_at) AS wait FROM case_events e
         WHERE e.case_id = c.id AND e.action IN ('CALL_NEXT', 'CALL_CASE')) realised
     WHERE c.service_id = ${serviceId}
       AND c.called_at >= (SELECT clock_timestamp() - make_interval(mins => ${windowMinutes}))
       AND realised.wait IS NOT NULL`;
}

export async function estimateAccuracy(
  db: Database,
  serviceId: number,
  windowMinutes: number,
): Promise<EstimateAccuracy> {
  const [row] = await db.$queryRaw<EstimateAccuracy[]>(estimateAccuracySql(serviceId, windowMinutes));
  return row ?? { estimatesRealised: 0, meanAbsoluteErrorSeconds: null, withinRangeShare: null };
}
