// How far one read host (a hot standby) is behind the primary, measured off
// the request path, on two connections of its own.
//
// The method: every `intervalMs` (and at once when a fresh read asks) the
// primary's WAL position is read, `pg_current_wal_lsn()`, and kept as a mark
// with the instant the question was sent. The standby is then asked for
// `pg_last_wal_replay_lsn()` (2 ms after the mark, then every 4, 8, ... up to
// 100 ms while it is behind) until it has replayed the mark's position. A
// replayed mark means the standby holds every transaction the primary had
// committed when the mark was taken (a commit is flushed, so written, before
// it returns or notifies, and pg_current_wal_lsn() is the write position).
// The lag is the time from a mark to the first answer that had replayed it:
// 0 when the first answer already had (the standby kept up at that instant),
// else an upper bound that is at most one poll step too high. While a mark
// waits, the lag is at least its age, so a standby that stops replaying (or
// answering) shows a lag that grows from that moment, not from the next
// sample.
//
// Why not the usual alternatives: `now() - pg_last_xact_replay_timestamp()`
// grows while the primary commits nothing (an idle standby would look ever
// further behind) and mixes two machines' clocks; pg_stat_replication's
// replay_lag is the primary's view, per WAL sender, and goes NULL when idle.
// Comparing positions with one clock (this process's) has neither problem,
// works through cascading replication, and costs two trivial statements per
// sample. With synchronous_commit = off on the primary, a commit may be
// acknowledged before it is written (at most wal_writer_delay, 200 ms), and a
// mark taken in that window can be replayed without it: keep it on where
// standby reads are used.
//
// A read host that is not in recovery (a standby promoted by a failover) is
// a primary: it has everything it will ever have, so its lag is 0.
import pg from 'pg';
import { connectPostgres } from './postgres-pool.js';
import { sessionOptions } from './session-settings.js';

/** Why a read host is not usable now, or `undefined` while it is within the bound. */
export type HostTrouble = 'lag' | 'unreachable' | 'unmeasured';

export interface ReplayLagOptions {
  /** The writable server (DATABASE_URL with read-write), where the marks are read. */
  readonly primaryUrl: string;
  /** One read host (a single-host URL). */
  readonly hostUrl: string;
  /** How often a mark is taken while nobody asks for one. */
  readonly intervalMs: number;
  /** A connection that takes longer to open, or a statement longer to answer, counts as unreachable. */
  readonly timeoutMs: number;
}

interface Mark {
  /** performance.now() when the primary was asked: it had written at least `lsn` by then. */
  readonly at: number;
  readonly lsn: bigint;
  /** Whether the standby has been asked since this mark was taken. */
  asked: boolean;
}

interface Waiter {
  readonly since: number;
  readonly done: (caughtUp: boolean) => void;
}

const POLL_FIRST_MS = 2;
const POLL_MAX_MS = 100;
/** Marks kept while the standby is behind (a paused replay piles them up): the oldest and the newest are what count. */
const MAX_MARKS = 256;
/** A standby answer is "unreachable" until this many ms after a failure, then asked again. */
const RECONNECT_MS = 250;

/** A `X/Y` pg_lsn as a number. */
export function parseLsn(text: string): bigint {
  const [high = '', low = ''] = text.split('/');
  if (!/^[0-9A-F]{1,8}$/i.test(high) || !/^[0-9A-F]{1,8}$/i.test(low)) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** A wait that ends after its time, or early when rung. */
class Alarm {
  #ring: (() => void) | undefined;

  wait(ms?: number): Promise<void> {
    return new Promise((resolveWait) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.ring(), Math.max(0, ms));
      this.#ring = () => {
        clearTimeout(timer);
        this.#ring = undefined;
        resolveWait();
      };
    });
  }

  ring(): void {
    this.#ring?.();
  }
}

/** One read host's replay lag, measured while it runs. */
export class ReplayLagMeter {
  #marks: Mark[] = [];
  /** The lag the last replayed mark showed. */
  #lastLagMs: number | undefined;
  /** When the newest replayed mark was taken: the standby holds every commit made before this instant. */
  #caughtUpTo = Number.NEGATIVE_INFINITY;
  /** When the newest mark was taken (replayed or not). */
  #lastMarkAt = Number.NEGATIVE_INFINITY;
  #standbyFailedAt: number | undefined;
  #inRecovery = true;
  #wantMarkAfter = Number.NEGATIVE_INFINITY;
  #markSentAt = Number.NEGATIVE_INFINITY;
  #primary: pg.Client | undefined;
  #standby: pg.Client | undefined;
  #waiters = new Set<Waiter>();
  readonly #stop = new AbortController();
  readonly #marker = new Alarm();
  readonly #poller = new Alarm();
  readonly #loops: Promise<void>[];

  constructor(private readonly options: ReplayLagOptions) {
    this.#loops = [this.#markLoop(), this.#pollLoop()];
  }

