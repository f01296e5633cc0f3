// Starts the gateway and stops it cleanly on SIGINT or SIGTERM.
import { ConfigError, loadConfig } from './config.js';
import { DataFolderInUseError } from './db/data-folder-lock.js';
import { startGateway, type Gateway } from './gateway.js';
import { startIdleCollector } from './idle-collector.js';
import { createLogger, type Logger } from './log.js';

/** Made once the configuration names the level; a bad configuration is told at `info`'s. */
let log: Logger | undefined;

/**
 * Stops the gateway and exits only once it has stopped, its embedded
 * PostgreSQL included: whoever waits for this process (a terminal, a service
 * manager, a container runtime that then kills what is left) must find the
 * database stopped. 0 when every step went well.
 */
async function stopAndExit(gateway: Gateway, logger: Logger): Promise<never> {
  let failed = false;
  // An error thrown from an event while stopping (a connection the database
  // ends as it shuts down, with nobody listening) must not end the process
  // before its database server has stopped: it is logged and the exit code says so.
  process.on('uncaughtException', (error) => {
    failed = true;
    logger.error('error while stopping', error);
  });
  try {
    await gateway.stop();
  } catch (error) {
    failed = true;
    logger.error('stopping failed', error);
  }
  if (failed) logger.error('stopped, with the errors above');
  else logger.info('stopped');
  // Exits at once; the log is flushed on exit (log.ts).
  process.exit(failed ? 1 : 0);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  log = logger;
  const starting = startGateway(config, logger);
  // Handled from the start: a signal while the gateway starts is acted on
  // once it has started, so that the PostgreSQL it started is stopped too.
  let stopSignal: NodeJS.Signals | undefined;
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      // Exiting now would leave the database server half-way through its
      // shutdown; each stage of that is bounded (docs/reliability.md).
      logger.info(`${signal}: still stopping; the gateway exits once its database server has stopped`);
      return;
    }
    stopSignal = signal;
    logger.info(
      started ? `${signal}: stopping: no new requests, then the database server` : `${signal}: stopping once started`,
    );
    // A start that fails exits on its own (below).
    starting.then(
      (gateway) => stopAndExit(gateway, logger),
      () => undefined,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const gateway = await starting;
  started = true;
  logger.info(`GraphQL endpoint: ${gateway.url}`, { url: gateway.url });
  // Give a burst's memory back once the gateway goes quiet (docs/performance.md, "Memory").
  startIdleCollector();
}

main().catch((error: unknown) => {
  // Errors an operator can act on are told in one line; anything else with its
  // stack. No request has been served yet, so the message cannot quote one.
  const known = error instanceof ConfigError || error instanceof DataFolderInUseError;
  const message = error instanceof Error ? error.message : String(error);
  (log ?? createLogger()).error(known ? message : `the gateway could not start: ${message}`, known ? undefined : error);
  process.exit(1);
});
