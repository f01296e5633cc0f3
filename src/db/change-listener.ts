// One connection per gateway process that LISTENs on the channel the
// database's triggers notify (prisma/migrations/*_case_change_notifications),
// and on the one API key revocations and rotations notify (src/auth/api-keys.ts).
// A pooled connection cannot LISTEN (it goes back to the pool), so this is a
// client of its own, kept alive for the life of the process: when it is lost
// (the server restarts, an administrator terminates it, the network drops it)
// it is opened again with backoff, and `onConnected` tells the subscribers'
// side to read every state afresh, since whatever happened meanwhile was not heard.
//
// NOTIFY serialises the commits that send it (PostgreSQL takes one lock for
// the whole queue until the commit is flushed), so the triggers announce the
// changes of a service only while some gateway follows it: while the table
// live_follows has a row for it. A writer's trigger takes a shared advisory
// lock on (FOLLOW_LOCK_NAMESPACE, service id) before it looks, and holds it
// until it commits; writers never wait for one another. To follow, this
// connection commits its row, then a barrier connection takes and drops that
// lock exclusively: that waits for every writer that may have looked before
// the row was there, so the first read of the state has their changes in it.
// Rows of listeners that are gone (a crash, a lost connection) are removed
// by every listener's pings; until then they only cost a notification.
//
// The barrier never runs on the listening connection: a backend that waits
// for a lock delivers no notifications, so one open writer of one service
// froze every live update of the process (8.7 s in issue 16). It runs on a
// small pool of its own, two services at once, and waits at most
// `followWaitMs` (3 s): while it waits, that service's new writers queue
// behind its exclusive request, so the wait must be short. When the bound
// passes, the follow resolves anyway (its subscribers get the committed state
// now, which is true, only perhaps not final), and the listener waits off to
// the side, without queueing, for the transactions that held the lock at that
// moment (polling pg_locks for them); once they have ended, `onCaughtUp` has
// the service read again, so a change they made is shown though it was never
// announced. Failing the subscription instead would make one forgotten open
// transaction refuse every new subscriber of its service, and retrying the
// lock would stall the service's writers again each time; this costs one
// more read.
import pg from 'pg';
import type { Logger } from '../log.js';
import { PostgresPool, postgresClient } from './postgres-pool.js';
import { sessionOptions } from './session-settings.js';

export const CHANGES_CHANNEL = 'case_changes';
/** The channel an API key's revocation or rotation notifies in its transaction; the payload is the key's id. */
export const KEY_CHANGES_CHANNEL = 'api_key_changes';
/** How the listening connection shows in pg_stat_activity (tests find it by this). */
export const LISTENER_APPLICATION_NAME = 'fifo-gateway-listener';
/** How the connections that wait for a followed service's writers show in pg_stat_activity. */
export const BARRIER_APPLICATION_NAME = 'fifo-gateway-follow-barrier';
/**
 * The first key of the advisory locks writers hold while they look for
 * followers ("LIVE" in ASCII). The migration's trigger repeats it as
 * 1279874629; a test fails when the two differ.
 */
export const FOLLOW_LOCK_NAMESPACE = 0x4c495645;
/**
 * How long a follow waits for the writers that looked before its row. Writers
 * of a queue commit within milliseconds; one open for seconds is stuck or
 * forgotten, and the service's later writers wait behind the follow meanwhile.
 */
export const FOLLOW_WAIT_MS = 3_000;

export interface ChangeListenerOptions {
  readonly databaseUrl: string;
  readonly log: Logger;
  /** Each notification's payload, in commit order. */
  readonly onNotification: (payload: string) => void;
  /** The connection is (again) listening and following: changes made while it was not were missed. */
  readonly onConnected: () => void;
  /**
   * An API key was revoked or rotated (its id), by any process; absent: that
   * channel is not listened to. Keys changed while the connection was down
   * are not told: `onConnected` follows every (re)connection.
   */
  readonly onKeyChanged?: (keyId: string) => void;
  /**
   * A follow resolved at `followWaitMs` while writers that may have looked
   * before it were still open; they have ended now, and what they changed was
   * not announced: the service's state must be read again.
   */
  readonly onCaughtUp: (serviceId: number) => void;
  /** A connection that has not answered a ping within this is taken as lost. */
  readonly pingTimeoutMs?: number;
  /** How often the connection is pinged, to notice a silent loss (no FIN, no error). */
  readonly pingIntervalMs?: number;
  /** How long a follow waits for earlier writers before it resolves anyway (`FOLLOW_WAIT_MS`). */
  readonly followWaitMs?: number;
}

