// The delivery runner of one process: graphile-worker running the fan-out
// and lane jobs (fan-out.ts, lane.ts), and a timer that wakes the fan-out
// when the outbox has new events. Recording an event never calls the job
// queue (its add_job sends a NOTIFY, which would serialise the writers'
// commits): the timer looks instead, every pollMs. Any number of processes may
// run one on the same database: the fan-out takes an advisory lock, each lane
// runs one job at a time (a named queue) and each turn of a lane holds the
// lane's advisory lock, so no delivery is sent twice at once.
//
// A process killed mid-job leaves its jobs locked (graphile-worker unlocks
// them after 4 hours). A lane's turn holds the lane's advisory lock on its
// session, which dies with the process: so every sweep unlocks a lane job
// locked for a few seconds whose lane lock nobody holds (its worker is gone,
// or between turns, which costs at most one extra turn), and any job locked
// longer than a turn can take. The next turn sends the attempt that was in
// flight again, with the same webhook-id: at most one repeat.
import { run, type JobHelpers, type Runner, type RunnerOptions, type Task } from 'graphile-worker';
import type { PoolClient } from 'pg';
import { jobQueueLogger, jobQueuePool } from '../db/job-queue.js';
import type { Logger } from '../log.js';
import { addressPolicy } from './address-policy.js';
import { DELIVER_TASK, FAN_OUT_QUEUE, FAN_OUT_TASK, fanOut, kickLanes, LANES, laneKey, type Lane } from './fan-out.js';
import type { WebhookAttemptObserver } from '../metrics/webhook-metrics.js';
import { drainLane, type LaneSettings, type NextTurn } from './lane.js';
import { PRUNE_BATCH, pruneWebhooks } from './retention.js';
import { createSender } from './outbound-http.js';

export interface DeliverySettings extends LaneSettings {
  /** Hosts that may be reached over http and on private addresses (WEBHOOK_ALLOWED_HOSTS). */
  readonly allowedHosts: readonly string[];
  /** One attempt, DNS to the answer's end. */
  readonly timeoutMs: number;
  /** Lanes sent at once by this process. */
  readonly concurrency: number;
  /** How often the outbox is looked at. */
  readonly pollMs: number;
  /** Events older than this many days are deleted (retention.ts). */
  readonly retentionDays: number;
}

export interface WebhookRunner {
  /** Stops taking jobs, lets running attempts end, and closes its connections. */
  stop(): Promise<void>;
}

/** How long stopping waits for running deliveries to end. */
const STOP_WAIT_MS = 5_000;
/** How long after its pool stopped the job queue is started again. */
const RESTART_MS = 1_000;
/** Advisory lock class of a lane's turn ('WHLN'). */
const LANE_LOCK = 0x57484c4e;
/** Sweeps (lanes with pending deliveries and no job, jobs of dead workers) happen about this often. */
const SWEEP_MS = 1_000;
/** A lane job due within this long is left to run; one due later, while its deliveries are due, is run now. */
const SOON_SECONDS = 5;
/** Expired events are deleted about this often (sooner while a prune finds a full batch). */
const PRUNE_MS = 60_000;
/** A lane job locked this long whose lane lock is free has lost its worker. */
const ORPHAN_LANE_SECONDS = 5;
/** Any job locked longer than this belongs to a dead worker: turns end well before (TURN_MS plus one attempt). */
const STALE_LOCK_SECONDS = 120;

function isLane(payload: unknown): payload is Lane {
  if (typeof payload !== 'object' || payload === null) return false;
  const { endpointId, lane } = payload as Record<string, unknown>;
  return Number.isInteger(endpointId) && Number.isInteger(lane) && Number(lane) >= 0 && Number(lane) < LANES;
}

async function schedule(helpers: JobHelpers, lane: Lane, next: NextTurn): Promise<void> {
  if (next.kind === 'idle' || next.kind === 'paused') return;
  const key = laneKey(lane);
  await helpers.addJob(DELIVER_TASK, lane, {
    queueName: key,
    jobKey: key,
    jobKeyMode: 'replace',
    ...(next.kind === 'at' ? { runAt: next.at } : {}),
  });
}

