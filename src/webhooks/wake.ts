// Enabling an endpoint or replaying its events queues deliveries to send now.
// Their lanes' jobs are added in the same transaction (the store's
// `onDeliveriesQueued`), so they run at once, or not at all if it rolls back,
// instead of at the runner's next sweep. A lane whose job waits for a retry
// is run now too: enabling resets the retry times, and a lane whose first
// delivery still has to wait just sets its job's time again.
import type { Prisma } from '../generated/prisma/client.js';
import { addLaneJobsSql } from './fan-out.js';

/** Adds the jobs of `endpointId`'s lanes that have deliveries waiting, when the job queue is installed. */
export async function wakeEndpointLanes(tx: Prisma.TransactionClient, endpointId: number): Promise<void> {
  // A gateway that delivers nothing (WEBHOOK_DELIVERY=off) may run where no
  // process has installed graphile-worker yet: whoever installs it later
  // finds the deliveries on its first sweep.
  const [installed] = await tx.$queryRaw<{ present: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'graphile_worker' AND p.proname = 'add_job') AS present`;
  if (installed?.present !== true) return;
  await tx.$queryRawUnsafe(
    addLaneJobsSql(
      `(SELECT DISTINCT d.endpoint_id, d.lane::int FROM webhook_deliveries d
         WHERE d.endpoint_id = $1 AND d.status = 'PENDING') AS l`,
      'replace',
    ),
    endpointId,
  );
}
