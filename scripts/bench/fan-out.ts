// Fan-out worker: `subscribers` kiosks, each on a WebSocket of its own,
// follow their own waiting cases in one queue (caseChanged); an agent calls
// the head of the queue `rounds` times. Every call moves every kiosk up one
// place, so each round is one change delivered to every subscriber. A
// delivery's latency runs from the call's commit (its calledAt, by the
// database's clock, which is this machine's) to the update's arrival here.
// Settings and protocol: protocol.ts.
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
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
  url: z.string(),
  databaseUrl: z.string(),
  serviceId: z.number().int(),
  subscribers: z.number().int().min(1),
  rounds: z.number().int().min(1),
});
export type FanOutSettings = z.infer<typeof settingsSchema>;

/** A round whose change has not reached every kiosk within this counts its missing deliveries as errors. */
const ROUND_DEADLINE_MS = 10_000;
const PAUSE_BETWEEN_ROUNDS_MS = 100;
const CALL_NEXT = 'mutation($input: CallNextInput!) { callNext(input: $input) { id calledAt } }';
const FOLLOW = 'subscription($caseId: Int!) { caseChanged(caseId: $caseId) { position status } }';

const updateSchema = z.object({
  data: z.object({ caseChanged: z.object({ position: z.number().nullable(), status: z.string() }) }),
});
const callSchema = z.object({ data: z.object({ callNext: z.object({ id: z.number(), calledAt: z.string() }) }) });

interface Kiosk {
  readonly client: Client;
  position: number;
  /** When the last update arrived (Date.now()). */
  arrivedAt: number;
}

async function waitFor(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

async function main(): Promise<void> {
  const settings = workerSettings(settingsSchema);
  const database = new pg.Client({ connectionString: settings.databaseUrl, options: sessionOptions() });
  await database.connect();
  const { rows } = await database.query<{ id: number }>(
    `SELECT id FROM cases WHERE service_id = $1 AND status = 'WAITING' ORDER BY queued_at, queue_seq`,
    [settings.serviceId],
  );
  await database.end();
  if (rows.length < settings.subscribers + settings.rounds)
    throw new Error(`the queue has ${rows.length} cases; ${settings.subscribers + settings.rounds} are needed`);

  // The kiosks follow the last `subscribers` cases: every call moves each of them.
  const followed = rows.slice(settings.rounds, settings.rounds + settings.subscribers);
  const kiosks: Kiosk[] = followed.map(({ id }) => {
    const kiosk: Kiosk = {
      client: createClient({
        url: settings.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
      }),
      position: 0,
      arrivedAt: 0,
    };
    kiosk.client.subscribe(
      { query: FOLLOW, variables: { caseId: id } },
      {
        next: (result) => {
          const update = updateSchema.parse(result).data.caseChanged;
          kiosk.position = update.position ?? 0;
          kiosk.arrivedAt = Date.now();
        },
        error: (error: unknown) => process.stderr.write(`fan-out: a subscription failed: ${JSON.stringify(error)}\n`),
        complete: () => undefined,
      },
    );
    return kiosk;
  });
  const settled = await waitFor(
    () => kiosks.every((kiosk, index) => kiosk.position === settings.rounds + index + 1),
    60_000,
  );
  if (!settled) throw new Error('the kiosks did not all receive their first state within 60 s');

  await readyAndWaitForGo();
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const delivery: number[] = [];
  const lastDelivery: number[] = [];
  let missed = 0;
  for (let round = 1; round <= settings.rounds; round += 1) {
    const response = await fetch(settings.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: CALL_NEXT,
        variables: { input: { serviceIds: [settings.serviceId], agent: 'bench-desk' } },
      }),
    });
    const committedAt = Date.parse(callSchema.parse(await response.json()).data.callNext.calledAt);
    const expected = (index: number) => settings.rounds + index + 1 - round;
    await waitFor(() => kiosks.every((kiosk, index) => kiosk.position === expected(index)), ROUND_DEADLINE_MS);
    let last = 0;
    kiosks.forEach((kiosk, index) => {
      if (kiosk.position !== expected(index)) {
        missed += 1;
        return;
      }
      delivery.push(kiosk.arrivedAt - committedAt);
      last = Math.max(last, kiosk.arrivedAt - committedAt);
    });
    lastDelivery.push(last);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_ROUNDS_MS));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpuStart);
  await measuredWindowClosed();
  await Promise.all(
    kiosks.map(async (kiosk) => {
      await kiosk.client.dispose();
    }),
  );
  const { p50Ms, p99Ms } = latency(delivery);
  sendResultAndExit({
    operations: delivery.length,
    seconds,
    p50Ms,
    p99Ms,
    errors: missed,
    cpuSeconds,
    lastDeliveryP50Ms: latency(lastDelivery).p50Ms,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
