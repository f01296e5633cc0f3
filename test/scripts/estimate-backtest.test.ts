// The estimate backtest's parts: generated days are the same for a seed and
// hold together as a queue's history; a database's case_events become the
// same kind of history; the replay scores what it is given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseHistories } from '../../scripts/estimates/database-history.js';
import { realisticDay } from '../../scripts/estimates/realistic-days.js';
import { replay, score } from '../../scripts/estimates/replay.js';
import * as given from '../helpers/given.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

describe('generated days', () => {
  it('are the same for a seed and differ between seeds', () => {
    expect(realisticDay(7)).toEqual(realisticDay(7));
    expect(realisticDay(8).events.length).not.toBe(realisticDay(7).events.length);
  });

  it('hold together: in time order, each case enqueued first, called before it is closed, closed once', () => {
    const { events } = realisticDay(3);
    const times = events.map((event) => event.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const state = new Map<number, string>();
    for (const event of events) {
      const before = state.get(event.caseId);
      if (event.action === 'ENQUEUE') expect(before).toBeUndefined();
      else expect(before, `case ${event.caseId} ${event.action}`).toBeDefined();
      if (event.action === 'CALL') expect(before).toBe('WAITING');
      if (event.action === 'COMPLETE' || event.action === 'RETURN') expect(before).toBe('IN_SERVICE');
      if (event.action === 'CANCEL') expect(before).not.toBe('CLOSED');
      state.set(
        event.caseId,
        { ENQUEUE: 'WAITING', CALL: 'IN_SERVICE', RETURN: 'WAITING', COMPLETE: 'CLOSED', CANCEL: 'CLOSED' }[
          event.action
        ],
      );
    }
    const actions = new Set(events.map((event) => event.action));
    expect([...actions].sort()).toEqual(['CALL', 'CANCEL', 'COMPLETE', 'ENQUEUE', 'RETURN']);
  });
});

describe('a database history', () => {
  let t: TestGateway;
  let serviceId: number;

  beforeAll(async () => {
    t = await startTestGateway();
    serviceId = (await given.service(t.db, { name: 'Backtest', queueCode: 'B' })).id;
    await given.caseIn(t.db, 'COMPLETED', { serviceId }, 'desk-1');
    await given.caseIn(t.db, 'COMPLETED', { serviceId }, 'desk-1');
    await given.caseIn(t.db, 'CANCELLED', { serviceId }, 'desk-1');
    await given.waitingCase(t.db, { serviceId });
  });

  afterAll(async () => {
    await t.stop();
  });

  it("is the service's case_events in order, in the backtest's words", async () => {
    const histories = await databaseHistories(t.gateway.databaseUrl);
    const mine = histories.find((history) => history.name === `service ${serviceId} (Backtest)`);
    expect(mine?.events.map((event) => [event.action, event.agent])).toEqual([
      ['ENQUEUE', null],
      ['CALL', 'desk-1'],
      ['COMPLETE', 'desk-1'],
      ['ENQUEUE', null],
      ['CALL', 'desk-1'],
      ['COMPLETE', 'desk-1'],
      ['ENQUEUE', null],
      ['CANCEL', 'desk-1'],
      ['ENQUEUE', null],
    ]);
    // Two cases were called: both are scored, each estimator answering or not.
    const outcomes = replay(mine ?? { name: '', events: [] }, [
      { name: 'always a minute', guess: () => ({ seconds: 60, low: 0, high: 120 }) },
    ]);
    expect(outcomes).toHaveLength(2);
    const result = score('always a minute', outcomes);
    expect(result).toMatchObject({ cases: 2, answered: 1, withinRange: 1 });
    expect(result.meanAbsoluteError).toBeGreaterThan(59);
    expect(result.meanAbsoluteError).toBeLessThanOrEqual(60);
  });
});
