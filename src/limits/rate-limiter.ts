// Rate limits per credential and per client address, shared by every gateway
// process on the database.
//
// Requests are counted in fixed windows of `windowMs` (window number =
// floor(epoch ms / windowMs)). A round trip to one hot counter row per request
// would cost more than the request, so each process decides on its own and
// adds its counts to the shared ones every `syncMs`, in one statement for all
// keys (rate-limit-counts.ts). Per key this process knows `shared` (the total
// the database last returned, every process's flushed requests included) and
// `pending` (accepted here since). A request is accepted when
// shared + pending < limit; refused requests are not counted.
//
// How far over: counts only grow within a window, so once a process has
// synced a key after its shared total reached the limit, it refuses the key
// until the window ends. Until that sync it accepts at most what reaches it
// meanwhile (one sync interval and the statement's round trip), and never more
// than the limit, since its own pending requests count. So in one window a key
// gets at most the limit plus, for each process, what it sends that process
// within ~syncMs: with 2 processes and syncMs 100, a burst may exceed the limit
// by what arrives in 100 ms. While the database does not answer, each process
// holds the limit alone (fails open for the shared part): at most limit ×
// processes. Fixed windows also let a client use up a window's limit at its
// end and the next one's right after.
//
// Which keys a sync sends: those with requests accepted since the previous
// one. A key that is refusing here needs no refresh: the shared total cannot
// go down within the window, so a refusal stays right until the window ends,
// and a process new to the key learns its total by sending the first request
// it accepts (one sync later it refuses too; the bound above includes this).
// Idle keys are not refreshed either: a stale total only means that process
// accepts, within its next sync interval, requests it would have refused —
// again within the bound — while refreshing every key seen this window would
// cost a row per key and process every 100 ms for nothing most of the time.
//
// Memory: state is kept for the current window only, and for at most
// MAX_KEYS_PER_KIND credentials and as many addresses. New keys beyond that,
// in that window, all count against one shared key of their kind (`c*`, `a*`)
// with the kind's limit: they are still limited (a flood of new keys cannot
// buy unlimited requests, nor grow memory), while the keys already tracked —
// and credentials, whatever addresses do — keep their own limits.
import type { Config } from '../config.js';
import type { Database } from '../db/prisma-client.js';
import { loggedError, rateLimitedFailures, type Logger } from '../log.js';
import { addCounts, deleteWindowsBefore } from './rate-limit-counts.js';
import { overflowKey, storageKey, type RateLimitKey, type RateLimitKind } from './rate-limit-key.js';

export type { RateLimitKey } from './rate-limit-key.js';

export type Verdict =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number; readonly limit: number };

export interface RateLimiter {
  /** Counts the request against `key` when it is allowed; synchronous, never throws. */
  take(key: RateLimitKey): Verdict;
  /** Adds the last counts to the shared ones and stops syncing. */
  stop(): Promise<void>;
}

export interface SyncingRateLimiter extends RateLimiter {
  /** Syncs with the database now (the timer does it every `syncMs`); never rejects. */
  sync(): Promise<void>;
}

/** Keys of each kind one process tracks per window (about 300 bytes each). */
export const MAX_KEYS_PER_KIND = 20_000;

const ALLOWED: Verdict = Object.freeze({ allowed: true });

/** One key's count in the current window, as this process knows it. */
interface Count {
  readonly key: string;
  /** The key's total in the database when last returned: every process's synced requests. */
  shared: number;
  /** Accepted here, in the statement under way. */
  sending: number;
  /** Accepted here and not yet sent. */
  pending: number;
}

interface WindowCounts {
  readonly window: number;
  readonly keys: Readonly<Record<RateLimitKind, Map<string, Count>>>;
  /** The counts with `pending > 0`, each once: what the next sync sends. */
  unsent: Count[];
}

const windowCounts = (window: number): WindowCounts => ({
  window,
  keys: { credential: new Map(), address: new Map() },
  unsent: [],
});

