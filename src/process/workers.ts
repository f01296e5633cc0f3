// The primary's gateway workers (node:cluster): forked with the database to
// use, replaced when one dies, and stopped together. They share one listening
// port: the primary holds it and hands each new connection to the next worker
// in turn (cluster's round-robin), so a connection, and every request on it,
// stays with one worker.
//
// Round-robin has one flaw: a connection the primary is handing to a worker
// at the moment that worker dies is never answered nor closed (Node keeps it
// waiting for the dead worker's reply); its client times out. The other
// policy (NODE_CLUSTER_SCHED_POLICY=none: workers accept by themselves) has
// no such gap but balances badly: measured on 2 cores, 82% of 64 kept-alive
// connections' requests went to one of 2 workers, against 50% with round-robin.
import cluster, { type Worker } from 'node:cluster';
import type { AuthDecision } from '../auth/auth-mode.js';
import type { DatabaseServer } from '../db/database-server.js';
import type { LogFormat } from '../log-format.js';
import type { Logger } from '../log.js';
import { workerReady } from './messages.js';
import { restartDelays } from './restart-delay.js';

export interface WorkersOptions {
  readonly count: number;
  /** The database every worker uses; the primary opened and migrated it. */
  readonly database: Pick<DatabaseServer, 'url' | 'readUrl'>;
  /** A worker not gone this long after SIGTERM is killed (and the stop counts as failed). */
  readonly stopWithinMs: number;
  readonly log: Logger;
  /** The primary's, decided once: every process writes its lines alike to the one stdout. */
  readonly logFormat: LogFormat;
}

/** What the first worker to serve said: where, and how it authenticates. */
export interface Serving {
  readonly url: string;
  readonly auth: AuthDecision;
}

export interface Workers {
  /** The GraphQL endpoint, once every first worker serves; rejects when one exits before it does. */
  readonly ready: Promise<Serving>;
  /** SIGTERM to every worker (each drains and stops); resolves once all have exited, true when all exited with 0. */
  stop(): Promise<boolean>;
}

interface Running {
  readonly forkedAt: number;
  /** The worker it replaces, for the log. */
  readonly replaces: number | undefined;
  served: boolean;
}

const exitOf = (code: number | null, signal: string | null): string =>
  signal === null ? `code ${code ?? 'unknown'}` : signal;

export function startWorkers({ count, database, stopWithinMs, log, logFormat }: WorkersOptions): Workers {
  const running = new Map<Worker, Running>();
  const nextDelay = restartDelays();
  const replacements = new Set<NodeJS.Timeout>();
  let stopping = false;
  let cleanExits = true;
  let whenAllExited: (() => void) | undefined;
  let firstServing = 0;
  let started: (serving: Serving) => void = () => undefined;
  let failedToStart: (error: Error) => void = () => undefined;
  const ready = new Promise<Serving>((resolveReady, rejectReady) => {
    started = resolveReady;
    failedToStart = rejectReady;
  });

  /** The worker that delivers webhooks: the first, then whichever replaces it. */
  let deliverer: number | undefined;
  const fork = (replaces?: number): void => {
    // One webhook runner per machine, not per core: its job queue pool and
    // polling once (several machines share the work through the job queue).
    const delivers = deliverer === undefined || replaces === deliverer;
    // Where the primary's database decided writes and reads go (an embedded
    // server's URL, a standby-seeking URL split in two), and the log format
    // it chose (`auto` is decided once, by the primary's stdout); the rest of
    // the environment (PORT, pool sizes, ...) is the primary's own.
    const worker = cluster.fork({
      DATABASE_URL: database.url,
      DATABASE_READ_URL: database.readUrl ?? '',
      LOG_FORMAT: logFormat,
      ...(delivers ? {} : { WEBHOOK_DELIVERY: 'off' }),
    });
    if (delivers) deliverer = worker.id;
    // Not `pid`, which every line has already (pino's, the primary's).
    const fields = { worker: worker.id, workerPid: worker.process.pid ?? 0 };
    running.set(worker, { forkedAt: performance.now(), replaces, served: false });
    log.info(`worker ${worker.id}: started (pid ${fields.workerPid})`, fields);
    worker.on('message', (message: unknown) => {
      const parsed = workerReady.safeParse(message);
      const state = running.get(worker);
      if (!parsed.success || !state || state.served) return;
      state.served = true;
      log.info(
        state.replaces === undefined
          ? `worker ${worker.id}: serving`
          : `worker ${worker.id}: serving, in place of worker ${state.replaces}`,
        fields,
      );
      firstServing += state.replaces === undefined ? 1 : 0;
      if (firstServing === count) started({ url: parsed.data.url, auth: parsed.data.auth });
    });
    // A fork that failed, or a channel that broke: told, and not a crash of the
    // primary (an unheard 'error' would be); its 'exit' follows when the process ends.
    worker.on('error', (error) => log.error(`worker ${worker.id}: error`, error));
    worker.on('exit', (code, signal) => {
      const state = running.get(worker);
      running.delete(worker);
      const how = exitOf(code, signal);
      if (stopping) {
        if (code === 0) log.info(`worker ${worker.id}: exited (${how})`, fields);
        else {
          cleanExits = false;
          log.warn(`worker ${worker.id}: exited (${how})`, fields);
        }
        if (running.size === 0) whenAllExited?.();
        return;
      }
      const livedMs = performance.now() - (state?.forkedAt ?? 0);
      if (firstServing < count && state?.replaces === undefined) {
        // A worker that cannot start now would not start later either: the
        // gateway fails to start, as one process would.
        failedToStart(new Error(`worker ${worker.id} (pid ${fields.workerPid}) exited (${how}) before it served`));
        return;
      }
      const delayMs = nextDelay(livedMs);
      log.warn(
        `worker ${worker.id}: exited (${how}) after ${(livedMs / 1000).toFixed(1)} s; a new worker in ${delayMs} ms`,
        { ...fields, code, signal, livedMs: Math.round(livedMs), restartInMs: delayMs },
      );
      const timer = setTimeout(() => {
        replacements.delete(timer);
        fork(worker.id);
      }, delayMs);
      replacements.add(timer);
    });
  };

  for (let i = 0; i < count; i++) fork();

  return {
    ready,
    async stop() {
      stopping = true;
      for (const timer of replacements) clearTimeout(timer);
      replacements.clear();
      if (running.size === 0) return cleanExits;
      const allExited = new Promise<void>((resolveExited) => (whenAllExited = resolveExited));
      // Not worker.kill(), which first closes the IPC channel: a worker drains
      // and stops on SIGTERM, as a single gateway does.
      for (const worker of running.keys()) worker.process.kill('SIGTERM');
      const overdue = setTimeout(() => {
        cleanExits = false;
        for (const worker of running.keys()) {
          log.warn(`worker ${worker.id}: still running ${stopWithinMs} ms after SIGTERM; killed`, {
            worker: worker.id,
            workerPid: worker.process.pid ?? 0,
          });
          worker.process.kill('SIGKILL');
        }
      }, stopWithinMs);
      await allExited;
      clearTimeout(overdue);
      return cleanExits;
    },
  };
}
