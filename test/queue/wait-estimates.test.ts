// Wait estimates: the rule on samples made by hand, then the gateway's SQL
// sample of a service with a known past, read by the enqueue answer, by
// case(id) and by the live state read alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standings } from '../../src/queue/queue-reads.js';
import { readServiceState } from '../../src/queue/live-reads.js';
import { estimateWait, type PaceCall, type PaceSample } from '../../src/queue/wait-estimate.js';
import {
  CallNextDocument,
  EnqueueCaseDocument,
  QueueStatisticsDocument,
} from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const NOW = Date.UTC(2026, 11, 7, 10);
const minutes = (count: number) => count * 60_000;
const call = (agent: string, calledMinutesAgo: number, closedMinutesAgo: number | null = null): PaceCall => ({
  at: NOW - minutes(calledMinutesAgo),
  agent,
  closedAt: closedMinutesAgo === null ? null : NOW - minutes(closedMinutesAgo),
});

/** One agent, serving cases of 5 minutes with a minute between them. */
const steady: PaceSample = {
  now: NOW,
  calls: [call('a', 2), call('a', 8, 3), call('a', 14, 9), call('a', 20, 15)],
  closeSeconds: [300, 300, 300],
  inServiceAgents: ['a'],
};

describe('the estimate rule', () => {
  it('knows nothing of a queue never served, nor from one or two quick cases', () => {
    expect(estimateWait(3, { now: NOW, calls: [], closeSeconds: [], inServiceAgents: [] })).toBeNull();
    const twoCases = {
      now: NOW,
      calls: [call('a', 1, 0.9), call('a', 2, 1.9)],
      closeSeconds: [6, 6],
      inServiceAgents: [],
    };
    expect(estimateWait(3, twoCases)).toBeNull();
    // A third call: the pace kept over them stands in.
    expect(estimateWait(3, { ...twoCases, calls: [call('a', 0.5), ...twoCases.calls] })).not.toBeNull();
  });

  it('counts the cases ahead at the pace of the agents serving now', () => {
    // Cycle 300 + 60 s, one agent busy: position 1 waits half a cycle, position 2 one and a half.
    const first = estimateWait(1, steady);
    const second = estimateWait(2, steady);
    expect(first?.seconds).toBeGreaterThan(150);
    expect(first?.seconds).toBeLessThan(200);
    expect(second?.seconds).toBeGreaterThan(500);
    expect(second?.seconds).toBeLessThan(560);
  });

  it('halves the wait when a second agent serves', () => {
    const alone = estimateWait(2, steady)?.seconds ?? 0;
    const two = estimateWait(2, { ...steady, calls: [...steady.calls, call('b', 4)], inServiceAgents: ['a', 'b'] });
    expect(two?.seconds).toBeLessThan(alone * 0.6);
  });

  it('calls at once when an agent is between two cases, not when the agent is on a break', () => {
    const between = { ...steady, calls: [call('a', 7, 1), ...steady.calls.slice(1)], inServiceAgents: [] };
    expect(estimateWait(1, between)).toMatchObject({ seconds: 0, low: 0 });
    expect(estimateWait(2, between)?.seconds).toBeGreaterThan(0);
    // The same agent, idle for 5 minutes: a break; position 1 waits for a call.
    const onBreak = { ...between, calls: [call('a', 11, 5), ...steady.calls.slice(1)] };
    expect(estimateWait(1, onBreak)?.seconds).toBeGreaterThan(60);
  });

  it('never lowers the high end of the range as the position rises, agents between two cases or not', () => {
    // Two agents just closed a case each (between two cases) and one serves: positions 1 and 2 are called at once.
    const between = {
      ...steady,
      calls: [call('b', 6, 1), call('c', 7, 2), ...steady.calls],
      inServiceAgents: ['a'],
    };
    for (const sample of [steady, between]) {
      const highs = [1, 2, 3, 4, 5, 8, 13, 21, 34].map((position) => estimateWait(position, sample)?.high ?? NaN);
      expect(
        highs.every((high, index) => index === 0 || high >= (highs[index - 1] ?? Infinity)),
        highs.join(),
      ).toBe(true);
    }
    expect(estimateWait(2, between)?.seconds).toBe(0);
  });

  it('is not stretched by one case forgotten in service, and never passes a week', () => {
    const closes = Array.from({ length: 39 }, () => 300);
    const usual = estimateWait(5, { ...steady, closeSeconds: [...closes, 300] })?.seconds ?? 0;
    const forgotten = estimateWait(5, { ...steady, closeSeconds: [...closes, 16 * 3600] })?.seconds ?? 0;
    expect(forgotten / usual).toBeLessThan(1.1);
    const stale = { ...steady, calls: [], closeSeconds: [2 * 24 * 3600, 2 * 24 * 3600, 2 * 24 * 3600] };
    expect(estimateWait(30_000, stale)).toEqual({ seconds: 604_800, low: 604_800, high: 604_800 });
  });

  it('gives a range around the point, wider for a short queue than a long one relative to the wait', () => {
    for (const position of [1, 2, 5, 20, 80]) {
      const estimate = estimateWait(position, steady);
      expect(estimate?.low).toBeLessThanOrEqual(estimate?.seconds ?? -1);
      expect(estimate?.high).toBeGreaterThanOrEqual(estimate?.seconds ?? Infinity);
    }
    const short = estimateWait(2, steady);
    const long = estimateWait(80, steady);
    const width = (estimate: typeof short) => ((estimate?.high ?? 0) - (estimate?.low ?? 0)) / (estimate?.seconds ?? 1);
    expect(width(short)).toBeGreaterThan(width(long));
  });

  it('leans to the pace really kept for a long wait: breaks slow a long queue', () => {
    // The agent made 4 calls in the last 40 minutes, though a cycle is 6: a break.
    const paused = { ...steady, calls: [call('a', 2), call('a', 8, 3), call('a', 14, 9), call('a', 40, 35)] };
    const near = (estimateWait(2, paused)?.seconds ?? 0) / (estimateWait(2, steady)?.seconds ?? 1);
    const far = (estimateWait(60, paused)?.seconds ?? 0) / (estimateWait(60, steady)?.seconds ?? 1);
    expect(near).toBeLessThan(1.15);
    expect(far).toBeGreaterThan(1.3);
  });
});

