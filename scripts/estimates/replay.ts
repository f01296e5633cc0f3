// Replays a queue's history as the gateway would have lived it: at each
// enqueue, the estimators are asked for the new case's wait with only what
// the cases table showed at that moment (the same bounded sample the
// gateway reads in SQL), and their answers are set against the wait that
// followed (enqueue to first call).
import { PACE_SAMPLE, type PaceCall, type PaceSample } from '../../src/queue/wait-estimate.js';
import type { History } from './realistic-days.js';

/** What an estimator gives: a point, perhaps a range, or nothing. */
export interface Guess {
  readonly seconds: number;
  readonly low?: number;
  readonly high?: number;
}

export interface Estimator {
  readonly name: string;
  /** `callsInLastHour` counts every case whose latest call is in the last hour (the old estimate's input). */
  guess(position: number, sample: PaceSample, callsInLastHour: number): Guess | null;
}

/** One estimate set against what happened. */
export interface Outcome {
  readonly estimator: string;
  readonly actualSeconds: number;
  readonly guess: Guess | null;
}

interface Row {
  status: 'WAITING' | 'IN_SERVICE' | 'CLOSED';
  calledAt: number | null;
  agent: string | null;
  closedAt: number | null;
}

/** The pace sample the gateway's SQL would read from `rows` at `now`. */
function sampleOf(
  rows: ReadonlyMap<number, Row>,
  calls: readonly { caseId: number; at: number }[],
  closes: readonly number[],
  now: number,
) {
  const recent: PaceCall[] = [];
  const since = now - PACE_SAMPLE.callsWithinSeconds * 1000;
  let lastHour = 0;
  // `calls` (every call) and `closes` (case ids) are in the order they happened, newest last. A
  // case called again has only its latest call in the table, as in the gateway's cases table.
  for (let index = calls.length - 1; index >= 0; index -= 1) {
    const call = calls[index];
    const row = rows.get(call?.caseId ?? -1);
    if (!row || row.calledAt === null || row.calledAt !== call?.at) continue;
    if (row.calledAt < since) break;
    if (row.calledAt >= now - 3600 * 1000) lastHour += 1;
    if (recent.length < PACE_SAMPLE.calls) recent.push({ at: row.calledAt, agent: row.agent, closedAt: row.closedAt });
  }
  const closeSeconds: number[] = [];
  for (let index = closes.length - 1; index >= 0 && closeSeconds.length < PACE_SAMPLE.closes; index -= 1) {
    const row = rows.get(closes[index] ?? -1);
    if (row?.closedAt == null || row.calledAt === null) continue;
    if (row.closedAt < now - PACE_SAMPLE.closesWithinSeconds * 1000) break;
    closeSeconds.push((row.closedAt - row.calledAt) / 1000);
  }
  const inServiceAgents: (string | null)[] = [];
  for (const row of rows.values()) if (row.status === 'IN_SERVICE') inServiceAgents.push(row.agent);
  const sample: PaceSample = { now, calls: recent, closeSeconds, inServiceAgents };
  return { sample, lastHour };
}

/** Every estimator's guess at every enqueue of `history` that was later called, with the actual wait. */
export function replay(history: History, estimators: readonly Estimator[]): Outcome[] {
  const firstCall = new Map<number, number>();
  for (const event of history.events)
    if (event.action === 'CALL' && !firstCall.has(event.caseId)) firstCall.set(event.caseId, event.at);

  const rows = new Map<number, Row>();
  const calls: { caseId: number; at: number }[] = [];
  const closes: number[] = [];
  let waiting = 0;
  const outcomes: Outcome[] = [];
  for (const event of history.events) {
    const row = rows.get(event.caseId);
    switch (event.action) {
      case 'ENQUEUE': {
        const called = firstCall.get(event.caseId);
        if (called !== undefined) {
          const { sample, lastHour } = sampleOf(rows, calls, closes, event.at);
          for (const estimator of estimators)
            outcomes.push({
              estimator: estimator.name,
              actualSeconds: (called - event.at) / 1000,
              guess: estimator.guess(waiting + 1, sample, lastHour),
            });
        }
        rows.set(event.caseId, { status: 'WAITING', calledAt: null, agent: null, closedAt: null });
        waiting += 1;
        break;
      }
      case 'CALL':
        if (!row) break;
        if (row.status === 'WAITING') waiting -= 1;
        Object.assign(row, { status: 'IN_SERVICE', calledAt: event.at, agent: event.agent });
        calls.push({ caseId: event.caseId, at: event.at });
        break;
      case 'RETURN':
        if (!row) break;
        if (row.status !== 'WAITING') waiting += 1;
        // Every action names its agent in last_agent, as the gateway's transitions do.
        Object.assign(row, { status: 'WAITING', agent: event.agent });
        break;
      case 'COMPLETE':
      case 'CANCEL':
        if (!row) break;
        if (row.status === 'WAITING') waiting -= 1;
        Object.assign(row, { status: 'CLOSED', closedAt: event.at, agent: event.agent });
        if (row.calledAt !== null) closes.push(event.caseId);
        break;
    }
  }
  return outcomes;
}

/** How one estimator did over some outcomes. */
export interface Score {
  readonly estimator: string;
  readonly cases: number;
  /** Share of cases it gave an estimate for. */
  readonly answered: number;
  readonly meanAbsoluteError: number;
  readonly p90AbsoluteError: number;
  /** Share of its ranges that held the actual wait; null when it gives no range. */
  readonly withinRange: number | null;
}

export function score(estimator: string, outcomes: readonly Outcome[]): Score {
  const mine = outcomes.filter((outcome) => outcome.estimator === estimator);
  const answered = mine.filter((outcome) => outcome.guess !== null);
  const errors = answered
    .map((outcome) => Math.abs((outcome.guess?.seconds ?? 0) - outcome.actualSeconds))
    .sort((a, b) => a - b);
  const ranged = answered.filter((outcome) => outcome.guess?.low !== undefined && outcome.guess.high !== undefined);
  const held = ranged.filter(
    (outcome) =>
      (outcome.guess?.low ?? 0) <= outcome.actualSeconds + 0.5 &&
      outcome.actualSeconds - 0.5 <= (outcome.guess?.high ?? 0),
  );
  return {
    estimator,
    cases: mine.length,
    answered: mine.length === 0 ? 0 : answered.length / mine.length,
    meanAbsoluteError: errors.length === 0 ? NaN : errors.reduce((sum, error) => sum + error, 0) / errors.length,
    p90AbsoluteError: errors[Math.min(errors.length - 1, Math.floor(errors.length * 0.9))] ?? NaN,
    withinRange: ranged.length === 0 ? null : held.length / ranged.length,
  };
}
