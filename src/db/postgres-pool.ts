// Connections to a PostgreSQL that may move: DATABASE_URL may name several
// hosts (a primary and its standbys, in any order), and which one takes
// writes changes when the primary fails or is switched over. libpq chooses
// among them with `target_session_attrs`; node-postgres does not, so this
// module does, for every pool and client the gateway opens.
//
// A connection is opened to the host most likely to suit (the last one that
// did), then asked what it is. `read-write` needs
// `transaction_read_only = off`, not only `pg_is_in_recovery() = false`: a
// just-promoted node runs for a moment with default_transaction_read_only
// on, and writes there fail (SQLSTATE 25006). A host that refuses, cannot
// be reached, or is the wrong kind is passed over and tried again only after
// a backoff (100 ms doubling to 1 s), so a dead host costs one attempt per
// backoff, not one per connection. With several hosts, a pool's acquire tries host after host
// until its acquire timeout: requests during a failover wait for the new
// primary rather than fail, up to that bound (then DATABASE_UNAVAILABLE, 503).
//
// Connections opened before a failover die with the old primary (it stops,
// or restarts as a standby); pg-pool discards a connection whose query
// failed, so none of them is reused.
import { randomBytes } from 'node:crypto';
import pg, { type ClientConfig, type PoolClient, type PoolConfig } from 'pg';
import { parseDatabaseUrl, type DatabaseHost, type DatabaseUrl, type TargetSessionAttrs } from './database-url.js';

/** What a server said it is when a connection asked. */
export interface ServerRole {
  /** In recovery: a standby (hot or being promoted). */
  readonly standby: boolean;
  /** New transactions there are read-only (a standby, or a primary not yet open for writes). */
  readonly readOnly: boolean;
}

/**
 * A commit whose wait for a synchronous standby was cut short by a cancel
 * (pg_cancel_backend, a client's cancel request; statement_timeout does not
 * reach that wait): PostgreSQL then reports the COMMIT as done (with a
 * WARNING), though only this server has it. (Ended by pg_terminate_backend or
 * a shutdown, the connection is lost instead, and this error names why.) If
 * this server is an old primary still running after its standby was
 * promoted, the commit is lost when it rejoins; so the statement is failed
 * instead, and its outcome is settled like that of a lost connection
 * (queue/unknown-outcome.ts).
 */
export class CommitUnconfirmedError extends Error {
  override readonly name = 'CommitUnconfirmedError';
  readonly code = 'COMMIT_UNCONFIRMED';
  constructor(host: DatabaseHost) {
    super(
      `${host.host}:${host.port} committed locally, but the commit was not confirmed by a synchronous standby (its wait was cancelled)`,
    );
  }
}

/**
 * The server function that reports a cut-short wait for the standby. A
 * notice's `routine` is the C function that raised it: unlike its message,
 * it is not translated by the server's lc_messages.
 */
const SYNC_WAIT_ROUTINE = 'SyncRepWaitForLSN';

/** pg's query in flight on a client: failing it before its ReadyForQuery turns a success into an error. */
interface QueryInFlight {
  _canceledDueToError: unknown;
}

function queryInFlight(client: pg.Client): QueryInFlight | undefined {
  // pg's Client keeps it in a field of its own (`_getActiveQuery`, pg 8);
  // test/db/commit-unconfirmed.test.ts fails if a pg upgrade moves it.
  const getter: unknown = Reflect.get(client, '_getActiveQuery');
  if (typeof getter !== 'function') return undefined;
  const query: unknown = Reflect.apply(getter, client, []);
  return typeof query === 'object' && query !== null && '_canceledDueToError' in query ? query : undefined;
}

/** A host that was not the kind of server `target_session_attrs` asks for. */
export class HostMismatchError extends Error {
  override readonly name = 'HostMismatchError';
  readonly code = 'HOST_MISMATCH';
}

const ROLE_QUERY = `SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') = 'on' AS "readOnly"`;

const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 1_000;
/** How long an acquire keeps looking for a suitable host when the pool has no timeout of its own. */
const DEFAULT_SEARCH_MS = 5_000;

