// How long a delivery waits after a failed attempt: doubling from `baseMs`,
// capped at `maxMs`, with "equal jitter" (half the step fixed, half random),
// so endpoints that failed together do not retry together, yet no retry comes
// sooner than half its step. With the defaults (5 s, cap 1 h) the waits are
// 2.5–5 s, 5–10 s, … and from the 10th retry on 30–60 min: over the 24 h before
// an endpoint is marked failing, about 40 attempts per lane (11 in the first
// hour or so, then one every 45 min on average).

export interface BackoffSettings {
  /** The first wait's ceiling, in ms. */
  readonly baseMs: number;
  /** The largest ceiling, in ms. */
  readonly maxMs: number;
}

/** Doubling stops here: 2^40 × any sane base is past every cap, and larger powers only risk Infinity. */
const MAX_DOUBLINGS = 40;

/**
 * The wait after failed attempt number `attempt` (1 for the first), in whole
 * ms: uniformly within [ceiling / 2, ceiling], ceiling = min(maxMs, baseMs × 2^(attempt − 1)).
 */
export function retryDelayMs(
  attempt: number,
  { baseMs, maxMs }: BackoffSettings,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt counts from 1');
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, MAX_DOUBLINGS));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
