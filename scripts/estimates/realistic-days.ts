// A generator of realistic days at a service counter, for the estimate
// backtest: people arrive more at some hours than others (and now and then
// in a crowd), service times have a long tail, agents start late, leave
// early, pause and go to lunch, some people do not show up when called and
// some cases go back to the queue. Seeded, so a seed gives the same day on
// every machine. docs/estimates.md describes it; the numbers are those of a
// busy public counter, not of any one place.

/** What happened to a case, as `case_events` records it. */
export type HistoryAction = 'ENQUEUE' | 'CALL' | 'COMPLETE' | 'CANCEL' | 'RETURN';

export interface HistoryEvent {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly caseId: number;
  readonly action: HistoryAction;
  readonly agent: string | null;
}

/** One queue's history: every event in the order it happened. */
export interface History {
  readonly name: string;
  readonly events: readonly HistoryEvent[];
}

/** A small seeded generator (mulberry32): the same seed, the same day. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3600;
const OPENS = 8 * HOUR;
const DOORS_CLOSE = 16.5 * HOUR;
const DAY_ENDS = 18 * HOUR;
/** Arrivals per hour at each opening hour (08:00 ... 16:00), relative to the day's mean. */
const HOURLY_PROFILE = [0.7, 1.3, 1.5, 1.1, 0.8, 0.9, 1.3, 1.0, 0.6] as const;

interface Agent {
  readonly name: string;
  readonly starts: number;
  readonly ends: number;
  /** [from, to) seconds of the day when the agent takes no new case. */
  readonly pauses: readonly (readonly [number, number])[];
}

const between = (random: () => number, low: number, high: number): number => low + random() * (high - low);

/** A standard normal draw (Box-Muller). */
const normal = (random: () => number): number =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

function agentsOfDay(random: () => number, count: number): Agent[] {
  return Array.from({ length: count }, (_unused, index) => {
    // Most start at opening; some late (the "quiet hour, then everyone at once" morning).
    const starts = OPENS + (random() < 0.6 ? between(random, 0, 10 * 60) : between(random, 30 * 60, 100 * 60));
    const ends = random() < 0.3 ? between(random, 13 * HOUR, 15.5 * HOUR) : DAY_ENDS;
    const lunch = between(random, 11.5 * HOUR, 13.5 * HOUR);
    const pauses: [number, number][] = [[lunch, lunch + between(random, 25 * 60, 50 * 60)]];
    for (let breaks = Math.floor(between(random, 1, 3.99)); breaks > 0; breaks -= 1) {
      const at = between(random, starts, Math.min(ends, DOORS_CLOSE));
      pauses.push([at, at + between(random, 5 * 60, 20 * 60)]);
    }
    return { name: `desk-${index + 1}`, starts, ends, pauses };
  });
}

/** Arrival times (seconds of the day): a Poisson process by the hourly profile, and a crowd or two. */
function arrivalsOfDay(random: () => number, perHour: number): number[] {
  const times: number[] = [];
  let at = OPENS;
  const peak = Math.max(...HOURLY_PROFILE) * perHour;
  // Thinning: draw at the peak rate, keep each with the hour's share of it.
  for (;;) {
    at += -Math.log(1 - random()) * (HOUR / peak);
    if (at >= DOORS_CLOSE) break;
    const hour = HOURLY_PROFILE[Math.floor((at - OPENS) / HOUR)] ?? 0;
    if (random() < (hour * perHour) / peak) times.push(at);
  }
  for (let crowds = random() < 0.5 ? 1 : 2; crowds > 0; crowds -= 1) {
    const at = between(random, OPENS + HOUR, DOORS_CLOSE - HOUR);
    const size = Math.floor(between(random, 8, 20));
    for (let person = 0; person < size; person += 1) times.push(at + between(random, 0, 5 * 60));
  }
  return times.sort((a, b) => a - b);
}

interface Waiting {
  readonly caseId: number;
  /** Queue order: the time it queues from, then a sequence. */
  queuedAt: number;
  seq: number;
  readonly enqueuedAt: number;
}

