// GATEWAY_WORKERS > 1: this process serves nothing itself. It opens the
// database once (starting the embedded PostgreSQL when DATABASE_URL is unset,
// and applying the migrations), runs the gateway workers on the one port,
// and on SIGINT or SIGTERM stops them, then the database server, then itself:
// the guarantees of a single gateway (docs/reliability.md), for all of them.
import type { Config } from '../config.js';
import { openDatabaseServer, type DatabaseServer } from '../db/database-server.js';
import type { LogFormat } from '../log-format.js';
import type { Logger } from '../log.js';
import { answerMetricsRequests } from '../metrics/cluster-metrics.js';
import { signalEchoes } from './signal-echo.js';
import { startWorkers, type Serving, type Workers } from './workers.js';

/** How long stopping workers may take beyond the requests' grace: their subscriptions, listener and pools. */
const WORKER_STOP_MARGIN_MS = 20_000;

/**
 * Stops the workers (each drains its requests), then the database server,
 * and exits only then, with 0 when every step went well.
 */
async function stopAndExit(
  database: DatabaseServer,
  workers: Workers | undefined,
  log: Logger,
  failedBefore: boolean,
): Promise<never> {
  let failed = failedBefore;
  // As in a single gateway (run-gateway.ts): an error thrown from an event
  // while stopping must not end the process before its database server has stopped.
  process.on('uncaughtException', (error) => {
    failed = true;
    log.error('error while stopping', error);
  });
  // A restart on the same data folder meanwhile waits for this one.
  database.stopping();
  if (workers && !(await workers.stop())) {
    failed = true;
    log.error('a worker did not stop cleanly (see its lines above)');
  }
  try {
    await database.stop();
  } catch (error) {
    failed = true;
    log.error('stopping the database server failed', error);
  }
  if (failed) log.error('stopped, with the errors above');
  else log.info('stopped');
  process.exit(failed ? 1 : 0);
}

export interface PrimaryOutput {
  /** The format the workers write their lines in, the primary's own. */
  readonly logFormat: LogFormat;
  /** Told once every first worker serves (the start-up banner). */
  readonly onServing: (serving: Serving) => void;
}

export async function runPrimary(config: Config, log: Logger, output: PrimaryOutput): Promise<void> {
  log.info(`GATEWAY_WORKERS=${config.workers}: one primary process and ${config.workers} gateway workers`, {
    workers: config.workers,
  });
  // A failure to open is reported by the caller: nothing is left to stop.
  const opening = openDatabaseServer(config, log);
  // Shared with the signal handler, which may run at any `await` below.
  const run: { signalled: boolean; isEcho?: () => boolean; workers?: Workers; stopping?: Promise<never> } = {
    signalled: false,
  };
  // Once, whether a signal or a failed start asks first.
  const stop = (database: DatabaseServer, failed: boolean) =>
    (run.stopping ??= stopAndExit(database, run.workers, log, failed));
  const onSignal = (signal: NodeJS.Signals) => {
    if (run.signalled) {
      if (run.isEcho?.()) return;
      log.info(`${signal}: still stopping; the gateway exits once its workers and database server have stopped`);
      return;
    }
    run.signalled = true;
    run.isEcho = signalEchoes();
    log.info(`${signal}: stopping: no new requests, then the workers, then the database server`);
    // A signal while the database opens is acted on once it has: it is stopped too.
    opening.then(
      (database) => stop(database, false),
      () => undefined,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const database = await opening;
  if (run.signalled) return;
  // A worker's /metrics answers for them all, collected here (src/metrics/cluster-metrics.ts).
  if (config.metrics.enabled) answerMetricsRequests(log);
  const workers = startWorkers({
    count: config.workers,
    database,
    stopWithinMs: config.shutdownGraceMs + WORKER_STOP_MARGIN_MS,
    log,
    logFormat: output.logFormat,
  });
  run.workers = workers;
  let serving: Serving;
  try {
    serving = await workers.ready;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error(`the gateway could not start: ${message}`);
    await stop(database, true);
    return;
  }
  const { url } = serving;
  log.info(`GraphQL endpoint: ${url}`, { url, workers: config.workers });
  output.onServing(serving);
}
