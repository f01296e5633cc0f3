// Raw SQL worker: the database work of an enqueue or a call next, without
// HTTP, GraphQL or Prisma, from N concurrent loops over a pg.Pool of N
// connections in its own process: the ceiling the gateway is compared with.
//   insert: the same minimal case row the old bench inserted, tickets from an
//           in-process counter (the service is this run's alone);
//   claim:  FOR UPDATE SKIP LOCKED hand-out of the oldest waiting case, on a
//           queue filled beforehand; an empty claim (queue ran dry) is an error.
import pg from 'pg';
import { z } from 'zod';
import { sessionOptions } from '../../src/db/session-settings.js';
import { latency } from './stats.js';
import {
  cpuSecondsSince,
  measuredWindowClosed,
  readyAndWaitForGo,
  sendResultAndExit,
  workerSettings,
} from './protocol.js';

const settingsSchema = z.object({
  databaseUrl: z.string(),
  mode: z.enum(['insert', 'claim']),
  serviceId: z.number().int(),
  connections: z.number().int().min(1),
  seconds: z.number().positive(),
  warmupSeconds: z.number().min(0),
});
export type RawSettings = z.infer<typeof settingsSchema>;

const INSERT = `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket) VALUES ($1, $2, current_date, $3, $4)`;
const CLAIM = `UPDATE cases SET status = 'IN_SERVICE', called_at = clock_timestamp(), updated_at = clock_timestamp(),
                      last_action = 'CALL_NEXT', last_agent = $2
                WHERE id = (SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING'
                             ORDER BY queued_at, queue_seq LIMIT 1 FOR UPDATE SKIP LOCKED)
               RETURNING id`;

interface Tally {
  latencies: number[];
  failures: number;
}

async function main(): Promise<void> {
  const settings = workerSettings(settingsSchema);
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: settings.connections,
    options: sessionOptions(),
  });
  // An idle connection that breaks is replaced on the next query; the loops count failed queries.
  pool.on('error', () => undefined);
  let ticket = 0;
  const once = async (loop: number): Promise<boolean> => {
    if (settings.mode === 'insert') {
      ticket += 1;
      await pool.query(INSERT, [settings.serviceId, 'bench', ticket, `R${ticket}`]);
      return true;
    }
    const claimed = await pool.query(CLAIM, [settings.serviceId, `desk-${loop}`]);
    return claimed.rowCount === 1;
  };
  // Every loop stops at the deadline; a failed statement counts, it does not stop the run.
  const run = async (seconds: number, tally: Tally) => {
    const deadline = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: settings.connections }, async (_, loop) => {
        while (performance.now() < deadline) {
          const begin = performance.now();
          const ok = await once(loop).catch(() => false);
          tally.latencies.push(performance.now() - begin);
          if (!ok) tally.failures += 1;
        }
      }),
    );
  };
  await run(settings.warmupSeconds, { latencies: [], failures: 0 });
  await readyAndWaitForGo();
  const tally: Tally = { latencies: [], failures: 0 };
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await run(settings.seconds, tally);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpuStart);
  await measuredWindowClosed();
  await pool.end();
  sendResultAndExit({
    operations: tally.latencies.length - tally.failures,
    seconds,
    ...latency(tally.latencies),
    errors: tally.failures,
    cpuSeconds,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