/**
 * One day of one queue, from a seed. The day's own mix (how many agents,
 * how busy, how long a typical case) is drawn from the seed too.
 */
export function realisticDay(seed: number, dayStart: number = Date.UTC(2026, 10, 2)): History {
  const random = seededRandom(seed);
  const agentCount = Math.floor(between(random, 3, 8.99));
  const medianService = between(random, 150, 420);
  const tail = between(random, 0.6, 0.9);
  // Mean of a log-normal is median·e^(σ²/2); arrivals are 50–70 % of what the agents could serve working without a break (more at the peaks).
  const meanCycle = medianService * Math.exp((tail * tail) / 2) + 20;
  const perHour = (agentCount * 0.8 * HOUR * between(random, 0.6, 0.85)) / meanCycle;
  const agents = agentsOfDay(random, agentCount);
  const arrivals = arrivalsOfDay(random, perHour);

  const events: HistoryEvent[] = [];
  const log = (at: number, caseId: number, action: HistoryAction, agent: string | null) =>
    events.push({ at: dayStart + Math.round(at * 1000), caseId, action, agent });
  const queue: Waiting[] = [];
  const order = (a: Waiting, b: Waiting) => a.queuedAt - b.queuedAt || a.seq - b.seq;
  let seq = 0;
  const busyUntil = new Map<string, { until: number; item: Waiting; outcome: 'COMPLETE' | 'CANCEL' | 'RETURN' }>();
  const freeAt = new Map<string, number>(agents.map((agent) => [agent.name, agent.starts]));
  let next = 0;

  for (let second = OPENS; second < DAY_ENDS; second += 1) {
    while (next < arrivals.length && (arrivals[next] ?? Infinity) <= second) {
      const at = arrivals[next] ?? second;
      next += 1;
      seq += 1;
      queue.push({ caseId: seq, queuedAt: at, seq, enqueuedAt: at });
      log(at, seq, 'ENQUEUE', null);
    }
    for (const agent of agents) {
      const busy = busyUntil.get(agent.name);
      if (busy && busy.until <= second) {
        busyUntil.delete(agent.name);
        log(busy.until, busy.item.caseId, busy.outcome, agent.name);
        if (busy.outcome === 'RETURN') {
          // Back to the front (fetching a document), the back, or the original place.
          const where = random();
          seq += 1;
          busy.item.seq = seq;
          busy.item.queuedAt =
            where < 0.5 ? (queue[0]?.queuedAt ?? busy.until) - 1 : where < 0.8 ? busy.until : busy.item.enqueuedAt;
          queue.push(busy.item);
          queue.sort(order);
        }
        freeAt.set(agent.name, busy.until + between(random, 10, 40));
      }
      const onDuty = second >= agent.starts && second < agent.ends;
      const paused = agent.pauses.some(([from, to]) => second >= from && second < to);
      if (busyUntil.has(agent.name) || !onDuty || paused || (freeAt.get(agent.name) ?? 0) > second) continue;
      const item = queue.shift();
      if (!item) continue;
      log(second, item.caseId, 'CALL', agent.name);
      const draw = random();
      const outcome = draw < 0.07 ? 'CANCEL' : draw < 0.12 ? 'RETURN' : 'COMPLETE';
      const length =
        outcome === 'CANCEL'
          ? between(random, 30, 90)
          : outcome === 'RETURN'
            ? between(random, 60, 180)
            : medianService * Math.exp(tail * normal(random)) * (random() < 0.02 ? 4 : 1);
      busyUntil.set(agent.name, { until: second + Math.max(20, length), item, outcome });
    }
  }
  // Whoever still waits when the day ends is sent home: cancelled, never called.
  for (const item of queue) log(DAY_ENDS, item.caseId, 'CANCEL', null);
  events.sort((a, b) => a.at - b.at);
  return { name: `generated day, seed ${seed} (${agentCount} agents)`, events };
}
