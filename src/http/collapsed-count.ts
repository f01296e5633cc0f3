// Events a client can cause by the thousand (refused connections, refused
// Host names) are reported as counts: the first at once, then at most one
// report per interval with how many came since the last, so a flood costs
// one log line per interval rather than one per event. What came after the
// last report is reported once the interval has passed, so a burst that
// stops is still counted in full.
export function collapsedCount(intervalMs: number, report: (count: number) => void): () => void {
  let count = 0;
  let lastReport = Number.NEGATIVE_INFINITY;
  let pending: NodeJS.Timeout | undefined;
  const flush = (): void => {
    pending = undefined;
    if (count === 0) return;
    report(count);
    count = 0;
    lastReport = Date.now();
  };
  return () => {
    count += 1;
    const wait = lastReport + intervalMs - Date.now();
    if (wait <= 0) {
      clearTimeout(pending);
      flush();
      return;
    }
    if (pending === undefined) {
      pending = setTimeout(flush, wait);
      // Never keeps the process alive (a count lost at exit is a log line lost).
      pending.unref();
    }
  };
}
