// A case's standing in its queue: its position and estimated wait, as every
// edge shows it. Apart from the reads that compute it (queue-reads.ts) so that
// what only needs the shape (kept estimates, REST answers) imports no reads.
import { waitEstimator, type PaceSample } from './wait-estimate.js';

/** An estimated wait's range, in seconds: the 20th and 80th percentiles as the estimator sees them. */
export interface WaitRange {
  readonly low: number;
  readonly high: number;
}

export interface Standing {
  /** From 1 (called next); null when the case is not waiting. */
  readonly position: number | null;
  readonly estimatedWaitSeconds: number | null;
  readonly estimatedWaitRange: WaitRange | null;
}

/** The standing of a case that does not wait. */
export const NOT_WAITING: Standing = { position: null, estimatedWaitSeconds: null, estimatedWaitRange: null };

/** The standing of a waiting case at a position, its service's pace sampled as `sample`. */
export function standingsIn(sample: PaceSample): (position: number) => Standing {
  const estimate = waitEstimator(sample);
  return (position) => {
    const wait = estimate(position);
    return {
      position,
      estimatedWaitSeconds: wait?.seconds ?? null,
      estimatedWaitRange: wait === null ? null : { low: wait.low, high: wait.high },
    };
  };
}