export interface ChangeListener {
  /** Resolves once the first connection listens (or when the listener is stopped first). */
  readonly ready: Promise<void>;
  /** Whether the connection is listening now. */
  listening(): boolean;
  /**
   * Asks the database to announce this service's changes from now on;
   * resolves once it does and the writers that looked before have ended, or
   * after `followWaitMs` (then `onCaughtUp` follows once they end), or once
   * the connection is down (reconnecting follows every followed service
   * again, then calls `onConnected`). Never rejects.
   */
  follow(serviceId: number): Promise<void>;
  /** No subscriber here follows this service any more. */
  unfollow(serviceId: number): void;
  stop(): Promise<void>;
}

const RETRY_FIRST_MS = 100;
// At most a second between tries: after a failover the screens must see the
// new primary's state within moments of it taking writes, and a try costs one connection attempt.
const RETRY_MAX_MS = 1_000;
/** Barriers of this many services wait at once; more queue for a connection (each wait is bounded). */
const BARRIER_CONNECTIONS = 2;
/** Polling for the writers a follow stopped waiting for: from this, doubling, up to the next. */
const CATCH_UP_FIRST_MS = 50;
const CATCH_UP_MAX_MS = 1_000;
/** lock_not_available: what lock_timeout raises. */
const LOCK_TIMEOUT = '55P03';

/** One statement, so the exclusive lock goes with its transaction the moment it is granted. */
const FOLLOW_BARRIER = 'SELECT pg_advisory_xact_lock($1, $2)';
/**
 * The transactions holding a service's follow lock now; with `$3`, only those
 * of `$3` still holding it. Reading pg_locks takes no lock, so nobody queues behind it.
 */
const FOLLOW_LOCK_HOLDERS = `
  SELECT coalesce(array_agg(virtualtransaction), '{}') AS holders
    FROM pg_locks
   WHERE locktype = 'advisory' AND granted
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND classid = $1 AND objid = $2 AND objsubid = 2
     AND ($3::text[] IS NULL OR virtualtransaction = ANY ($3::text[]))`;
/** Rows of listeners that are gone: their services' changes need no announcing for them. */
const FORGET_GONE_LISTENERS = `
  DELETE FROM live_follows f
   WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                      WHERE a.pid = f.listener_pid AND a.backend_start = f.listener_started)`;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const sqlState = (error: unknown): unknown =>
  typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

type Statement = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * Runs statements on `client` one after another. node-postgres queues them
 * too, but warns (and pg@9 will refuse) when a query is queued behind another.
 */
function oneAtATime(client: pg.Client): Statement {
  let tail: Promise<unknown> = Promise.resolve();
  return <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const result = tail.then(() => client.query<R>(text, values));
    tail = result.catch(() => undefined);
    return result;
  };
}