  /**
   * The lag now, in ms: the last measured one, or the age of the oldest mark
   * not yet replayed when that is more. Undefined before the first mark, and
   * when marks have stopped (the primary does not answer).
   */
  lagMs(now = performance.now()): number | undefined {
    const oldest = this.#marks[0];
    const waited = oldest === undefined ? 0 : now - oldest.at;
    if (this.#lastLagMs === undefined) return oldest === undefined ? undefined : waited;
    // Marks stopped coming (the primary is away): what was measured says nothing of now.
    if (now - this.#lastMarkAt > 4 * this.options.intervalMs + this.options.timeoutMs) return undefined;
    return Math.max(this.#lastLagMs, waited);
  }

  /** Whether the host was found in recovery (a standby) when it last answered. */
  get standby(): boolean {
    return this.#inRecovery;
  }

  /** Why the host may not be read from with at most `maxLagMs` of lag, or undefined when it may. */
  trouble(maxLagMs: number, now = performance.now()): 'lag' | 'unreachable' | 'unmeasured' | undefined {
    if (this.#standbyFailedAt !== undefined) return 'unreachable';
    const lag = this.lagMs(now);
    if (lag !== undefined && lag > maxLagMs) return 'lag';
    // Not one mark replayed yet: how far behind it is remains unknown.
    if (lag === undefined || this.#lastLagMs === undefined) return 'unmeasured';
    return undefined;
  }

  /** Whether the host holds every commit made before `since` (performance.now()). */
  holds(since: number): boolean {
    return this.#standbyFailedAt === undefined && this.#caughtUpTo >= since;
  }

  /**
   * Resolves true once the host holds every commit made before `since`, false
   * when `timeoutMs` passes first (or the meter stops). Asks for a mark at once.
   */
  waitFor(since: number, timeoutMs: number): Promise<boolean> {
    if (this.holds(since)) return Promise.resolve(true);
    if (this.#stop.signal.aborted || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolveWait) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const waiter: Waiter = { since, done: (caughtUp) => finish(caughtUp) };
      const finish = (caughtUp: boolean): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolveWait(caughtUp);
      };
      this.#waiters.add(waiter);
      if (this.#markSentAt < since) {
        this.#wantMarkAfter = Math.max(this.#wantMarkAfter, since);
        this.#marker.ring();
      }
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#marker.ring();
    this.#poller.ring();
    for (const waiter of [...this.#waiters]) waiter.done(false);
    await Promise.all(this.#loops);
    await Promise.all([this.#drop('primary'), this.#drop('standby')]);
  }

  #clientConfig(): pg.ClientConfig {
    const { timeoutMs } = this.options;
    return {
      options: sessionOptions({ statement_timeout: timeoutMs }),
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      application_name: 'fifo-gateway-replay-lag',
    };
  }

  /** Whether `stop()` was called (a method, not a property the compiler would take as fixed within a loop). */
  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  async #markLoop(): Promise<void> {
    while (!this.#stopped()) {
      const sentAt = performance.now();
      this.#markSentAt = sentAt;
      try {
        if (!this.#primary) {
          this.#primary = await connectPostgres(this.options.primaryUrl, this.#clientConfig());
          this.#primary.on('error', () => undefined);
        }
        const { rows } = await this.#primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
        const lsn = parseLsn(rows[0]?.lsn ?? '');
        this.#marks.push({ at: sentAt, lsn, asked: false });
        // A standby far behind: keep the oldest (the lag) and the newest (freshness), thin out the middle.
        if (this.#marks.length > MAX_MARKS) this.#marks.splice(1, 1);
        this.#lastMarkAt = sentAt;
        this.#poller.ring();
      } catch {
        await this.#drop('primary');
      }
      // The next mark: after the interval, or at once when a fresh read waits for one newer than this.
      const next = sentAt + this.options.intervalMs;
      while (!this.#stopped() && this.#wantMarkAfter <= sentAt && performance.now() < next)
        await this.#marker.wait(next - performance.now());
    }
  }

  async #pollLoop(): Promise<void> {
    let step = POLL_FIRST_MS;
    while (!this.#stopped()) {
      // A mark not asked about yet is asked about at once (so "replayed at the first look" means
      // within one round trip); older ones again after a step that doubles while the standby is behind.
      if (this.#marks.length === 0) {
        step = POLL_FIRST_MS;
        await this.#poller.wait();
        continue;
      }
      if (this.#marks.every((mark) => mark.asked)) {
        await this.#poller.wait(step);
        step = Math.min(POLL_MAX_MS, step * 2);
        if (this.#stopped()) break;
      }
      const asked = [...this.#marks];
      try {
        this.#standby ??= await this.#connectStandby();
        const { rows } = await this.#standby.query<{ recovery: boolean; lsn: string | null }>(
          'SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS lsn',
        );
        const row = rows[0];
        this.#standbyFailedAt = undefined;
        this.#inRecovery = row?.recovery !== false;
        const replayed = !this.#inRecovery ? undefined : row?.lsn ? parseLsn(row.lsn) : -1n;
        if (this.#settle(asked, replayed, performance.now())) step = POLL_FIRST_MS;
      } catch {
        this.#standbyFailedAt = performance.now();
        await this.#drop('standby');
        await this.#poller.wait(RECONNECT_MS);
      }
    }
  }

  /** The standby answered at `now` with `replayed` (undefined: it is a primary): marks it holds are done. Whether any was. */
  #settle(asked: readonly Mark[], replayed: bigint | undefined, now: number): boolean {
    let newest: Mark | undefined;
    for (const mark of asked) {
      if (replayed !== undefined && mark.lsn > replayed) {
        mark.asked = true;
        continue;
      }
      newest = mark;
      // The first question after the mark found it replayed: no measurable lag.
      this.#lastLagMs = mark.asked ? now - mark.at : 0;
    }
    if (!newest) return false;
    const settled = newest;
    this.#marks = this.#marks.filter((mark) => mark.at > settled.at);
    this.#caughtUpTo = settled.at;
    for (const waiter of [...this.#waiters]) if (waiter.since <= settled.at) waiter.done(true);
    return true;
  }

  async #connectStandby(): Promise<pg.Client> {
    const client = new pg.Client({ ...this.#clientConfig(), connectionString: this.options.hostUrl });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  async #drop(which: 'primary' | 'standby'): Promise<void> {
    const client = which === 'primary' ? this.#primary : this.#standby;
    if (which === 'primary') this.#primary = undefined;
    else this.#standby = undefined;
    await client?.end().catch(() => undefined);
  }
}
