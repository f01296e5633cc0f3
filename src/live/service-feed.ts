// One service's live subscribers in this process, and the reads that feed
// them. A change, or a new subscriber, asks for a read; reads of one service
// never overlap and start at most once per `minIntervalMs`, so a burst of
// changes becomes a few reads, each fanned out to every subscriber: the
// database's work per change does not grow with the number of subscribers.
import type { Database } from '../db/prisma-client.js';
import { loggedError, type FailureLog } from '../log.js';
import { LIMITS } from '../queue/input-rules.js';
import {
  isClosed,
  readServiceState,
  type CaseState,
  type QueuedTicket,
  type ServedTicket,
  type ServiceState,
} from '../queue/live-reads.js';
import type { QueueChange } from './case-change.js';
import { Mailbox } from './mailbox.js';

/** A service's queue as a screen draws it (the GraphQL type `QueueUpdate`). */
export interface QueueUpdate {
  readonly serviceId: number;
  readonly changes: readonly QueueChange[];
  readonly changesOmitted: number;
  readonly waitingCount: number;
  readonly waiting: readonly QueuedTicket[];
  readonly inService: readonly ServedTicket[];
  readonly at: Date;
}

/** After a failed read (the database is away), the next try waits this long. */
const RETRY_READ_MS = 1_000;

/** Keeps the most recent `LIMITS.live.changes` changes, counting those left out. */
function capChanges(changes: readonly QueueChange[], omitted: number): { changes: QueueChange[]; omitted: number } {
  const excess = Math.max(0, changes.length - LIMITS.live.changes);
  return { changes: changes.slice(excess), omitted: omitted + excess };
}

/** An update not yet taken, replaced by a newer one: the newer state, with both accounts of changes. */
export function mergeQueueUpdates(older: QueueUpdate, newer: QueueUpdate): QueueUpdate {
  const { changes, omitted } = capChanges(
    [...older.changes, ...newer.changes],
    older.changesOmitted + newer.changesOmitted,
  );
  return { ...newer, changes, changesOmitted: omitted };
}

interface QueueFollower {
  readonly first: number;
  readonly mailbox: Mailbox<QueueUpdate>;
  /** What the last update showed, to send nothing when nothing moved. */
  shown: string | undefined;
}

interface CaseFollower {
  readonly mailbox: Mailbox<CaseState>;
  shown: string | undefined;
}

export interface FeedOptions {
  /** Where each read goes, asked as it begins (live-hub.ts: a caught-up standby, or the primary). */
  readonly database: () => Promise<Database>;
  /** Resolves once the database announces this service's changes: no state is read before. */
  readonly announced: Promise<void>;
  readonly minIntervalMs: number;
  readonly failures: FailureLog;
  /** The feed has no subscribers left: its owner forgets it. */
  readonly onIdle: () => void;
}

const queueKey = (state: ServiceState, first: number): string =>
  JSON.stringify([state.waitingCount, state.waiting.slice(0, first), state.inService]);

const caseKey = (state: CaseState): string => {
  const { at: _at, ...rest } = state;
  return JSON.stringify(rest);
};

export class ServiceFeed {
  readonly #queueFollowers = new Set<QueueFollower>();
  readonly #caseFollowers = new Map<number, Set<CaseFollower>>();
  #changes: QueueChange[] = [];
  #omitted = 0;
  #reading = false;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #lastReadAt = 0;
  #stopped = false;

  constructor(
    readonly serviceId: number,
    private readonly options: FeedOptions,
  ) {}

  followQueue(first: number): Mailbox<QueueUpdate> {
    const follower: QueueFollower = {
      first,
      shown: undefined,
      mailbox: new Mailbox(mergeQueueUpdates, () => {
        this.#queueFollowers.delete(follower);
        this.#forgetWhenIdle();
      }),
    };
    this.#queueFollowers.add(follower);
    this.requestRead();
    return follower.mailbox;
  }

