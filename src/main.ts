// Starts the gateway and stops it cleanly on SIGINT or SIGTERM: one process,
// or with GATEWAY_WORKERS > 1 a primary and its workers on one port (src/process/).
import cluster from 'node:cluster';
import { isatty } from 'node:tty';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DataFolderInUseError } from './db/data-folder-lock.js';
import { checkPortAvailable, PortUnavailableError } from './http/port-check.js';
import { logFormat, logFormatBeforeConfig, type LogFormat } from './log-format.js';
import { createLogger, type Logger } from './log.js';
import { startupBanner, type BannerFacts } from './startup-banner.js';

/** Made once the configuration names the level; a bad configuration is told at `info`'s. */
let log: Logger | undefined;

const onTerminal = isatty(1);

/** The banner goes with readable lines only: JSON lines stay one object per line. */
function announcer(config: Config, format: LogFormat): (facts: BannerFacts) => void {
  if (format === 'json') return () => undefined;
  return (facts) => void process.stdout.write(startupBanner(config, facts));
}

async function main(): Promise<void> {
  const config = loadConfig();
  // A worker is told its primary's format (workers.ts): the same either way, said once.
  const format = logFormat(config.logFormat, onTerminal);
  // A worker's every line says which worker wrote it.
  const logger = createLogger({
    level: config.logLevel,
    format,
    ...(cluster.worker && { fields: { worker: cluster.worker.id } }),
  });
  log = logger;
  // Imported on demand: a primary serves nothing, and so loads no GraphQL, HTTP or Prisma client code.
  if (cluster.isWorker) return (await import('./process/worker.js')).runWorker(config, logger);
  // Before the database: a busy port is the commonest failed start, and the quickest to tell.
  await checkPortAvailable(config.host, config.port);
  const announce = announcer(config, format);
  if (config.workers > 1)
    return (await import('./process/primary.js')).runPrimary(config, logger, {
      logFormat: format,
      onServing: announce,
    });
  const { startGateway } = await import('./gateway.js');
  const { runGateway } = await import('./process/run-gateway.js');
  await runGateway(startGateway(config, logger), logger, {
    thenStops: 'then the database server',
    exitsOnce: 'its database server has stopped',
    onStarted: (gateway) => {
      logger.info(`GraphQL endpoint: ${gateway.url}`, { url: gateway.url });
      announce(gateway);
    },
  });
}

main().catch((error: unknown) => {
  // Errors an operator can act on are told in one line; anything else with its
  // stack. No request has been served yet, so the message cannot quote one.
  const known =
    error instanceof ConfigError || error instanceof DataFolderInUseError || error instanceof PortUnavailableError;
  const message = error instanceof Error ? error.message : String(error);
  (log ?? createLogger({ format: logFormatBeforeConfig(process.env, onTerminal) })).error(
    known ? message : `the gateway could not start: ${message}`,
    known ? undefined : error,
  );
  process.exit(1);
});
