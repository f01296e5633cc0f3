// How long a person who joins a queue will wait, from what the queue knows:
// which agents serve it now, how long their recent cases took from one call
// to the next, and how many cases are ahead. A pure function of a bounded
// sample of recent rows (`PaceSample`), so the gateway (which reads the
// sample in SQL, queue-reads.ts) and the backtest (scripts/estimates/, which
// builds it from a replayed history) run the very same rule. Why this rule and
// how well it does: docs/estimates.md.

/** The bounds of the sample read from the cases table; the SQL and the backtest both use them. */
export const PACE_SAMPLE = {
  /** Calls (a case's latest `called_at`) at most this old... */
  callsWithinSeconds: 2 * 3600,
  /** ...and at most this many, newest first. */
  calls: 60,
  /** Cases closed after a call, newest first (yesterday's stand in before today's first call)... */
  closes: 40,
  /** ...at most this old: the scan over closes is bounded by a week's, whatever the service's past. */
  closesWithinSeconds: 7 * 24 * 3600,
  /** Cases in service, most recently called first. */
  inService: 100,
} as const;

/** One call: a case's latest `called_at` and its `last_agent` (who called it, or who acted on it since). */
export interface PaceCall {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly agent: string | null;
  /** When the case was closed, if it was (milliseconds since the epoch). */
  readonly closedAt: number | null;
}

/** What the queue knows of its recent pace (bounded by PACE_SAMPLE). */
export interface PaceSample {
  /** The database's clock when the sample was read, in milliseconds since the epoch. */
  readonly now: number;
  /** Recent calls, newest first. */
  readonly calls: readonly PaceCall[];
  /** Seconds from call to close of the most recently closed cases, newest first. */
  readonly closeSeconds: readonly number[];
  /** The agents of the cases in service now (an agent may appear more than once). */
  readonly inServiceAgents: readonly (string | null)[];
}

/** An estimated wait in whole seconds: a point, and a range meant to hold 3 waits in 5. */
export interface WaitEstimate {
  readonly seconds: number;
  readonly low: number;
  readonly high: number;
}

/** An agent with a call this recent (or a case in service) is counted as serving. */
const ACTIVE_SECONDS = 10 * 60;
/** From a close to the same agent's next call: longer than this is a pause, not a turnaround. */
const PAUSE_SECONDS = 3 * 60;
/** A case longer than this many typical ones counts as this long: one forgotten in service stretches nothing. */
const LONG_CASE_FACTOR = 4;
/** No estimate goes beyond a week: past that it says nothing a person can use, and stays an Int. */
const MAX_WAIT_SECONDS = 7 * 24 * 3600;
/** Over a wait this long, the pace the agents really kept (pauses included) counts for 1/e... */
const HORIZON_SECONDS = 3600;
/** ...measured over at least this many of the most recent calls. */
const MIN_CALLS = 3;
/** Fewer closes than this say too little of a case's length (one quick case would promise seconds). */
const MIN_CLOSES = 3;
/** The z of the 20th and 80th percentiles of a normal distribution. */
const Z_80 = 0.8416;
/** Relative drift of the pace over a wait (people join, leave and pause): fitted by the backtest. */
const DRIFT = 0.35;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;

/** The mean, each value capped at LONG_CASE_FACTOR × the median (a winsorised mean). */
function robustMean(values: readonly number[]): number {
  const cap = LONG_CASE_FACTOR * median(values);
  return mean(values.map((value) => Math.min(value, cap)));
}

/** Seconds from each close to the same agent's next call, pauses left out. */
function turnarounds(calls: readonly PaceCall[]): number[] {
  const byAgent = new Map<string, PaceCall[]>();
  for (const call of calls) {
    if (call.agent === null) continue;
    byAgent.set(call.agent, [...(byAgent.get(call.agent) ?? []), call]);
  }
  const gaps: number[] = [];
  for (const own of byAgent.values()) {
    own.sort((a, b) => a.at - b.at);
    own.forEach((call, index) => {
      const before = own[index - 1];
      if (before?.closedAt == null) return;
      const gap = (call.at - before.closedAt) / 1000;
      if (gap >= 0 && gap <= PAUSE_SECONDS) gaps.push(gap);
    });
  }
  return gaps;
}

