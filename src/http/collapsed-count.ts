// Events a client can cause by the thousand (refused connections, refused
// Host names) are reported as counts: the first at once, then at most one
// report per interval with how many came since the last, so a flood costs
// one log line per interval rather than one per event.
export function collapsedCount(intervalMs: number, report: (count: number) => void): () => void {
  let count = 0;
  let lastReport = Number.NEGATIVE_INFINITY;
  return () => {
    count += 1;
    const now = Date.now();
    if (now - lastReport < intervalMs) return;
    report(count);
    count = 0;
    lastReport = now;
  };
}
