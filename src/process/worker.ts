// A cluster worker: a whole gateway on the database its primary opened (and
// migrated, and will stop), serving the port every worker shares.
import cluster from 'node:cluster';
import type { Config } from '../config.js';
import type { DatabaseServer } from '../db/database-server.js';
import type { Logger } from '../log.js';
import { offerToPrimary } from '../metrics/cluster-metrics.js';
import { readyMessage } from './messages.js';
import { runGateway } from './run-gateway.js';

export async function runWorker(config: Config, log: Logger): Promise<void> {
  // The primary hands its database on as DATABASE_URL and DATABASE_READ_URL (workers.ts).
  const url = config.databaseUrl;
  if (!cluster.isWorker || !process.send || url === undefined)
    throw new Error('a gateway worker runs only when forked by its primary');
  const send = process.send.bind(process);
  // The primary's requests for metrics (a scrape of any worker) are answered, empty, from now
  // on, before the gateway's code loads: a starting worker holds no scrape up.
  if (config.metrics.enabled) offerToPrimary();
  const { startGateway } = await import('../gateway.js');
  const databaseServer: DatabaseServer = {
    url,
    readUrl: config.databaseReadUrl,
    stopping: () => undefined,
    stop: () => Promise.resolve(),
  };
  await runGateway(startGateway(config, log, { databaseServer }), log, {
    thenStops: 'then this worker exits',
    exitsOnce: 'this worker has stopped',
    onStarted: (gateway) => send(readyMessage(gateway.url, gateway.auth)),
  });
}
