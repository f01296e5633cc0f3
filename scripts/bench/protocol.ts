// How the benchmark talks to its load workers, over their stdin and stdout:
// the worker warms up, says "ready" and waits for "go", so the parent takes
// its CPU readings right at the start of the measured window; it says "done"
// the moment the window closes and waits for "ack" while the parent takes the
// closing readings (closing its connections earlier would move their backends'
// CPU time around while the parent reads it), then sends its figures.
import { createInterface, type Interface } from 'node:readline';
import { z } from 'zod';

export const workerResultSchema = z.object({
  /** Operations completed in the measured window. */
  operations: z.number(),
  seconds: z.number(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  /** Failed operations: connection errors, non-2xx, GraphQL errors, empty results. */
  errors: z.number(),
  /** CPU time the worker itself used in the window (all its threads). */
  cpuSeconds: z.number(),
  /** Fan-out only: the median, over changes, of when the last subscriber had it. */
  lastDeliveryP50Ms: z.number().optional(),
  /** Reads worker only: each read's latency, sequential requests (reads.ts). */
  reads: z
    .array(
      z.object({
        name: z.string(),
        samples: z.number(),
        p50Ms: z.number(),
        p99Ms: z.number(),
        /** What the last answer said (a position or a count), when it is a number. */
        answer: z.number().nullable(),
      }),
    )
    .optional(),
});
export type WorkerResult = z.infer<typeof workerResultSchema>;

export const READY = 'ready';
export const GO = 'go';
export const DONE = 'done';
export const ACK = 'ack';
export const RESULT = 'result ';

const ANSWER_TIMEOUT_MS = 60_000;

/** The worker's settings, passed as JSON in its first argument. */
export function workerSettings<T>(schema: z.ZodType<T>): T {
  return schema.parse(JSON.parse(process.argv[2] ?? 'null'));
}

let parentLines: Interface | undefined;

/** Worker side: says `line`, then waits for the parent to answer `answer`. */
function tellAndWait(line: string, answer: string): Promise<void> {
  parentLines ??= createInterface({ input: process.stdin });
  const lines = parentLines;
  return new Promise((resolveAnswer) => {
    // The parent is gone (its end of the pipe closed) or never answers: do not linger as an orphan.
    const orphaned = () => process.exit(2);
    const timer = setTimeout(orphaned, ANSWER_TIMEOUT_MS);
    const onLine = (received: string) => {
      if (received.trim() !== answer) return;
      clearTimeout(timer);
      lines.off('line', onLine);
      lines.off('close', orphaned);
      resolveAnswer();
    };
    lines.on('line', onLine);
    lines.on('close', orphaned);
    process.stdout.write(`${line}\n`);
  });
}

/** Worker side: the warm-up is over; resolves when the measured window may start. */
export const readyAndWaitForGo = (): Promise<void> => tellAndWait(READY, GO);

/** Worker side: the measured window has just closed; resolves once the parent has taken its readings. */
export const measuredWindowClosed = (): Promise<void> => tellAndWait(DONE, ACK);

/** Worker side: send the figures and exit. */
export function sendResultAndExit(result: WorkerResult): void {
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Worker side: CPU seconds used since `start` (a process.cpuUsage() reading). */
export function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}
