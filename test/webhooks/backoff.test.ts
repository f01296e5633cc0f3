// Issue 20, retries: the wait after each failed attempt doubles from the
// base, stops growing at the cap, and is jittered within [ceiling / 2, ceiling];
// a receiver's Retry-After makes it longer, never past the cap.
import { describe, expect, it } from 'vitest';
import { nextWaitMs, retryAfterMs, retryDelayMs } from '../../src/webhooks/backoff.js';

const settings = { baseMs: 5_000, maxMs: 3_600_000 };
const ceiling = (attempt: number): number => Math.min(settings.maxMs, settings.baseMs * 2 ** (attempt - 1));

describe('retry delays', () => {
  it('stay within [ceiling / 2, ceiling] for every attempt, whatever the random draw', () => {
    for (let attempt = 1; attempt <= 200; attempt++)
      for (const draw of [0, 0.25, 0.5, 0.999_999, Math.random()]) {
        const delay = retryDelayMs(attempt, settings, () => draw);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(ceiling(attempt) / 2);
        expect(delay).toBeLessThanOrEqual(ceiling(attempt));
      }
  });

  it('double from the base', () => {
    const lowest = (attempt: number): number => retryDelayMs(attempt, settings, () => 0);
    const highest = (attempt: number): number => retryDelayMs(attempt, settings, () => 1);
    expect([1, 2, 3, 4].map(lowest)).toEqual([2_500, 5_000, 10_000, 20_000]);
    expect([1, 2, 3, 4].map(highest)).toEqual([5_000, 10_000, 20_000, 40_000]);
  });

  it('stop growing at the cap, also far past it', () => {
    // 5 s × 2^9 = 2,560 s is under an hour; 5 s × 2^10 is over.
    expect(retryDelayMs(10, settings, () => 1)).toBe(2_560_000);
    for (const attempt of [11, 12, 50, 1_000, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      expect(retryDelayMs(attempt, settings, () => 1)).toBe(3_600_000);
      expect(retryDelayMs(attempt, settings, () => 0)).toBe(1_800_000);
    }
  });

  it('spread retries of endpoints that failed together', () => {
    const delays = Array.from({ length: 1_000 }, () => retryDelayMs(12, settings));
    const buckets = new Set(delays.map((delay) => Math.min(9, Math.floor((delay - 1_800_000) / 180_000))));
    expect(buckets.size).toBe(10);
  });

  it('with fast test settings too', () => {
    const fast = { baseMs: 50, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(attempt, fast, () => 1))).toEqual([
      50, 100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('count attempts from 1', () => {
    for (const attempt of [0, -1, 1.5, Number.NaN]) expect(() => retryDelayMs(attempt, settings)).toThrow(RangeError);
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-12-06T12:00:00.000Z');

  it('is read as whole seconds or as an HTTP date, a past date as now', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Sun, 06 Dec 2026 12:01:30 GMT', now)).toBe(90_000);
    expect(retryAfterMs('Sunday, 06-Dec-26 12:00:05 GMT', now)).toBe(5_000);
    expect(retryAfterMs('Sun, 06 Dec 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('is ignored when absent or not one of those', () => {
    // asctime's form names no zone (Date.parse would take it as local time).
    for (const value of [
      null,
      '',
      '-5',
      '1.5',
      '10 seconds',
      'soon',
      '2026-12-06T12:01:30Z',
      '1e3',
      'Sun Dec  6 12:01:30 2026',
    ])
      expect(retryAfterMs(value, now), String(value)).toBeNull();
  });

  it('makes the wait longer than the backoff, never shorter, and never past the cap', () => {
    const draw = () => 1;
    // The first backoff is 5 s at most.
    expect(nextWaitMs(1, settings, null, draw)).toBe(5_000);
    expect(nextWaitMs(1, settings, 120_000, draw)).toBe(120_000);
    expect(nextWaitMs(1, settings, 1_000, draw)).toBe(5_000);
    expect(nextWaitMs(1, settings, 0, draw)).toBe(5_000);
    expect(nextWaitMs(1, settings, 30 * 86_400_000, draw)).toBe(settings.maxMs);
    expect(nextWaitMs(20, settings, 7_200_000, draw)).toBe(settings.maxMs);
  });
});
