// The helpers every stopper of a PostgreSQL server reads the one table with.
import { describe, expect, it } from 'vitest';
import { escalations, STOP_SEQUENCE, stopSequenceMs } from '../../src/db/stop-sequence.js';

describe('the stop sequence', () => {
  it("is PostgreSQL's: fast shutdown, immediate shutdown, SIGKILL", () => {
    expect(STOP_SEQUENCE.map((step) => step.signal)).toEqual(['SIGINT', 'SIGQUIT', 'SIGKILL']);
  });

  it('sends each later signal once the waits before it have passed, and ends after all of them', () => {
    expect(escalations()).toEqual([
      { signal: 'SIGQUIT', atMs: 15_000 },
      { signal: 'SIGKILL', atMs: 20_000 },
    ]);
    expect(stopSequenceMs()).toBe(25_000);
    const short = [
      { signal: 'SIGINT', waitMs: 30, why: '' },
      { signal: 'SIGQUIT', waitMs: 20, why: '' },
      { signal: 'SIGKILL', waitMs: 10, why: '' },
    ] as const;
    expect(escalations(short)).toEqual([
      { signal: 'SIGQUIT', atMs: 30 },
      { signal: 'SIGKILL', atMs: 50 },
    ]);
    expect(stopSequenceMs(short)).toBe(60);
  });
});