/** Starts delivering on the database of `url` (graphile-worker's schema must be installed: installJobQueue). */
export async function startWebhookRunner(
  url: string,
  settings: DeliverySettings,
  log: Logger,
  onAttempt?: WebhookAttemptObserver,
): Promise<WebhookRunner> {
  const send = createSender(addressPolicy(settings.allowedHosts), { timeoutMs: settings.timeoutMs });
  const pool = jobQueuePool(url, settings.concurrency + 4);

  const fanOutTask: Task = async (_payload, helpers) => {
    const result = await helpers.withPgClient((client) => fanOut(client));
    if (result.more)
      await helpers.addJob(
        FAN_OUT_TASK,
        {},
        { queueName: FAN_OUT_QUEUE, jobKey: FAN_OUT_QUEUE, jobKeyMode: 'replace' },
      );
  };

  const deliverTask: Task = async (payload, helpers) => {
    if (!isLane(payload)) return;
    const next = await helpers.withPgClient(async (client: PoolClient) => {
      const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        LANE_LOCK,
        payload.endpointId * LANES + payload.lane,
      ]);
      // Another turn of this lane is still running (its job was unlocked by a sweep): try again shortly.
      if (!lock.rows[0]?.locked) return { kind: 'at', at: new Date(Date.now() + 1_000) } satisfies NextTurn;
      try {
        return await drainLane(client, payload, send, settings, { log, onAttempt, signal: helpers.abortSignal });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LANE_LOCK, payload.endpointId * LANES + payload.lane]);
      }
    });
    await schedule(helpers, payload, next);
  };

  const options: RunnerOptions = {
    pgPool: pool,
    concurrency: settings.concurrency,
    noHandleSignals: true,
    pollInterval: Math.max(settings.pollMs, 100),
    logger: jobQueueLogger(log),
    taskList: { [FAN_OUT_TASK]: fanOutTask, [DELIVER_TASK]: deliverTask },
    // Batched completions retry through a database outage (20 tries, up to 30 s
    // apart) and stop the pool when they give up; unbatched ones, graphile-worker
    // 0.17's default, reject unhandled and would end the process.
    preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  };
  // Read by the supervisor's loop and set by stop(): an object, so that neither sees a stale copy.
  const state: { stopping: boolean; runner: Runner | undefined } = { stopping: false, runner: await run(options) };
  const stopped = (): boolean => state.stopping;
  /** Makes the supervisor drop the current pool and start a fresh one. */
  let restart: () => void = () => undefined;
  // A pool that stopped itself (its completions failed past their retries), or
  // one the database left behind, is replaced. A pool that lost the database
  // may never finish stopping: it is left to stop in the background.
  const supervised = (async () => {
    for (;;) {
      try {
        const current = state.runner ?? (await run(options));
        state.runner = current;
        const replaced = new Promise<'replace'>((resolve) => {
          restart = () => resolve('replace');
        });
        const why = await Promise.race([current.promise.then(() => 'ended' as const), replaced]);
        if (why === 'replace') void current.stop().catch(() => undefined);
      } catch (error) {
        log.error('webhooks: the job queue stopped; starting it again', error);
      }
      state.runner = undefined;
      if (stopped()) return;
      await new Promise((resolve) => setTimeout(resolve, RESTART_MS));
      if (stopped()) return;
    }
  })();

  let polls = 0;
  let polling = false;
  let prunedAt = Number.NEGATIVE_INFINITY;
  let outage = false;
  const poll = async (): Promise<void> => {
    const client = await pool.connect();
    try {
      await client.query(
        `SELECT graphile_worker.add_job($1, '{}'::json, queue_name => $2, job_key => $2, job_key_mode => 'preserve_run_at')
          WHERE EXISTS (SELECT 1 FROM webhook_events WHERE dispatched_at IS NULL)`,
        [FAN_OUT_TASK, FAN_OUT_QUEUE],
      );
      polls += 1;
      // graphile-worker 0.17's pool does not take jobs again after losing the
      // database (its workers wait on a listener that never comes back):
      // once the outbox can be read again, the pool is stopped and the
      // supervisor above starts a fresh one.
      if (outage) {
        outage = false;
        log.warn('webhooks: the database is back; starting the job queue again');
        restart();
      }
      if (polls % Math.max(1, Math.round(SWEEP_MS / settings.pollMs)) !== 0) return;
      // The sweep's own failures are not an outage (the outbox was just read):
      // they are logged, and the next sweep tries again.
      try {
        await client.query(
          `SELECT graphile_worker.force_unlock_workers(ARRAY(
             SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
              WHERE j.locked_by IS NOT NULL
                AND (j.locked_at < now() - make_interval(secs => $1)
                     OR (j.task_identifier = $2 AND j.locked_at < now() - make_interval(secs => $3)
                         AND NOT EXISTS (SELECT 1 FROM pg_locks l
                                          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                                            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                            AND l.classid = $4::bigint::oid
                                            AND l.objid = (split_part(j.queue_name, ':', 2)::int * $5
                                                           + split_part(j.queue_name, ':', 3)::int)::bigint::oid)))))`,
          [STALE_LOCK_SECONDS, DELIVER_TASK, ORPHAN_LANE_SECONDS, LANE_LOCK, LANES],
        );
        // A named queue locked by a worker that holds no job (it died between the
        // two, or its job was released without the queue) blocks every job of it.
        await client.query(
          `SELECT graphile_worker.force_unlock_workers(ARRAY(
             SELECT DISTINCT q.locked_by FROM graphile_worker._private_job_queues q
              WHERE q.locked_by IS NOT NULL AND q.locked_at < now() - make_interval(secs => $1)
                AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs j WHERE j.locked_by = q.locked_by)))`,
          [ORPHAN_LANE_SECONDS],
        );
        // Lanes with deliveries due and no job that will run soon (an endpoint
        // enabled again, a job lost, a job that failed for good, or one that
        // graphile-worker put off for minutes after the database failed it): woken now.
        const { rows } = await client.query<{ endpoint_id: number; lane: number }>(
          `SELECT DISTINCT d.endpoint_id, d.lane FROM webhook_deliveries d
             JOIN webhook_endpoints p ON p.id = d.endpoint_id AND p.status = 'ENABLED'
            WHERE d.status = 'PENDING' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now())
              AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs j
                               WHERE j.key = 'webhook:' || d.endpoint_id || ':' || d.lane
                                 AND j.attempts < j.max_attempts
                                 AND (j.locked_at IS NOT NULL OR j.run_at <= now() + make_interval(secs => $1)))`,
          [SOON_SECONDS],
        );
        await kickLanes(
          client,
          rows.map((row) => ({ endpointId: row.endpoint_id, lane: row.lane })),
        );
        if (performance.now() - prunedAt >= PRUNE_MS) {
          const pruned = await pruneWebhooks(client, settings.retentionDays);
          // A full batch: more may have expired, so the next sweep goes on.
          prunedAt = pruned >= PRUNE_BATCH ? Number.NEGATIVE_INFINITY : performance.now();
          if (pruned > 0) log.info(`webhooks: deleted ${pruned} events older than ${settings.retentionDays} days`);
        }
      } catch (error: unknown) {
        log.error('webhooks: a sweep failed', error);
      }
    } finally {
      client.release();
    }
  };
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    poll()
      .catch((error: unknown) => {
        outage = true;
        log.error('webhooks: the outbox could not be read', error);
      })
      .finally(() => {
        polling = false;
      });
  }, settings.pollMs);
  timer.unref();

  return {
    async stop() {
      state.stopping = true;
      clearInterval(timer);
      const current = state.runner;
      restart();
      // A pool that lost the database may never finish stopping: the process's shutdown does not wait for it long.
      await Promise.race([current?.stop(), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS))]);
      await supervised;
      await pool.end();
    },
  };
}