function suits(attrs: TargetSessionAttrs, role: ServerRole): boolean {
  switch (attrs) {
    case 'any':
    case 'prefer-standby':
      return true;
    case 'read-write':
      return !role.readOnly;
    case 'read-only':
      return role.readOnly;
    case 'primary':
      return !role.standby;
    case 'standby':
      return role.standby;
  }
}

interface HostState {
  readonly index: number;
  role: ServerRole | undefined;
  /** Consecutive failures; 0 when it last suited. */
  failures: number;
  /** Not tried again before this (performance.now()). */
  retryAt: number;
}

/**
 * Which of a URL's hosts to connect to next, shared by every pool and client
 * of the process that uses the same URL (so one finds the new primary for all).
 */
export class HostLocator {
  private readonly states: HostState[];
  private preferred = 0;

  constructor(readonly url: DatabaseUrl) {
    this.states = url.hosts.map((_, index) => ({ index, role: undefined, failures: 0, retryAt: 0 }));
  }

  /** The host a new connection should try: the preferred one unless it waits out a backoff. */
  next(): { readonly index: number; readonly host: DatabaseHost; readonly url: string } {
    const now = performance.now();
    const order = this.order();
    const state = order.find((candidate) => candidate.retryAt <= now) ?? this.soonest(order);
    return { index: state.index, host: this.hostAt(state.index), url: this.url.hostUrls[state.index] ?? '' };
  }

  /** Milliseconds until some host may be tried again (0: one may now). */
  waitMs(): number {
    const now = performance.now();
    return Math.max(0, Math.min(...this.states.map((state) => state.retryAt)) - now);
  }

  /** The connection to host `index` suits: prefer it from now on. */
  suited(index: number, role: ServerRole): void {
    const state = this.stateAt(index);
    state.role = role;
    state.failures = 0;
    state.retryAt = 0;
    this.preferred = index;
  }

  /**
   * Host `index` could not be reached, or was not the kind asked for (`role`
   * when it said what it is): back off from it and move on.
   */
  failed(index: number, role?: ServerRole): void {
    const state = this.stateAt(index);
    if (role) state.role = role;
    state.failures += 1;
    state.retryAt = performance.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (state.failures - 1));
    if (index === this.preferred) this.preferred = (index + 1) % this.states.length;
  }

  /** Checks what the server behind `client` is; throws HostMismatchError when it does not suit. */
  async check(client: pg.ClientBase, index: number): Promise<void> {
    const attrs = this.url.targetSessionAttrs;
    // One host, any kind: nothing to choose, so nothing to ask.
    if (attrs === 'any' && this.url.hosts.length === 1) return;
    const { rows } = await client.query<{ standby: boolean; readOnly: boolean }>(ROLE_QUERY);
    const role = rows[0] ?? { standby: false, readOnly: false };
    if (!suits(attrs, role) || (attrs === 'prefer-standby' && !role.standby && this.standbyMayExist(index))) {
      this.failed(index, role);
      const host = this.hostAt(index);
      throw new HostMismatchError(
        `${host.host}:${host.port} is ${role.standby ? 'a standby' : role.readOnly ? 'a read-only primary' : 'a primary'}, not what target_session_attrs=${attrs} asks for`,
      );
    }
    this.suited(index, role);
  }

  /** prefer-standby: another host not known to be a primary may be a standby, and has not failed lately. */
  private standbyMayExist(index: number): boolean {
    const now = performance.now();
    return this.states.some(
      (state) =>
        state.index !== index && state.role?.standby !== false && (state.failures === 0 || state.retryAt <= now),
    );
  }

  /** Hosts in the order to try: standbys first for the standby-seeking settings, else the preferred first. */
  private order(): HostState[] {
    const rotated = [...this.states.slice(this.preferred), ...this.states.slice(0, this.preferred)];
    const attrs = this.url.targetSessionAttrs;
    if (attrs !== 'prefer-standby' && attrs !== 'standby' && attrs !== 'read-only') return rotated;
    const rank = (state: HostState) => (state.role === undefined ? 1 : state.role.standby ? 0 : 2);
    return rotated.sort((a, b) => rank(a) - rank(b));
  }

  private soonest(states: readonly HostState[]): HostState {
    return states.reduce((best, state) => (state.retryAt < best.retryAt ? state : best));
  }

  private stateAt(index: number): HostState {
    const state = this.states[index];
    if (!state) throw new RangeError(`no host ${index} in ${this.url.description}`);
    return state;
  }

  private hostAt(index: number): DatabaseHost {
    const host = this.url.hosts[index];
    if (!host) throw new RangeError(`no host ${index} in ${this.url.description}`);
    return host;
  }
}

