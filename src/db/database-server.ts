// Which PostgreSQL the gateway talks to: the one DATABASE_URL names, or an
// embedded one it starts itself. Either way, pending migrations are applied.
import type { Config } from '../config.js';
import { MIGRATIONS_DIR } from '../config.js';
import type { Logger } from '../log.js';
import { parseDatabaseUrl, seeksStandby, withTargetSessionAttrs } from './database-url.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { applyPendingMigrations } from './migrations.js';

export interface DatabaseServer {
  /** Where the gateway writes (and reads what must include its writes). */
  readonly url: string;
  /**
   * Where what screens poll may be read: DATABASE_READ_URL, or DATABASE_URL
   * itself when it asks for a standby (its writes then go to the writable host).
   */
  readonly readUrl: string | undefined;
  /** The gateway has begun to stop: a start on the same data folder meanwhile waits for it. */
  stopping(): void;
  /** Stops the embedded server and resolves once it has exited; an external one is left alone. */
  stop(): Promise<void>;
}

async function connect(config: Config, log: Logger): Promise<DatabaseServer> {
  if (config.databaseUrl) {
    const named = parseDatabaseUrl(config.databaseUrl);
    const forReads = seeksStandby(named.targetSessionAttrs);
    log.info(
      `database: the PostgreSQL server${named.hosts.length > 1 ? 's' : ''} named by DATABASE_URL (${named.description}, target_session_attrs=${forReads ? 'read-write for writes' : named.targetSessionAttrs})`,
    );
    return {
      url: forReads ? withTargetSessionAttrs(config.databaseUrl, 'read-write') : config.databaseUrl,
      readUrl: config.databaseReadUrl ?? (forReads ? config.databaseUrl : undefined),
      stopping: () => undefined,
      stop: () => Promise.resolve(),
    };
  }
  const server = await startEmbeddedPostgres({
    ...config.embedded,
    onNotice: (message) => log.info(`database: ${message}`),
  });
  log.info(`database: embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${server.dataDir}`);
  return {
    url: server.url,
    readUrl: config.databaseReadUrl,
    stopping: () => server.stopping(),
    async stop() {
      // Said before and after: an operator (or a supervisor's log) can tell a
      // gateway that exited with its database stopped from one cut short.
      const started = performance.now();
      log.info(`database: stopping the embedded PostgreSQL (pid ${server.pid})`);
      await server.stop();
      log.info(
        `database: embedded PostgreSQL (pid ${server.pid}) stopped in ${Math.round(performance.now() - started)} ms`,
      );
    },
  };
}

export async function openDatabaseServer(config: Config, log: Logger): Promise<DatabaseServer> {
  const server = await connect(config, log);
  try {
    const applied = await applyPendingMigrations(server.url, MIGRATIONS_DIR);
    log.info(applied.length ? `database: applied migrations ${applied.join(', ')}` : 'database: schema up to date');
    return server;
  } catch (error) {
    await server.stop();
    throw error;
  }
}