const byKey = (a: Count, b: Count): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function createRateLimiter(
  db: Database,
  limits: Config['rateLimit'],
  log: Logger,
  clock: () => number = Date.now,
): SyncingRateLimiter {
  const { windowMs } = limits;
  const limitOf: Readonly<Record<RateLimitKind, number>> = {
    credential: limits.perCredential,
    address: limits.perAddress,
  };
  // Warnings, not errors: requests are still answered, and still limited.
  const failed = rateLimitedFailures({ ...log, error: (message) => log.warn(message) });
  let current = windowCounts(Math.floor(clock() / windowMs));
  /** Windows before this one are known to be deleted from the table. */
  let deletedBefore = -Infinity;
  let syncing: Promise<void> | undefined;

  /** The current window's counts, a new set once the clock has passed into a later window. */
  function countsAt(now: number): WindowCounts {
    const window = Math.floor(now / windowMs);
    // Forward only: a clock stepped back keeps counting in the later window rather than starting afresh.
    if (window > current.window) current = windowCounts(window);
    return current;
  }

  function countOf(counts: WindowCounts, key: RateLimitKey): Count {
    const keys = counts.keys[key.kind];
    let stored = storageKey(key);
    let count = keys.get(stored);
    if (count) return count;
    if (keys.size >= MAX_KEYS_PER_KIND) {
      stored = overflowKey(key.kind);
      count = keys.get(stored);
      if (count) return count;
      failed(`rate limits: over ${MAX_KEYS_PER_KIND} ${key.kind} keys in one window; new ones share one limit`);
    }
    count = { key: stored, shared: 0, sending: 0, pending: 0 };
    keys.set(stored, count);
    return count;
  }

  function take(key: RateLimitKey): Verdict {
    const limit = limitOf[key.kind];
    if (limit === 0) return ALLOWED;
    const now = clock();
    const counts = countsAt(now);
    const count = countOf(counts, key);
    if (count.shared + count.sending + count.pending >= limit) {
      const untilEnd = Math.ceil(((counts.window + 1) * windowMs - now) / 1000);
      return {
        allowed: false,
        // At least 1 (an answer at the very end of a window); at most a window (a clock stepped back).
        retryAfterSeconds: Math.min(Math.max(untilEnd, 1), Math.ceil(windowMs / 1000)),
        limit,
      };
    }
    if (count.pending === 0) counts.unsent.push(count);
    count.pending += 1;
    return ALLOWED;
  }

  /** Sends the counts accepted since the last sync and takes back the totals; on failure keeps them for the next. */
  async function send(counts: WindowCounts): Promise<void> {
    const batch = counts.unsent.sort(byKey);
    counts.unsent = [];
    for (const count of batch) {
      count.sending = count.pending;
      count.pending = 0;
    }
    try {
      const totals = await addCounts(
        db,
        counts.window,
        batch.map((count) => count.key),
        batch.map((count) => count.sending),
      );
      const totalOf = new Map(totals.map(({ key, count }) => [key, count]));
      for (const count of batch) {
        // Never below what this process knows it sent: the database's total
        // is lower only when it lost rows (an unlogged table is emptied by a
        // crash), and this process's own requests still count.
        count.shared = Math.max(totalOf.get(count.key) ?? 0, count.shared + count.sending);
        count.sending = 0;
      }
    } catch (error) {
      // Not sent (or not known to be): counted again with the next sync. A
      // statement that committed but whose answer was lost is counted twice,
      // which errs on the side of refusing.
      for (const count of batch) {
        if (count.pending === 0 && counts === current) counts.unsent.push(count);
        count.pending += count.sending;
        count.sending = 0;
      }
      throw error;
    }
  }

  async function syncOnce(): Promise<void> {
    const counts = countsAt(clock());
    if (counts.unsent.length === 0) return;
    try {
      await send(counts);
      // Once per window, by the processes with traffic in it: the previous
      // window is kept for processes whose clocks are a little behind.
      if (counts.window - 1 > deletedBefore) {
        await deleteWindowsBefore(db, counts.window - 1);
        deletedBefore = counts.window - 1;
      }
    } catch (error) {
      const { sqlState, kind, code, type } = loggedError(error);
      failed(
        `rate limits: could not sync with the database (${sqlState ?? kind ?? code ?? type}); ` +
          'each process decides on its own counts until it answers',
      );
    }
  }

  /** One sync at a time: a tick that comes while the database is slow joins the one under way. */
  function sync(): Promise<void> {
    syncing ??= syncOnce().finally(() => {
      syncing = undefined;
    });
    return syncing;
  }

  const unlimited = limits.perCredential === 0 && limits.perAddress === 0;
  const timer = unlimited ? undefined : setInterval(() => void sync(), limits.syncMs);
  // Never keeps the process alive; stop() sends what is left.
  timer?.unref();

  return {
    take,
    sync,
    async stop() {
      clearInterval(timer);
      await syncing;
      await sync();
    },
  };
}