  followCase(caseId: number): Mailbox<CaseState> {
    let followers = this.#caseFollowers.get(caseId);
    if (!followers) this.#caseFollowers.set(caseId, (followers = new Set()));
    const group = followers;
    const follower: CaseFollower = {
      shown: undefined,
      // A newer state of a case says all there is to say.
      mailbox: new Mailbox<CaseState>(
        (_older, newer) => newer,
        () => {
          group.delete(follower);
          if (group.size === 0 && this.#caseFollowers.get(caseId) === group) this.#caseFollowers.delete(caseId);
          this.#forgetWhenIdle();
        },
      ),
    };
    group.add(follower);
    this.requestRead();
    return follower.mailbox;
  }

  /** A committed change of this service, heard from the database. */
  changed(change: QueueChange): void {
    const capped = capChanges([...this.#changes, change], this.#omitted);
    this.#changes = capped.changes;
    this.#omitted = capped.omitted;
    this.requestRead();
  }

  get idle(): boolean {
    return this.#queueFollowers.size === 0 && this.#caseFollowers.size === 0;
  }

  /** Asks for a read: at once when none ran lately, else when the interval is over. */
  requestRead(delayMs = 0): void {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#dirty = true;
      return;
    }
    if (this.#timer) return;
    const wait = Math.max(delayMs, this.#lastReadAt + this.options.minIntervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#read();
    }, wait);
  }

  /** Ends every subscription of this feed. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const follower of [...this.#queueFollowers]) follower.mailbox.end();
    for (const group of [...this.#caseFollowers.values()]) for (const follower of [...group]) follower.mailbox.end();
  }

  async #read(): Promise<void> {
    if (this.#stopped || this.idle) return;
    this.#reading = true;
    await this.options.announced;
    this.#lastReadAt = Date.now();
    const changes = this.#changes;
    const omitted = this.#omitted;
    this.#changes = [];
    this.#omitted = 0;
    let retry = false;
    try {
      const first = Math.max(0, ...[...this.#queueFollowers].map((follower) => follower.first));
      const db = await this.options.database();
      const state = await readServiceState(db, this.serviceId, first, [...this.#caseFollowers.keys()]);
      // Services are never deleted; were one gone, its subscribers could only be ended.
      if (state === null) this.stop();
      else this.#fanOut(state, changes, omitted);
    } catch (error) {
      // The database is away: the changes are kept for the next try.
      this.options.failures(`live updates: reading a service's state failed (${errorText(error)})`);
      const capped = capChanges([...changes, ...this.#changes], omitted + this.#omitted);
      this.#changes = capped.changes;
      this.#omitted = capped.omitted;
      retry = true;
    } finally {
      this.#reading = false;
    }
    if (retry) this.requestRead(RETRY_READ_MS);
    else if (this.#dirty) {
      this.#dirty = false;
      this.requestRead();
    }
  }

  #fanOut(state: ServiceState, changes: readonly QueueChange[], omitted: number): void {
    for (const follower of this.#queueFollowers) {
      const key = queueKey(state, follower.first);
      const first = follower.shown === undefined;
      if (!first && key === follower.shown && changes.length === 0 && omitted === 0) continue;
      follower.shown = key;
      follower.mailbox.put({
        serviceId: this.serviceId,
        // The first update is the state itself: what came before it is in it.
        changes: first ? [] : changes,
        changesOmitted: first ? 0 : omitted,
        waitingCount: state.waitingCount,
        waiting: state.waiting.slice(0, follower.first),
        inService: state.inService,
        at: state.at,
      });
    }
    for (const [caseId, group] of this.#caseFollowers) {
      const caseState = state.cases.get(caseId);
      if (!caseState) continue;
      const key = caseKey(caseState);
      for (const follower of group) {
        if (key === follower.shown) continue;
        follower.shown = key;
        follower.mailbox.put(caseState, { last: isClosed(caseState.status) });
      }
    }
  }

  #forgetWhenIdle(): void {
    if (!this.idle) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.options.onIdle();
  }
}

/** What failed, without the message (messages may quote values): the class and its codes. */
function errorText(error: unknown): string {
  const { type, code, sqlState, kind } = loggedError(error);
  return [type, code, sqlState, kind].filter((part) => part !== undefined).join(' ');
}
