// What a cluster worker and its primary tell each other over the IPC channel.
// Other messages share the channel (prom-client's, a preloaded module's,
// cluster's own), so each side acts only on messages that parse as these.
import { z } from 'zod';
import type { AuthDecision } from '../auth/auth-mode.js';

/**
 * The worker's gateway serves: it has its pools, its listener and the shared
 * port; and how it authenticates, for the primary's start-up banner.
 */
export const workerReady = z.object({
  kind: z.literal('gateway-worker-ready'),
  url: z.string(),
  auth: z.object({ mode: z.enum(['open', 'required']), summary: z.string(), firstKeyNeeded: z.boolean() }),
});
export type WorkerReady = z.infer<typeof workerReady>;

export const readyMessage = (url: string, auth: AuthDecision): WorkerReady => ({
  kind: 'gateway-worker-ready',
  url,
  auth: { mode: auth.mode, summary: auth.summary, firstKeyNeeded: auth.firstKeyNeeded },
});

/** A worker got a scrape of /metrics and asks for the whole gateway's metrics; `id` pairs the answer with it. */
export const metricsRequest = z.object({ kind: z.literal('gateway-metrics-request'), id: z.number().int() });
export type MetricsRequest = z.infer<typeof metricsRequest>;

/** The primary's answer: every worker's metrics aggregated (Prometheus text), or why it has none. */
export const metricsAnswer = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('gateway-metrics'), id: z.number().int(), text: z.string() }),
  z.object({ kind: z.literal('gateway-metrics-failed'), id: z.number().int(), reason: z.string() }),
]);
export type MetricsAnswer = z.infer<typeof metricsAnswer>;
