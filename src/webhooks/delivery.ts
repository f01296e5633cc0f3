// Whether and when this process delivers webhooks (WEBHOOK_DELIVERY): `on`
// starts the job queue and the runner at once; `auto` waits, looking every
// few seconds, until an endpoint that is not disabled exists, so a gateway
// without webhooks installs and runs no job queue at all; `off` never (events
// are still recorded, for another process to deliver). Several processes may
// deliver from one database (runner.ts says how they share the work).
import type { WebhookSettings } from '../config.js';
import { installJobQueue, jobQueuePool } from '../db/job-queue.js';
import type { Logger } from '../log.js';
import type { WebhookAttemptObserver } from '../metrics/webhook-metrics.js';
import { startWebhookRunner, type WebhookRunner } from './runner.js';

/** How often `auto` looks for an endpoint. */
const AUTO_LOOK_MS = 5_000;

export interface WebhookDelivery {
  stop(): Promise<void>;
}

export async function startWebhookDelivery(
  url: string,
  settings: WebhookSettings,
  log: Logger,
  onAttempt?: WebhookAttemptObserver,
): Promise<WebhookDelivery> {
  if (settings.delivery === 'off') return { stop: () => Promise.resolve() };
  let runner: WebhookRunner | undefined;
  let starting: Promise<void> | undefined;
  let stopped = false;
  // One start at a time; a failed one is forgotten, so that `auto` tries again at its next look.
  const start = (): Promise<void> =>
    (starting ??= (async () => {
      await installJobQueue(url, log);
      if (stopped) return;
      runner = await startWebhookRunner(url, settings, log, onAttempt);
      log.info('webhooks: delivering');
    })().catch((error: unknown) => {
      starting = undefined;
      throw error;
    }));
  if (settings.delivery === 'on') {
    await start();
    return {
      async stop() {
        stopped = true;
        await runner?.stop();
      },
    };
  }
  const pool = jobQueuePool(url, 1);
  const look = async (): Promise<void> => {
    const { rows } = await pool.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE status <> 'DISABLED') AS any`,
    );
    if (rows[0]?.any) {
      await start();
      // Looking stops only once delivery has started.
      clearInterval(timer);
    }
  };
  const timer = setInterval(() => {
    look().catch((error: unknown) => log.error('webhooks: could not look for endpoints, or start delivering', error));
  }, AUTO_LOOK_MS);
  timer.unref();
  await look().catch((error: unknown) =>
    log.error('webhooks: could not look for endpoints, or start delivering', error),
  );
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await starting?.catch(() => undefined);
      await runner?.stop();
      await pool.end();
    },
  };
}
