// How long the primary waits before replacing a worker that died. A worker
// that dies soon after it was forked (a bad deploy, a database refusing its
// connections) would otherwise be forked again in a tight loop, each start
// costing a core about a second: the wait doubles with each such death, from
// 100 ms to 30 s. A worker that lived a minute died of something else (a
// crash under some request, the OOM killer): it is replaced at once, and the
// doubling starts over.

export interface RestartPolicy {
  /** The wait after the first death in a row that came soon after a start. */
  readonly firstMs: number;
  readonly maxMs: number;
  /** A worker that lived this long was not dying of its start. */
  readonly stableMs: number;
}

export const RESTART_POLICY: RestartPolicy = { firstMs: 100, maxMs: 30_000, stableMs: 60_000 };

/** Returns, for each death in turn, how long to wait before forking its replacement. */
export function restartDelays(policy: RestartPolicy = RESTART_POLICY): (livedMs: number) => number {
  let quickDeaths = 0;
  return (livedMs) => {
    if (livedMs >= policy.stableMs) {
      quickDeaths = 0;
      return 0;
    }
    quickDeaths += 1;
    return Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(quickDeaths - 1, 30));
  };
}
