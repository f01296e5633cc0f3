// Starts the gateway and stops it cleanly on SIGINT or SIGTERM.
import { ConfigError, loadConfig } from './config.js';
import { DataFolderInUseError } from './db/data-folder-lock.js';
import { startGateway } from './gateway.js';
import { startIdleCollector } from './idle-collector.js';
import { createLogger, type Logger } from './log.js';

/** Made once the configuration names the level; a bad configuration is told at `info`'s. */
let log: Logger | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  log = logger;
  const gateway = await startGateway(config, logger);
  logger.info(`GraphQL endpoint: ${gateway.url}`, { url: gateway.url });
  // Give a burst's memory back once the gateway goes quiet (docs/performance.md, "Memory").
  startIdleCollector();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  // Errors an operator can act on are told in one line; anything else with its
  // stack. No request has been served yet, so the message cannot quote one.
  const known = error instanceof ConfigError || error instanceof DataFolderInUseError;
  const message = error instanceof Error ? error.message : String(error);
  (log ?? createLogger()).error(known ? message : `the gateway could not start: ${message}`, known ? undefined : error);
  process.exit(1);
});
