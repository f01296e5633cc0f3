// Starts the gateway and stops it cleanly on SIGINT or SIGTERM.
import { ConfigError, loadConfig } from './config.js';
import { DataFolderInUseError } from './db/data-folder-lock.js';
import { startGateway } from './gateway.js';
import { startIdleCollector } from './idle-collector.js';
import { consoleLogger as log } from './log.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const gateway = await startGateway(config, log);
  log.info(`GraphQL endpoint: ${gateway.url}`);
  // Give a burst's memory back once the gateway goes quiet (docs/performance.md, "Memory").
  startIdleCollector();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  // Errors an operator can act on are told in one line; anything else with its stack.
  const known = error instanceof ConfigError || error instanceof DataFolderInUseError;
  log.error(known ? error.message : 'the gateway could not start:', known ? undefined : error);
  process.exit(1);
});