describe('on a service with a known past', () => {
  let t: TestGateway;
  let serviceId: number;
  const waiting: number[] = [];

  beforeAll(async () => {
    t = await startTestGateway();
    serviceId = (await given.service(t.db, { queueCode: 'W' })).id;
    // Agent a completed three cases of 5 minutes, a minute apart, the last 2 minutes ago; agent b serves one now.
    const past: [number, number][] = [
      [19, 14],
      [13, 8],
      [7, 2],
    ];
    for (const [called, closed] of past) {
      const done = await given.caseIn(t.db, 'COMPLETED', { serviceId }, 'a');
      await t.db.$executeRaw`UPDATE cases SET called_at = clock_timestamp() - make_interval(mins => ${called}),
                                               closed_at = clock_timestamp() - make_interval(mins => ${closed})
                              WHERE id = ${done.id}`;
    }
    const serving = await given.caseIn(t.db, 'IN_SERVICE', { serviceId }, 'b');
    await t.db
      .$executeRaw`UPDATE cases SET called_at = clock_timestamp() - interval '2 minutes' WHERE id = ${serving.id}`;
    for (let index = 0; index < 3; index += 1) waiting.push((await given.waitingCase(t.db, { serviceId })).id);
  });

  afterAll(async () => {
    await t.stop();
  });

  it('estimates from what the cases table shows', async () => {
    // Cycle 300 + 60 s; a and b active, b busy: capacity 2/360 per s. a closed 2 minutes ago, so is
    // between two cases: position 1 goes to a at once. Kept pace: 4 calls in 19 minutes, 4/1140 per s;
    // position 2 leans to it by 1 − e^(−2·180/3600):
    // (2 − 0.5 − 1) / (0.9048/180 + 0.0952·4/1140) = 93 s; position 3: 1.5 / (0.8607/180 + 0.1393·4/1140) = 285 s.
    const found = await standings(t.db, waiting);
    expect(found.map((standing) => [standing.position, standing.estimatedWaitSeconds])).toEqual([
      [1, 0],
      [2, 93],
      [3, 285],
    ]);
    for (const standing of found.slice(1)) {
      expect(standing.estimatedWaitRange?.low).toBeLessThan(standing.estimatedWaitSeconds ?? 0);
      expect(standing.estimatedWaitRange?.high).toBeGreaterThan(standing.estimatedWaitSeconds ?? Infinity);
    }
  });

  it('gives live subscribers the same estimates as a read', async () => {
    const state = await readServiceState(t.db, serviceId, 10, waiting);
    const read = await standings(t.db, waiting);
    expect(state?.waiting.map((each) => [each.position, each.estimatedWaitSeconds, each.estimatedWaitRange])).toEqual(
      read.map((standing) => [standing.position, standing.estimatedWaitSeconds, standing.estimatedWaitRange]),
    );
    expect(waiting.map((id) => state?.cases.get(id)?.estimatedWaitSeconds)).toEqual(
      read.map((standing) => standing.estimatedWaitSeconds),
    );
  });

  it('gives each case the estimate of its own service when one read spans services', async () => {
    // Another service, served by one agent in cases of 10 minutes: a slower pace than the first's.
    const slowId = (await given.service(t.db, { queueCode: 'S' })).id;
    let notWaiting = 0;
    for (const [called, closed] of [
      [40, 30],
      [29, 19],
      [18, 8],
    ] as const) {
      const done = await given.caseIn(t.db, 'COMPLETED', { serviceId: slowId }, 'c');
      await t.db.$executeRaw`UPDATE cases SET called_at = clock_timestamp() - make_interval(mins => ${called}),
                                               closed_at = clock_timestamp() - make_interval(mins => ${closed})
                              WHERE id = ${done.id}`;
      notWaiting = done.id;
    }
    const slow = [(await given.waitingCase(t.db, { serviceId: slowId })).id];
    slow.push((await given.waitingCase(t.db, { serviceId: slowId })).id);

    // Interleaved, with a case that does not wait: each answer in the order asked.
    const asked = [slow[1], waiting[0], notWaiting, slow[0], waiting[2], waiting[1]].map((id) => id ?? 0);
    const mixed = await standings(t.db, asked);
    const alone = new Map<number, Awaited<ReturnType<typeof standings>>[number]>();
    for (const ids of [waiting, slow, [notWaiting]])
      (await standings(t.db, ids)).forEach((standing, index) => alone.set(ids[index] ?? 0, standing));
    expect(mixed.map((standing) => standing.position)).toEqual([2, 1, null, 1, 3, 2]);
    asked.forEach((id, index) => {
      const [got, own] = [mixed[index], alone.get(id)];
      expect(got?.position, `case ${id}`).toBe(own?.position);
      // Two reads a few milliseconds apart: the kept pace may move a wait by a rounding.
      expect(
        Math.abs((got?.estimatedWaitSeconds ?? 0) - (own?.estimatedWaitSeconds ?? 0)),
        `case ${id}`,
      ).toBeLessThanOrEqual(1);
    });
    // The services' paces differ, so a mix-up would show: the slow service's second case waits longer.
    expect(mixed[0]?.estimatedWaitSeconds).toBeGreaterThan((mixed[5]?.estimatedWaitSeconds ?? Infinity) + 60);
    expect(mixed[2]).toEqual({ position: null, estimatedWaitSeconds: null, estimatedWaitRange: null });
  });

  it('answers the enqueue with the estimate and its range', async () => {
    const enqueued = expectData(await t.request(EnqueueCaseDocument, { input: { serviceId } })).enqueueCase;
    const [again] = await standings(t.db, [enqueued.caseId]);
    expect(enqueued).toMatchObject({
      position: 4,
      estimatedWaitSeconds: again?.estimatedWaitSeconds,
      estimatedWaitRange: again?.estimatedWaitRange,
    });
    expect(enqueued.estimatedWaitSeconds).toBeGreaterThan(285);
  });

  it('keeps the estimate each enqueue answered with, once, and reports how close it came', async () => {
    const key = '0b7c1c8e-5f0e-4a55-9a53-2d2f7c1e6a01';
    const first = expectData(await t.request(EnqueueCaseDocument, { input: { serviceId, idempotencyKey: key } }));
    const again = expectData(await t.request(EnqueueCaseDocument, { input: { serviceId, idempotencyKey: key } }));
    const caseId = first.enqueueCase.caseId;
    expect(again.enqueueCase.caseId).toBe(caseId);
    const kept = await t.sql.query<{ case_id: number; seconds: number; low: number; high: number }>(
      `SELECT case_id, seconds, low, high FROM wait_estimates
        WHERE case_id IN (SELECT id FROM cases WHERE service_id = $1) ORDER BY case_id`,
      [serviceId],
    );
    // Only enqueues answered with an estimate keep one (those of the set-up were not asked), and a retry keeps the first.
    expect(kept.rows.map((row) => row.case_id)).toEqual([kept.rows[0]?.case_id, caseId]);
    expect(kept.rows.at(-1)).toMatchObject({
      seconds: first.enqueueCase.estimatedWaitSeconds,
      low: first.enqueueCase.estimatedWaitRange?.low,
      high: first.enqueueCase.estimatedWaitRange?.high,
    });

    const statistics = async () =>
      expectData(await t.request(QueueStatisticsDocument, { serviceId, windowMinutes: 60 })).service?.statistics
        .estimateAccuracy;
    expect(await statistics()).toEqual({
      estimatesRealised: 0,
      meanAbsoluteErrorSeconds: null,
      withinRangeShare: null,
    });

    // Everyone is called; the two kept estimates are made to have been given 10 and 2 minutes before their call.
    for (let call = 0; call < waiting.length + 2; call += 1)
      expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent: 'c' } }));
    const [earlier, last] = kept.rows;
    await t.sql.query(
      `UPDATE wait_estimates w SET given_at = (SELECT min(at) FROM case_events
                                                WHERE case_id = w.case_id AND action = 'CALL_NEXT')
                                      - make_interval(secs => CASE case_id WHEN $1 THEN 600 ELSE 120 END)
        WHERE case_id = ANY($2::int[])`,
      [earlier?.case_id, [earlier?.case_id, last?.case_id]],
    );
    const errors = [Math.abs((earlier?.seconds ?? 0) - 600), Math.abs((last?.seconds ?? 0) - 120)];
    const within = [earlier, last].filter(
      (row, index) => row && row.low <= [600, 120][index]! && [600, 120][index]! <= row.high,
    );
    expect(await statistics()).toEqual({
      estimatesRealised: 2,
      meanAbsoluteErrorSeconds: Math.round((errors[0]! + errors[1]!) / 2),
      withinRangeShare: within.length / 2,
    });
  });

  it('answers an enqueue whole when its estimate cannot be kept', async () => {
    await t.sql.query('ALTER TABLE wait_estimates RENAME TO wait_estimates_away');
    try {
      const answer = await t.request(EnqueueCaseDocument, { input: { serviceId } });
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.enqueueCase).toMatchObject({ status: 'WAITING', position: expect.any(Number) as number });
    } finally {
      await t.sql.query('ALTER TABLE wait_estimates_away RENAME TO wait_estimates');
    }
  });
});
