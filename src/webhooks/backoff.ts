// How long a delivery waits after a failed attempt: doubling from `baseMs`,
// capped at `maxMs`, with "equal jitter" (half the step fixed, half random),
// so endpoints that failed together do not retry together, yet no retry comes
// sooner than half its step. With the defaults (5 s, cap 1 h) the waits are
// 2.5–5 s, 5–10 s, … and from the 10th retry on 30–60 min: over the 24 h before
// an endpoint is marked failing, about 40 attempts per lane (11 in the first
// hour or so, then one every 45 min on average). A receiver that answers 429
// or 503 with `Retry-After` is not tried again sooner than it asked, up to the
// same cap: a receiver cannot put its deliveries off for longer than the
// backoff itself would.

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

/**
 * A `Retry-After` value (RFC 9110: whole seconds, or an HTTP date) as ms from
 * `now`; null when absent or not one of those. A date in the past is 0.
 */
export function retryAfterMs(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") or the obsolete RFC 850
  // form, both in GMT. Not asctime's, which names no zone: Date.parse would
  // read it in the process's local time.
  if (!/^[A-Za-z]+, \d.* GMT$/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

/** The wait after a failed attempt: the backoff's, or longer when the receiver asked for it, never past `maxMs`. */
export function nextWaitMs(
  attempt: number,
  settings: BackoffSettings,
  askedMs: number | null,
  random: () => number = Math.random,
): number {
  const backoff = retryDelayMs(attempt, settings, random);
  return askedMs === null ? backoff : Math.max(backoff, Math.min(askedMs, settings.maxMs));
}
