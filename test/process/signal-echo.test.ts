// A second signal within a second of the first is the same Ctrl-C, passed on
// by npm (or a primary's SIGTERM to its workers): no line of its own.
import { describe, expect, it } from 'vitest';
import { signalEchoes } from '../../src/process/signal-echo.js';

describe('signal echoes', () => {
  it('are the signals within a second of the first, and no later one', () => {
    const isEcho = signalEchoes();
    const first = performance.now();
    expect(isEcho(first + 50)).toBe(true);
    expect(isEcho(first + 900)).toBe(true);
    expect(isEcho(first + 1_100)).toBe(false);
  });
});
