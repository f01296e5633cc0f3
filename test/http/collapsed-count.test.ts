// Refusals a client causes by the thousand are logged as counts (connections
// over an address's share, Host names not allowed, the global connection cap).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collapsedCount } from '../../src/http/collapsed-count.js';

describe('collapsedCount', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the first event at once, then what came since at most once per interval, the end of a burst included', () => {
    vi.useFakeTimers();
    const reports: number[] = [];
    const event = collapsedCount(10_000, (count) => reports.push(count));
    event();
    expect(reports).toEqual([1]);
    for (let i = 0; i < 999; i++) event();
    // Nothing more before the interval has passed...
    vi.advanceTimersByTime(9_999);
    expect(reports).toEqual([1]);
    // ...then the rest of the burst, although no event came after it.
    vi.advanceTimersByTime(1);
    expect(reports).toEqual([1, 999]);
    // A quiet interval reports nothing; the next event, long after, is reported at once.
    vi.advanceTimersByTime(60_000);
    expect(reports).toEqual([1, 999]);
    event();
    expect(reports).toEqual([1, 999, 1]);
  });
});
