// One connection per gateway process that LISTENs on the channel the
// database's triggers notify (prisma/migrations/*_case_change_notifications).
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
// connection commits its row, then takes and drops that lock exclusively:
// that waits for every writer that may have looked before the row was there,
// so the first read of the state has their changes in it. Nothing is missed.
// Rows of listeners that are gone (a crash, a lost connection) are removed
// by every listener's pings; until then they only cost a notification.
import pg from 'pg';
import type { Logger } from '../log.js';

export const CHANGES_CHANNEL = 'case_changes';
/** How the listening connection shows in pg_stat_activity (tests find it by this). */
export const LISTENER_APPLICATION_NAME = 'fifo-gateway-listener';
/**
 * The first key of the advisory locks writers hold while they look for
 * followers ("LIVE" in ASCII). The migration's trigger repeats it as
 * 1279874629; a test fails when the two differ.
 */
export const FOLLOW_LOCK_NAMESPACE = 0x4c495645;

export interface ChangeListenerOptions {
  readonly databaseUrl: string;
  readonly log: Logger;
  /** Each notification's payload, in commit order. */
  readonly onNotification: (payload: string) => void;
  /** The connection is (again) listening and following: changes made while it was not were missed. */
  readonly onConnected: () => void;
  /** A connection that has not answered a ping within this is taken as lost. */
  readonly pingTimeoutMs?: number;
  /** How often the connection is pinged, to notice a silent loss (no FIN, no error). */
  readonly pingIntervalMs?: number;
}

export interface ChangeListener {
  /** Resolves once the first connection listens (or when the listener is stopped first). */
  readonly ready: Promise<void>;
  /** Whether the connection is listening now. */
  listening(): boolean;
  /**
   * Asks the database to announce this service's changes from now on;
   * resolves once it does (or once the connection is down: reconnecting
   * follows every followed service again, then calls `onConnected`).
   */
  follow(serviceId: number): Promise<void>;
  /** No subscriber here follows this service any more. */
  unfollow(serviceId: number): void;
  stop(): Promise<void>;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function startChangeListener(options: ChangeListenerOptions): ChangeListener {
  const { databaseUrl, log, onNotification, onConnected, pingTimeoutMs = 5_000, pingIntervalMs = 10_000 } = options;
  /** The services subscribers of this process follow. */
  const followed = new Set<number>();
  /** Of those, the ones the current connection has registered (or is registering). */
  let registered = new Set<number>();
  let client: pg.Client | undefined;
  let stopped = false;
  let connected = false;
  let retryMs = RETRY_FIRST_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  const lose = (current: pg.Client, why: string): void => {
    if (client !== current) return;
    client = undefined;
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

  /**
   * Registers `serviceIds` not yet registered on `current`, then waits for the
   * writers that may have looked before: one service at a time, in order, so
   * that this never holds one lock while waiting for another. A failure is
   * the connection's loss (reconnecting registers everything again).
   */
  const register = async (current: pg.Client, serviceIds: readonly number[]): Promise<void> => {
    const missing = serviceIds.filter((serviceId) => !registered.has(serviceId)).sort((a, b) => a - b);
    if (missing.length === 0) return;
    for (const serviceId of missing) registered.add(serviceId);
    try {
      await current.query(
        `INSERT INTO live_follows (service_id, listener_pid, listener_started)
         SELECT id, pg_backend_pid(), (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
           FROM unnest($1::int[]) AS id
         ON CONFLICT DO NOTHING`,
        [missing],
      );
      for (const serviceId of missing) {
        await current.query('SELECT pg_advisory_lock($1, $2)', [FOLLOW_LOCK_NAMESPACE, serviceId]);
        await current.query('SELECT pg_advisory_unlock($1, $2)', [FOLLOW_LOCK_NAMESPACE, serviceId]);
      }
    } catch (error) {
      lose(current, `following services failed: ${message(error)}`);
    }
  };

  /** Rows of listeners that are gone: their services' changes need no announcing for them. */
  const FORGET_GONE_LISTENERS = `
    DELETE FROM live_follows f
     WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                        WHERE a.pid = f.listener_pid AND a.backend_start = f.listener_started)`;

  const ping = (current: pg.Client): void => {
    const timer = setTimeout(() => lose(current, `no answer to a ping within ${pingTimeoutMs} ms`), pingTimeoutMs);
    current.query(FORGET_GONE_LISTENERS).then(
      () => clearTimeout(timer),
      (error: unknown) => {
        clearTimeout(timer);
        lose(current, `ping failed: ${message(error)}`);
      },
    );
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const current = new pg.Client({
      connectionString: databaseUrl,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: pingTimeoutMs,
    });
    client = current;
    current.on('error', (error) => lose(current, error.message));
    current.on('end', () => lose(current, 'connection closed'));
    current.on('notification', (notification) => {
      if (notification.channel === CHANGES_CHANNEL && notification.payload !== undefined)
        onNotification(notification.payload);
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${CHANGES_CHANNEL}`);
      await current.query(FORGET_GONE_LISTENERS);
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
    await register(current, [...followed]);
    if (!wanted(current)) return;
    retryMs = RETRY_FIRST_MS;
    pingTimer = setInterval(() => ping(current), pingIntervalMs);
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
      if (current && connected) await register(current, [serviceId]);
    },
    unfollow(serviceId) {
      followed.delete(serviceId);
      const current = client;
      if (!current || !connected || !registered.delete(serviceId)) return;
      current
        .query('DELETE FROM live_follows WHERE service_id = $1 AND listener_pid = pg_backend_pid()', [serviceId])
        .catch((error: unknown) => lose(current, `unfollowing a service failed: ${message(error)}`));
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      const current = client;
      client = undefined;
      connected = false;
      resolveReady();
      if (current) {
        current.removeAllListeners();
        current.on('error', () => undefined);
        await current.end().catch(() => undefined);
      }
    },
  };
}
