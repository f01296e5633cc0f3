// Load worker: autocannon POSTs GraphQL bodies to the gateway from this
// process, so the load's CPU is not the gateway's. One connection per client,
// pipelining 1. Settings and protocol: protocol.ts.
//
// A response counts as an error when it is not 2xx or its body holds one of
// `failMarkers` (by default `"errors"`): GraphQL reports failures with 200.
import autocannon from 'autocannon';
import { z } from 'zod';
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
  connections: z.number().int().min(1),
  seconds: z.number().positive(),
  warmupSeconds: z.number().min(0),
  bodies: z.array(z.string()).min(1),
  /**
   * per-connection: connection k always sends bodies[k % n] (an agent per desk);
   * rotate: connection k cycles through all bodies starting at k (spread load).
   */
  spread: z.enum(['per-connection', 'rotate']),
  failMarkers: z.array(z.string()),
  /** Sent with every request besides content-type (e.g. `authorization`). */
  headers: z.record(z.string(), z.string()).optional(),
});
export type LoadSettings = z.infer<typeof settingsSchema>;

interface Tally {
  latencies: number[];
  failures: number;
}

async function fire(settings: LoadSettings, seconds: number, tally: Tally): Promise<autocannon.Result> {
  const { bodies } = settings;
  const request = (body: string): autocannon.Request => ({
    method: 'POST',
    body,
    headers: { ...settings.headers, 'content-type': 'application/json' },
    onResponse: (status, responseBody) => {
      if (status < 200 || status > 299 || settings.failMarkers.some((marker) => responseBody.includes(marker)))
        tally.failures += 1;
    },
  });
  let nextConnection = 0;
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url: settings.url,
        connections: settings.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        setupClient: (client) => {
          const k = nextConnection++;
          if (settings.spread === 'per-connection') client.setRequests([request(bodies[k % bodies.length] ?? '')]);
          else client.setRequests(bodies.map((_, i) => request(bodies[(k + i) % bodies.length] ?? '')));
        },
      },
      (error: unknown, result) =>
        error
          ? reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error }))
          : resolveRun(result),
    );
    // Our own samples: full precision, where autocannon's histogram keeps whole milliseconds.
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      tally.latencies.push(responseTime);
    });
  });
}

async function main(): Promise<void> {
  const settings = workerSettings(settingsSchema);
  if (settings.warmupSeconds > 0) await fire(settings, settings.warmupSeconds, { latencies: [], failures: 0 });
  await readyAndWaitForGo();
  const tally: Tally = { latencies: [], failures: 0 };
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const result = await fire(settings, settings.seconds, tally);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpuStart);
  await measuredWindowClosed();
  sendResultAndExit({
    operations: tally.latencies.length - tally.failures,
    seconds,
    ...latency(tally.latencies),
    errors: tally.failures + result.errors,
    cpuSeconds,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