export function startChangeListener(options: ChangeListenerOptions): ChangeListener {
  const {
    databaseUrl,
    log,
    onNotification,
    onConnected,
    onKeyChanged,
    onCaughtUp,
    pingTimeoutMs = 5_000,
    pingIntervalMs = 10_000,
    followWaitMs = FOLLOW_WAIT_MS,
  } = options;
  /** The services subscribers of this process follow. */
  const followed = new Set<number>();
  /** Of those, the ones the current connection has registered (or is registering). */
  let registered = new Set<number>();
  let client: pg.Client | undefined;
  /** Statements on `client`, in turn. */
  let statement: Statement | undefined;
  let stopped = false;
  let connected = false;
  let retryMs = RETRY_FIRST_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  // lock_timeout bounds the wait in the server; query_timeout bounds it here
  // too when the server does not answer at all (then the connection is dropped).
  const barriers = new PostgresPool(databaseUrl, {
    application_name: BARRIER_APPLICATION_NAME,
    options: sessionOptions({ lock_timeout: followWaitMs }),
    max: BARRIER_CONNECTIONS,
    keepAlive: true,
    connectionTimeoutMillis: pingTimeoutMs,
    query_timeout: followWaitMs + pingTimeoutMs,
  });
  // An idle barrier connection lost (a server restart): the next follow opens
  // another. Losing the database is reported by the listening connection.
  barriers.on('error', () => undefined);

  const lose = (current: pg.Client, why: string): void => {
    if (client !== current) return;
    client = undefined;
    statement = undefined;
    clearInterval(pingTimer);
    if (connected) log.error(`live updates: lost the database listener (${why}); reconnecting`);
    connected = false;
    registered = new Set();
    current.removeAllListeners('notification');
    current.end().catch(() => undefined);
    if (!stopped) {
      retryTimer = setTimeout(() => void connect(), retryMs);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    }
  };

  /** Whether `current` is still the connection this listener keeps (read after each await). */
  const wanted = (current: pg.Client): boolean => !stopped && client === current;
  /** Whether `serviceId` is still registered by `current`: work for it is still needed. */
  const stillFollowing = (current: pg.Client, serviceId: number): boolean =>
    wanted(current) && registered.has(serviceId);

  /**
   * Registers `serviceIds` not yet registered on `current` (one INSERT on the
   * listening connection, which waits for nobody), then passes each one's
   * barrier on a barrier connection. A failed INSERT is the connection's loss
   * (reconnecting registers everything again).
   */
  const register = async (current: pg.Client, run: Statement, serviceIds: readonly number[]): Promise<void> => {
    const missing = serviceIds.filter((serviceId) => !registered.has(serviceId));
    if (missing.length === 0) return;
    for (const serviceId of missing) registered.add(serviceId);
    try {
      await run(
        `INSERT INTO live_follows (service_id, listener_pid, listener_started)
         SELECT id, pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
           FROM unnest($1::int[]) AS id
         ON CONFLICT DO NOTHING`,
        [missing],
      );
    } catch (error) {
      lose(current, `following services failed: ${message(error)}`);
      return;
    }
    await Promise.all(missing.map((serviceId) => barrier(current, serviceId)));
  };

  /**
   * Waits, at most `followWaitMs`, for the writers of `serviceId` that may
   * have looked for followers before its row was committed. Each barrier
   * holds no lock while it waits and at most one once granted (for the
   * instant its statement ends), so barriers and writers cannot wait for one
   * another in a circle. Given up (or failed), the follow resolves and
   * `catchUp` takes over.
   */
  const barrier = async (current: pg.Client, serviceId: number): Promise<void> => {
    if (!stillFollowing(current, serviceId)) return;
    let connection: pg.PoolClient | undefined;
    try {
      connection = await barriers.connect();
      await connection.query(FOLLOW_BARRIER, [FOLLOW_LOCK_NAMESPACE, serviceId]);
      connection.release();
      return;
    } catch (error) {
      const timedOut = sqlState(error) === LOCK_TIMEOUT;
      // A lock timeout leaves the connection as it was; anything else may not have.
      connection?.release(timedOut ? undefined : true);
      if (!stillFollowing(current, serviceId)) return;
      if (timedOut)
        log.warn(
          `live updates: a transaction that changed service ${serviceId} has been open for over ${followWaitMs} ms; ` +
            'its new subscribers get its state now, and again once that transaction ends',
        );
      else
        log.error(
          `live updates: waiting for the writers of service ${serviceId} failed; reading again once they end`,
          error,
        );
    }
    void catchUp(current, serviceId);
  };

  /**
   * After a barrier gave up: waits for the transactions that hold the
   * service's lock now (every writer that looked before the row is among
   * them, if it has not ended yet) by polling pg_locks, so that no writer
   * queues behind this wait and none that comes later prolongs it. Then the
   * service is read again.
   */
  const catchUp = async (current: pg.Client, serviceId: number): Promise<void> => {
    let holders: readonly string[] | null = null;
    let delayMs = CATCH_UP_FIRST_MS;
    while (stillFollowing(current, serviceId)) {
      try {
        const result: pg.QueryResult<{ holders: string[] }> = await barriers.query(FOLLOW_LOCK_HOLDERS, [
          FOLLOW_LOCK_NAMESPACE,
          serviceId,
          holders,
        ]);
        const left = result.rows[0]?.holders ?? [];
        if (left.length === 0) {
          if (stillFollowing(current, serviceId)) onCaughtUp(serviceId);
          return;
        }
        holders = left;
      } catch {
        // The database is away: the listening connection's ping notices, and reconnecting reads everything again.
      }
      await sleep(delayMs);
      delayMs = Math.min(CATCH_UP_MAX_MS, delayMs * 2);
    }
  };

  const ping = (current: pg.Client, run: Statement): void => {
    const timer = setTimeout(() => lose(current, `no answer to a ping within ${pingTimeoutMs} ms`), pingTimeoutMs);
    run(FORGET_GONE_LISTENERS).then(
      () => clearTimeout(timer),
      (error: unknown) => {
        clearTimeout(timer);
        lose(current, `ping failed: ${message(error)}`);
      },
    );
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    // On the writable host (DATABASE_URL may name several): LISTEN and NOTIFY fail on a standby.
    const current = postgresClient(databaseUrl, {
      application_name: LISTENER_APPLICATION_NAME,
      options: sessionOptions(),
      keepAlive: true,
      connectionTimeoutMillis: pingTimeoutMs,
    });
    const run = oneAtATime(current);
    client = current;
    statement = run;
    current.on('error', (error) => lose(current, error.message));
    current.on('end', () => lose(current, 'connection closed'));
    current.on('notification', (notification) => {
      if (notification.payload === undefined) return;
      if (notification.channel === CHANGES_CHANNEL) onNotification(notification.payload);
      else if (notification.channel === KEY_CHANGES_CHANNEL) onKeyChanged?.(notification.payload);
    });
    try {
      await current.connect();
      await run(`LISTEN ${CHANGES_CHANNEL}`);
      if (onKeyChanged) await run(`LISTEN ${KEY_CHANGES_CHANNEL}`);
      await run(FORGET_GONE_LISTENERS);
    } catch (error) {
      lose(current, message(error));
      return;
    }
    // Lost meanwhile (then `lose` has ended it and retries), or stopped.
    if (!wanted(current)) {
      await current.end().catch(() => undefined);
      return;
    }
    connected = true;
    // Services followed from here on register themselves (`follow`); these are the ones followed before.
    await register(current, run, [...followed]);
    if (!wanted(current)) return;
    retryMs = RETRY_FIRST_MS;
    pingTimer = setInterval(() => ping(current, run), pingIntervalMs);
    pingTimer.unref();
    resolveReady();
    onConnected();
  }

  void connect();
  return {
    ready,
    listening: () => connected,
    async follow(serviceId) {
      followed.add(serviceId);
      const current = client;
      const run = statement;
      if (current && run && connected) await register(current, run, [serviceId]);
    },
    unfollow(serviceId) {
      followed.delete(serviceId);
      const current = client;
      const run = statement;
      if (!current || !run || !connected || !registered.delete(serviceId)) return;
      run('DELETE FROM live_follows WHERE service_id = $1 AND listener_pid = pg_backend_pid()', [serviceId]).catch(
        (error: unknown) => lose(current, `unfollowing a service failed: ${message(error)}`),
      );
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      const current = client;
      client = undefined;
      statement = undefined;
      connected = false;
      resolveReady();
      if (current) {
        current.removeAllListeners();
        current.on('error', () => undefined);
        await current.end().catch(() => undefined);
      }
      // Waits for a barrier still waiting (at most `followWaitMs`).
      await barriers.end().catch(() => undefined);
    },
  };
}