const locators = new Map<string, HostLocator>();

/** The process's locator for `url` (one per distinct URL). */
export function hostLocator(url: string): HostLocator {
  let locator = locators.get(url);
  if (!locator) {
    locator = new HostLocator(parseDatabaseUrl(url));
    locators.set(url, locator);
  }
  return locator;
}

/** A client that remembers which of the locator's hosts it was opened to. */
interface LocatedClient extends pg.Client {
  readonly hostIndex: number;
}

type ConnectCallback = ((error: Error) => void) | ((error: null, client: pg.Client) => void);

/**
 * The pg.Client class for `locator`'s hosts: each new client is pointed at
 * the locator's next host, and its connect() succeeds only once the server
 * has said it suits (a mismatch ends the connection and fails the connect).
 */
function locatedClientClass(
  locator: HostLocator,
  ended?: EndedConnections,
): new (config?: ClientConfig) => LocatedClient {
  return class extends pg.Client implements LocatedClient {
    readonly hostIndex: number;
    constructor(config: ClientConfig = {}) {
      const { index, url } = locator.next();
      const { connectionString: _ignored, ...rest } = config;
      // A name of its own, so that its server session can be found after the connection is lost (EndedConnections).
      const name = rest.application_name ?? `${APPLICATION_NAME} ${randomBytes(6).toString('hex')}`;
      super({ ...rest, application_name: name, connectionString: url });
      this.hostIndex = index;
      if (ended) this.once('end', () => ended.add(name));
      this.on('notice', (notice: { readonly routine?: string | undefined }) => {
        if (notice.routine === SYNC_WAIT_ROUTINE) this.commitUnconfirmed();
      });
    }

    /** The statement in flight committed without the standby's confirmation: it fails, and this host is tried last. */
    private commitUnconfirmed(): void {
      const error = new CommitUnconfirmedError(locator.url.hosts[this.hostIndex] ?? { host: '?', port: 0 });
      const query = queryInFlight(this);
      if (query) query._canceledDueToError = error;
      // Without pg's field (moved by a pg upgrade: the test says so) the
      // connection is cut, which fails the statement unless its answer is already read.
      else this.connection.stream.destroy(error);
      locator.failed(this.hostIndex);
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | undefined {
      const connecting = this.connectAndCheck();
      if (!callback) return connecting;
      const answer = callback as (error: Error | null, client?: pg.Client) => void;
      connecting.then(
        (client) => answer(null, client),
        (error: unknown) => answer(error instanceof Error ? error : new Error(String(error))),
      );
      return undefined;
    }

    private async connectAndCheck(): Promise<pg.Client> {
      try {
        await super.connect();
      } catch (error) {
        locator.failed(this.hostIndex);
        throw error;
      }
      // Connected, but not yet handed over: nobody listens for its errors
      // (pg-pool does once connect() has called back), and pg emits a lost
      // socket as an 'error' event besides failing the query: unheard, it would end the process.
      const meanwhile = () => undefined;
      this.on('error', meanwhile);
      try {
        await locator.check(this, this.hostIndex);
      } catch (error) {
        // Unsuitable (the locator has moved on) or lost while asking: this connection is not kept.
        if (!(error instanceof HostMismatchError)) locator.failed(this.hostIndex);
        await this.end().catch(() => undefined);
        throw error;
      }
      this.off('error', meanwhile);
      return this;
    }
  };
}

/** How the gateway's pooled connections show in pg_stat_activity (each followed by a random suffix of its own). */
export const APPLICATION_NAME = 'fifo-gateway';

/** Most ended connections remembered per pool. */
const ENDED_KEPT = 256;

/**
 * The application names of a pool's connections that have ended, with when.
 * A connection the gateway gave up on (lost, timed out) may still have a
 * session on the server, in the middle of a statement or waiting for a
 * synchronous standby to confirm its commit; `fenceEndedSessions` ends those
 * sessions, so that whatever they were doing is settled one way or the other.
 */
export class EndedConnections {
  private readonly names: { readonly name: string; readonly at: number }[] = [];

  add(name: string): void {
    this.names.push({ name, at: performance.now() });
    if (this.names.length > ENDED_KEPT) this.names.shift();
  }

  /** Names of the connections that ended at or after `since` (performance.now()). */
  since(since: number): string[] {
    return this.names.filter((entry) => entry.at >= since).map((entry) => entry.name);
  }
}

const clientClasses = new WeakMap<HostLocator, new (config?: ClientConfig) => LocatedClient>();

function clientClass(locator: HostLocator): new (config?: ClientConfig) => LocatedClient {
  let located = clientClasses.get(locator);
  if (!located) {
    located = locatedClientClass(locator);
    clientClasses.set(locator, located);
  }
  return located;
}

/**
 * A client (not yet connected) for `url`: it opens on the host the locator
 * picks, and its connect() fails when that host does not suit
 * `target_session_attrs` (the next client then tries the next host).
 */
export function postgresClient(url: string, config: Omit<ClientConfig, 'connectionString'> = {}): pg.Client {
  const Located = clientClass(hostLocator(url));
  return new Located(config);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isConnectFailure(error: unknown): boolean {
  if (error instanceof HostMismatchError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  // Refused, unreachable, reset while opening, or a server starting, stopping or in recovery.
  return (
    (typeof code === 'string' && (/^(E[A-Z]+)$/.test(code) || /^57P0[1-3]$/.test(code) || code === '08006')) ||
    /Connection terminated|timeout/i.test(error.message)
  );
}

/**
 * A pg.Pool over the hosts of `url` that keeps only connections to a host
 * `target_session_attrs` accepts. An acquire that meets an unsuitable or
 * unreachable host tries the next, with backoff, until the pool's
 * `connectionTimeoutMillis` (5 s when unset) has passed.
 */
export class PostgresPool extends pg.Pool {
  readonly locator: HostLocator;
  /** This pool's connections that have ended (EndedConnections). */
  readonly endedConnections: EndedConnections;
  private readonly searchMs: number;

  constructor(url: string, config: Omit<PoolConfig, 'connectionString' | 'Client'> = {}) {
    const locator = hostLocator(url);
    const ended = new EndedConnections();
    super({ ...config, Client: locatedClientClass(locator, ended) });
    this.locator = locator;
    this.endedConnections = ended;
    this.searchMs = config.connectionTimeoutMillis || DEFAULT_SEARCH_MS;
    // An idle connection that breaks (its server stopped) is dropped by pg-pool; the error needs a listener.
    this.on('error', () => undefined);
  }

  override connect(): Promise<PoolClient>;
  override connect(
    callback: (error: Error | undefined, client: PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): void;
  override connect(
    callback?: (error: Error | undefined, client: PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<PoolClient> | undefined {
    const acquiring = this.acquire();
    if (!callback) return acquiring;
    acquiring.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | boolean | undefined)),
      (error: unknown) =>
        callback(error instanceof Error ? error : new Error(String(error)), undefined, () => undefined),
    );
    return undefined;
  }

  private async acquire(): Promise<PoolClient> {
    const deadline = performance.now() + this.searchMs;
    for (;;) {
      try {
        return await super.connect();
      } catch (error) {
        const remaining = deadline - performance.now();
        // One host: nothing else to try; the caller hears at once that the database is away.
        const single = this.locator.url.hosts.length === 1;
        if (single || !isConnectFailure(error) || remaining <= 0 || this.ending) throw error;
        await sleep(Math.min(remaining, Math.max(10, this.locator.waitMs())));
      }
    }
  }
}

/** Opens one client on a host of `url` that suits its `target_session_attrs`, trying each host at most once. */
export async function connectPostgres(
  url: string,
  config: Omit<ClientConfig, 'connectionString'> = {},
): Promise<pg.Client> {
  const hosts = hostLocator(url).url.hosts.length;
  let lastError: unknown;
  for (let attempt = 0; attempt < hosts; attempt++) {
    const client = postgresClient(url, config);
    try {
      await client.connect();
      return client;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
