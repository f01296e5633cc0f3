// Live updates for this gateway process: one feed per service that has
// subscribers here, fed by the changes the database announces to every
// process (src/db/change-listener.ts). Subscribing reads the current state
// first, so a client misses nothing between its read and its subscribe.
// States are read on a standby that holds every commit made before the read
// began, or on the primary (src/db/read-replica.ts `freshReads`): a change
// heard is always in the state read after it. Whether a service or case
// exists is asked of the primary: one just made may not be on a standby yet.
import type { Database } from '../db/prisma-client.js';
import type { ReadRouter } from '../db/read-replica.js';
import { rateLimitedFailures, type Logger } from '../log.js';
import { coversService, type Actor } from '../queue/actor.js';
import { requireService } from '../queue/actor-rules.js';
import { noCase, noService } from '../queue/errors.js';
import {
  followCaseRules,
  followQueueRules,
  parseInput,
  type FollowCaseRequest,
  type FollowQueueRequest,
} from '../queue/input-rules.js';
import { serviceExists, serviceOfCase, type CaseState } from '../queue/live-reads.js';
import { parseQueueChange } from './case-change.js';
import { ServiceFeed, type QueueUpdate } from './service-feed.js';

export interface LiveHub {
  /** A service's queue: its state now, then after every change. Outside the actor's services, NOT_FOUND as a missing service. */
  followQueue(request: FollowQueueRequest, actor: Actor): Promise<AsyncIterableIterator<QueueUpdate>>;
  /**
   * One case: its state now, then whenever it or its place moves; ends once
   * it is closed. Outside the actor's services, NOT_FOUND as a missing case.
   */
  followCase(request: FollowCaseRequest, actor: Actor): Promise<AsyncIterableIterator<CaseState>>;
  /** A notification's payload from the database. */
  changed(payload: string): void;
  /**
   * Changes may have gone unheard, so states are read again: every one when
   * the database listener (re)connected, one service's when the writers its
   * follow stopped waiting for have ended (src/db/change-listener.ts).
   */
  resync(serviceId?: number): void;
  /** Services with subscribers in this process. */
  followedServices(): number;
  /** Ends every subscription. */
  stop(): void;
}

/** Asks the database to announce a service's changes, or to stop (src/db/change-listener.ts). */
export interface Announcements {
  follow(serviceId: number): Promise<void>;
  unfollow(serviceId: number): void;
}

export interface LiveHubOptions {
  /** The primary. */
  readonly db: Database;
  /** Where states are read (a caught-up standby, else the primary); absent: the primary. */
  readonly reads?: Pick<ReadRouter, 'freshReads'>;
  readonly announcements: Announcements;
  readonly log: Logger;
  /** A service's state is read at most once per this. */
  readonly minIntervalMs: number;
}

export function createLiveHub({
  db,
  reads = { freshReads: () => Promise.resolve(db) },
  announcements,
  log,
  minIntervalMs,
}: LiveHubOptions): LiveHub {
  const feeds = new Map<number, ServiceFeed>();
  const failures = rateLimitedFailures(log);
  let stopped = false;

  const feedOf = (serviceId: number): ServiceFeed => {
    let feed = feeds.get(serviceId);
    if (!feed) {
      const created: ServiceFeed = new ServiceFeed(serviceId, {
        database: () => reads.freshReads(),
        // Announced once the follow's row is committed; the feed's first read waits for the writers
        // that looked before it (or for the listener's bound, then `resync(serviceId)` follows).
        announced: announcements.follow(serviceId),
        minIntervalMs,
        failures,
        onIdle: () => {
          if (feeds.get(serviceId) !== created) return;
          feeds.delete(serviceId);
          announcements.unfollow(serviceId);
        },
      });
      feeds.set(serviceId, (feed = created));
    }
    return feed;
  };

  const refuseWhenStopped = (): void => {
    if (stopped) throw new Error('the gateway is shutting down');
  };

  return {
    async followQueue(request, actor) {
      const { serviceId, first } = parseInput(followQueueRules, request);
      // Before anything is read or registered, and whether the service exists or not.
      requireService(actor, serviceId, 'serviceId');
      if (!(await serviceExists(db, serviceId))) throw noService('serviceId', serviceId);
      refuseWhenStopped();
      return feedOf(serviceId).followQueue(first);
    },
    async followCase(request, actor) {
      const { caseId } = parseInput(followCaseRules, request);
      const serviceId = await serviceOfCase(db, caseId);
      // Another service's case is not there to the actor: nothing is registered for it.
      if (serviceId === null || !coversService(actor, serviceId)) throw noCase('caseId', caseId);
      refuseWhenStopped();
      return feedOf(serviceId).followCase(caseId);
    },
    changed(payload) {
      const change = parseQueueChange(payload);
      if (!change) {
        failures('live updates: a notification on case_changes was not a case change');
        return;
      }
      feeds.get(change.serviceId)?.changed(change);
    },
    resync(serviceId) {
      if (serviceId !== undefined) feeds.get(serviceId)?.requestRead();
      else for (const feed of feeds.values()) feed.requestRead();
    },
    followedServices: () => feeds.size,
    stop() {
      stopped = true;
      for (const feed of [...feeds.values()]) feed.stop();
      for (const serviceId of feeds.keys()) announcements.unfollow(serviceId);
      feeds.clear();
    },
  };
}
