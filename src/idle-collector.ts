// Gives memory back after a burst of work. V8 collects garbage only when
// JavaScript allocates, so a gateway that goes quiet after a burst keeps the
// burst's garbage, and the heap pages holding it, for as long as it stays
// quiet: RSS stays at the burst's level. Once the event loop has been idle
// for a check period and the heap has grown since the last collection, a few
// full GCs, one per idle check while the heap still shrinks, free the garbage
// and compact the old generation (measured: the first frees the objects but
// gives back few pages; the next ones give back most of the rest).
//
// "Idle" is below 5% busy: an idle gateway's own timers (pings, pool
// clean-up, metrics) keep a slow 2-core machine's loop 0.6-1.2% busy, with
// single checks at 9-12%; at 2% a spell sometimes did not start for 17 s. A
// busy check pauses a spell rather than ending it: ended after its first
// collection, which frees the objects but few pages, it never started again
// (the heap had not grown since), and the burst's pages stayed.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleCollectorOptions {
  /** How often the event loop is checked for idleness. */
  readonly checkEveryMs?: number;
  /** Event-loop utilisation (0-1) over a check period below which the gateway counts as idle. */
  readonly idleBelow?: number;
  /** Heap growth since the last collection that makes collecting worth its pauses. */
  readonly minGrowthBytes?: number;
  /** Full GCs at most per idle spell, one per check, while the heap still shrinks. */
  readonly rounds?: number;
}

type Collect = () => void;

const SHRUNK_BYTES = 1024 * 1024;

/** V8's full GC, whether or not node was started with --expose-gc. */
function fullGc(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (exposed) return exposed;
  // --expose-gc is read when a context is created: a context made after
  // setting it has `gc` (flags set at run time are otherwise to be avoided).
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Collect;
}

/** Starts the checks; returns a function that stops them. The timer never keeps the process alive. */
export function startIdleCollector({
  checkEveryMs = 2_000,
  idleBelow = 0.05,
  minGrowthBytes = 16 * 1024 * 1024,
  rounds = 5,
}: IdleCollectorOptions = {}): () => void {
  const collect = fullGc();
  let live = process.memoryUsage().heapUsed;
  let left = 0;
  let last = performance.eventLoopUtilization();
  // The previous collection's pause, which the next check must not count as activity.
  let ownMs = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { active, idle } = performance.eventLoopUtilization(now, last);
    last = now;
    const busy = Math.max(0, active - ownMs) >= idleBelow * (active + idle);
    ownMs = 0;
    if (busy) return;
    // New garbage since the last collection starts a spell afresh.
    if (process.memoryUsage().heapUsed - live >= minGrowthBytes) left = rounds;
    if (left === 0) return;
    left -= 1;
    const before = process.memoryUsage().heapTotal;
    const started = performance.now();
    collect();
    ownMs = performance.now() - started;
    const after = process.memoryUsage();
    live = after.heapUsed;
    // Nothing more to give back: the heap no longer shrinks. Not judged on the
    // first round, which frees the objects but often gives back few pages.
    if (rounds - left >= 2 && before - after.heapTotal < SHRUNK_BYTES) left = 0;
  }, checkEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
