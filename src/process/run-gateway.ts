// One gateway in this process, from its start until a signal stops it and the
// process exits: the whole of `npm start` with one worker, and each cluster
// worker (whose database its primary stops).
import type { Gateway } from '../gateway.js';
import { startIdleCollector } from '../idle-collector.js';
import type { Logger } from '../log.js';
import { signalEchoes } from './signal-echo.js';

export interface RunOptions {
  /** What the stop line says follows the requests in flight ("then the database server"). */
  readonly thenStops: string;
  /** What a second signal's line says the process waits for ("its database server has stopped"). */
  readonly exitsOnce: string;
  /** Told once the gateway serves. */
  readonly onStarted: (gateway: Gateway) => void;
}

/**
 * Stops the gateway and exits only once it has stopped, its embedded
 * PostgreSQL included: whoever waits for this process (a terminal, a service
 * manager, a container runtime that then kills what is left, a cluster
 * primary) must find it all stopped. 0 when every step went well.
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

/** Serves until SIGINT or SIGTERM; rejects when the start fails (nothing then needs stopping). */
export async function runGateway(starting: Promise<Gateway>, logger: Logger, options: RunOptions): Promise<void> {
  // Handled from the start: a signal while the gateway starts is acted on
  // once it has started, so that the PostgreSQL it started is stopped too.
  let stopSignal: NodeJS.Signals | undefined;
  let isEcho: (() => boolean) | undefined;
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      if (isEcho?.()) return;
      // Exiting now would leave the database server half-way through its
      // shutdown; each stage of that is bounded (docs/reliability.md).
      logger.info(`${signal}: still stopping; the gateway exits once ${options.exitsOnce}`);
      return;
    }
    stopSignal = signal;
    isEcho = signalEchoes();
    logger.info(
      started ? `${signal}: stopping: no new requests, ${options.thenStops}` : `${signal}: stopping once started`,
    );
    // A start that fails is the caller's to report (it rejects below).
    starting.then(
      (gateway) => stopAndExit(gateway, logger),
      () => undefined,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const gateway = await starting;
  started = true;
  options.onStarted(gateway);
  // Give a burst's memory back once the gateway goes quiet (docs/performance.md, "Memory").
  startIdleCollector();
}
