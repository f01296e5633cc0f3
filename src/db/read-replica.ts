// Where what screens poll is read: a hot standby while it is close enough
// behind the primary, the primary otherwise. DATABASE_READ_URL (or
// DATABASE_URL when it asks for a standby, e.g. with
// target_session_attrs=prefer-standby: database-server.ts) names the read
// hosts; each gets a small pool of its own and a lag meter (replay-lag.ts),
// which measures off the request path, so routing a read costs a comparison.
//
// Two kinds of reads:
// - `reads()`, for what a screen polls (queue pages, statistics, positions):
//   a host whose lag is at most READ_MAX_LAG_MS, standbys first, in turn;
//   else the primary. What it answers may be up to that much behind (plus
//   one sampling interval, the time a stall takes to show).
// - `freshReads()`, for live updates, which are read once per change and not
//   read again until the next: a host that holds every commit made before
//   the read began, waiting for one at most FRESH_WAIT_MS (or READ_MAX_LAG_MS
//   when less); else the primary. A live subscriber never keeps a state older
//   than the change it was told of.
// An answer that must include the caller's own write never comes from here:
// mutations read on the primary (graphql/context.ts).
//
// A read host found to be a primary (a standby promoted by a failover) has
// no lag and may be read; standbys are preferred to it. With several read
// hosts each is measured and pooled on its own, so a read never lands on a
// host other than the one measured.
import type { Database, DatabaseClientOptions } from './prisma-client.js';
import { createDatabaseClient } from './prisma-client.js';
import { parseDatabaseUrl } from './database-url.js';
import { ReplayLagMeter, type HostTrouble } from './replay-lag.js';

/** How often each read host's lag is measured when nothing asks sooner. */
export const LAG_INTERVAL_MS = 250;
/** The longest a fresh (live) read waits for a standby to replay up to the moment it began. */
export const FRESH_WAIT_MS = 200;

/** Where one read went: a read host, or the primary and why. */
export type ReadChoice = { readonly to: 'standby' } | { readonly to: 'primary'; readonly reason: HostTrouble };

/** One read host as the metrics show it. */
export interface ReadHostState {
  /** `host:port`. */
  readonly host: string;
  /** Replay lag in ms; undefined while unknown. */
  readonly lagMs: number | undefined;
}

export interface ReadRouter {
  /** Whether read hosts are configured (otherwise every read is the primary's, and nothing is counted). */
  readonly enabled: boolean;
  /** For a read that may be up to READ_MAX_LAG_MS behind: a read host within it, else the primary. */
  reads(): Database;
  /** For a read that must hold every commit made before it began: a read host that does, else the primary. */
  freshReads(): Promise<Database>;
  /** `listener` is told of every choice from now on (the metrics count them). */
  onChoice(listener: (choice: ReadChoice) => void): void;
  hosts(): readonly ReadHostState[];
  stop(): Promise<void>;
}

export interface ReadRouterOptions {
  /** The primary's client: where reads go when no read host will do. */
  readonly primary: Database;
  /** The writable server's URL (where lag marks are read). */
  readonly primaryUrl: string;
  /** The read hosts' URL; undefined: none (every read is the primary's). */
  readonly readUrl: string | undefined;
  /** READ_MAX_LAG_MS. */
  readonly maxLagMs: number;
  /** Connections per read host. */
  readonly poolSize: number;
  /** As for the primary's pools: statement timeouts, a query listener. */
  readonly client: DatabaseClientOptions;
  /** A lag question that takes longer counts as the host not answering. */
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

interface ReadHost {
  readonly name: string;
  readonly db: Database;
  readonly meter: ReplayLagMeter;
}

/** Reasons ranked: the one reported when several hosts fail differently is the most telling. */
const RANK: Readonly<Record<HostTrouble, number>> = { lag: 0, unreachable: 1, unmeasured: 2 };

export function createReadRouter(options: ReadRouterOptions): ReadRouter {
  const { primary, readUrl } = options;
  if (readUrl === undefined) {
    return {
      enabled: false,
      reads: () => primary,
      freshReads: () => Promise.resolve(primary),
      onChoice: () => undefined,
      hosts: () => [],
      stop: () => Promise.resolve(),
    };
  }
  const parsed = parseDatabaseUrl(readUrl);
  const intervalMs = options.intervalMs ?? LAG_INTERVAL_MS;
  const hosts: ReadHost[] = parsed.hostUrls.map((hostUrl, index) => {
    const host = parsed.hosts[index];
    return {
      name: host ? `${host.host.includes(':') ? `[${host.host}]` : host.host}:${host.port}` : hostUrl,
      db: createDatabaseClient(hostUrl, options.poolSize, options.client),
      meter: new ReplayLagMeter({ primaryUrl: options.primaryUrl, hostUrl, intervalMs, timeoutMs: options.timeoutMs }),
    };
  });
  const listeners: ((choice: ReadChoice) => void)[] = [];
  const freshWaitMs = Math.min(FRESH_WAIT_MS, options.maxLagMs);
  let turn = 0;

  const tell = (choice: ReadChoice): void => {
    for (const listener of listeners) listener(choice);
  };
  const toPrimary = (reason: HostTrouble): Database => {
    tell({ to: 'primary', reason });
    return primary;
  };
  const toHost = (host: ReadHost): Database => {
    tell({ to: 'standby' });
    return host.db;
  };
  /** Hosts within the bound, standbys first (a promoted host only when no standby will do); else the reason. */
  const usable = (now: number): ReadHost[] | HostTrouble => {
    let reason: HostTrouble = 'unmeasured';
    const fit: ReadHost[] = [];
    for (const host of hosts) {
      const trouble = host.meter.trouble(options.maxLagMs, now);
      if (trouble === undefined) fit.push(host);
      else if (RANK[trouble] < RANK[reason]) reason = trouble;
    }
    const standbys = fit.filter((host) => host.meter.standby);
    const chosen = standbys.length > 0 ? standbys : fit;
    return chosen.length > 0 ? chosen : reason;
  };
  /** The next of `candidates` in turn, so several standbys share the reads. */
  const inTurn = (candidates: readonly ReadHost[]): ReadHost => {
    turn = (turn + 1) % candidates.length;
    const host = candidates[turn] ?? candidates[0];
    if (!host) throw new Error('no read host to choose from');
    return host;
  };

  return {
    enabled: true,
    reads() {
      const candidates = usable(performance.now());
      return typeof candidates === 'string' ? toPrimary(candidates) : toHost(inTurn(candidates));
    },
    async freshReads() {
      const since = performance.now();
      const candidates = usable(since);
      if (typeof candidates === 'string') return toPrimary(candidates);
      const holding = candidates.filter((host) => host.meter.holds(since));
      if (holding.length > 0) return toHost(inTurn(holding));
      // The first host to replay up to `since` is read; none within the wait: the primary.
      const caughtUp = await new Promise<ReadHost | undefined>((resolveFirst) => {
        let pending = candidates.length;
        for (const host of candidates)
          void host.meter.waitFor(since, freshWaitMs).then((held) => {
            pending -= 1;
            if (held) resolveFirst(host);
            else if (pending === 0) resolveFirst(undefined);
          });
      });
      return caughtUp ? toHost(caughtUp) : toPrimary('lag');
    },
    onChoice(listener) {
      listeners.push(listener);
    },
    hosts: () => hosts.map((host) => ({ host: host.name, lagMs: host.meter.lagMs() })),
    async stop() {
      await Promise.all(hosts.map((host) => host.meter.stop()));
      await Promise.all(hosts.map((host) => host.db.$disconnect()));
    },
  };
}
