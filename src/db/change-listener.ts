// One connection per gateway process that LISTENs on the channel the
// database's triggers notify (prisma/migrations/*_case_change_notifications).
// A pooled connection cannot LISTEN (it goes back to the pool), so this is a
// client of its own, kept alive for the life of the process: when it is lost
// (the server restarts, an administrator terminates it, the network drops it)
// it is opened again with backoff, and `onConnected` tells the subscribers'
// side to read every state afresh, since whatever happened meanwhile was not heard.
import pg from 'pg';
import type { Logger } from '../log.js';

export const CHANGES_CHANNEL = 'case_changes';
/** How the listening connection shows in pg_stat_activity (tests find it by this). */
export const LISTENER_APPLICATION_NAME = 'fifo-gateway-listener';

export interface ChangeListenerOptions {
  readonly databaseUrl: string;
  readonly log: Logger;
  /** Each notification's payload, in commit order. */
  readonly onNotification: (payload: string) => void;
  /** The connection is (again) listening: changes made while it was not were missed. */
  readonly onConnected: () => void;
  /** A connection that has not answered a ping within this is taken as lost. */
  readonly pingTimeoutMs?: number;
  /** How often the connection is pinged, to notice a silent loss (no FIN, no error). */
  readonly pingIntervalMs?: number;
}

export interface ChangeListener {
  /** Resolves once the first connection listens (or rejects when it cannot be opened at all). */
  readonly ready: Promise<void>;
  /** Whether the connection is listening now. */
  listening(): boolean;
  stop(): Promise<void>;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

export function startChangeListener(options: ChangeListenerOptions): ChangeListener {
  const { databaseUrl, log, onNotification, onConnected, pingTimeoutMs = 5_000, pingIntervalMs = 10_000 } = options;
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
    current.removeAllListeners('notification');
    current.end().catch(() => undefined);
    if (!stopped) {
      retryTimer = setTimeout(() => void connect(), retryMs);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    }
  };

  /** Whether `current` is still the connection this listener keeps (read after each await). */
  const wanted = (current: pg.Client): boolean => !stopped && client === current;

  async function connect(): Promise<void> {
    if (stopped) return;
    const current = new pg.Client({
      connectionString: databaseUrl,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: pingTimeoutMs,
      query_timeout: pingTimeoutMs,
    });
    client = current;
    current.on('error', (error) => lose(current, error.message));
    current.on('end', () => lose(current, 'connection closed'));
    current.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload !== undefined) onNotification(message.payload);
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      lose(current, error instanceof Error ? error.message : String(error));
      return;
    }
    // Lost meanwhile (then `lose` has ended it and retries), or stopped.
    if (!wanted(current)) {
      await current.end().catch(() => undefined);
      return;
    }
    connected = true;
    retryMs = RETRY_FIRST_MS;
    pingTimer = setInterval(() => {
      current.query('SELECT 1').catch((error: unknown) => {
        lose(current, `ping failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    }, pingIntervalMs);
    pingTimer.unref();
    resolveReady();
    onConnected();
  }

  void connect();
  return {
    ready,
    listening: () => connected,
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