/**
 * Agents between two cases: no case in service, and their latest case closed
 * within PAUSE_SECONDS. One idle longer is on a break, not about to call.
 */
function freeAgents(sample: PaceSample): number {
  const busy = new Set(sample.inServiceAgents);
  const latest = new Map<string | null, PaceCall>();
  for (const call of sample.calls) if (!latest.has(call.agent)) latest.set(call.agent, call);
  let free = 0;
  for (const [agent, call] of latest)
    if (!busy.has(agent) && call.closedAt !== null && sample.now - call.closedAt <= PAUSE_SECONDS * 1000) free += 1;
  return free;
}

/** The agents serving the queue now: those with a case in service or a recent call. */
function activeAgents(sample: PaceSample): number {
  const agents = new Set<string | null>(sample.inServiceAgents);
  for (const call of sample.calls) if (sample.now - call.at <= ACTIVE_SECONDS * 1000) agents.add(call.agent);
  return agents.size;
}

/** Calls per second the agents serving now can make, pauses aside: agents ÷ (service + turnaround). */
function capacity(sample: PaceSample): number | null {
  if (sample.closeSeconds.length < MIN_CLOSES) return null;
  const turns = turnarounds(sample.calls);
  const cycle = robustMean(sample.closeSeconds) + (turns.length > 0 ? median(turns) : 0);
  // Before the day's first call nobody is serving yet: one agent, until more show up.
  return Math.max(1, activeAgents(sample)) / Math.max(1, cycle);
}

/** Calls per second over the most recent calls, up to now: the pace kept, pauses and all. */
function keptPace(sample: PaceSample): number | null {
  const count = sample.calls.length;
  const oldest = sample.calls[count - 1];
  if (count < MIN_CALLS || oldest === undefined) return null;
  return count / Math.max(60, (sample.now - oldest.at) / 1000);
}

/**
 * The wait of a case at `position` (1: called next): `position − ½` calls,
 * less the agents between two cases (who call at once), at a pace that
 * starts as what the agents serving now can do and, the longer the wait,
 * leans to the pace they have really kept (breaks and departures included);
 * at most a week. Unknown (null) when fewer than three cases were closed
 * after a call in the last week and fewer than three were called in the last
 * two hours. The range widens with the few calls a short wait spans and with
 * how much the pace drifts over a long one.
 *
 * What depends on the sample alone is worked out once: a live read estimates
 * the wait of every watched case from one sample.
 */
export function waitEstimator(sample: PaceSample): (position: number) => WaitEstimate | null {
  const now = capacity(sample);
  const kept = keptPace(sample);
  if (now === null && kept === null) return () => null;
  // An agent between two cases calls the next one at once.
  const free = freeAgents(sample);
  return (position) => {
    const pace =
      now === null || kept === null
        ? (now ?? kept)
        : (() => {
            const near = Math.exp(-position / now / HORIZON_SECONDS);
            return near * now + (1 - near) * kept;
          })();
    if (pace === null) return null;
    const seconds = position <= free ? 0 : (position - 0.5 - free) / pace;
    const spread = Math.sqrt(1 / position + DRIFT * DRIFT);
    // The high end does not count on the agents between two cases (one may be off on a break
    // the queue cannot see), for every position alike: so it never falls as the position rises.
    const upper = (position - 0.5) / pace;
    const whole = (value: number) => Math.min(MAX_WAIT_SECONDS, Math.round(value));
    return {
      seconds: whole(seconds),
      low: whole(seconds * Math.exp(-Z_80 * spread)),
      high: whole(upper * Math.exp(Z_80 * spread)),
    };
  };
}

/** The wait of one case at `position` (waitEstimator says how). */
export function estimateWait(position: number, sample: PaceSample): WaitEstimate | null {
  return waitEstimator(sample)(position);
}

/** The window of the hourly call rate, the estimate before this one. */
export const CALL_RATE_WINDOW_SECONDS = 3600;

/**
 * The estimate the gateway gave before this module: position × the mean
 * interval between the service's calls over the last hour; unknown when
 * nothing was called in that hour. Kept for the backtest's comparison.
 */
export function hourlyCallRateEstimate(position: number, callsInLastHour: number): number | null {
  return callsInLastHour > 0 ? Math.round((position * CALL_RATE_WINDOW_SECONDS) / callsInLastHour) : null;
}
