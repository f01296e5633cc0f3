// Preloaded into the gateway under test (`node --import memory-report.mjs
// dist/main.js`, transpiled by gateway.ts, with an IPC channel): answers
// the parent's "memory" message with the figures only the process itself
// has (V8's heap, memory outside it); the parent reads the rest from /proc.
// Does nothing without a channel, and adds nothing to the gateway's code.
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemoryRequest {
  readonly type: 'memory';
  readonly id: number;
  /** Run a full GC first (needs --expose-gc): what is live, not what is garbage. */
  readonly collect: boolean;
}

export interface InsideFigures {
  readonly type: 'memory';
  readonly id: number;
  /** Bytes, from process.memoryUsage(). */
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Bytes V8 holds per heap space (committed), by space name. */
  readonly spaces: Readonly<Record<string, number>>;
  /** Whether a full GC ran first. */
  readonly collected: boolean;
}

const isRequest = (message: unknown): message is MemoryRequest =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'memory';

if (process.send) {
  process.on('message', (message: unknown) => {
    if (!isRequest(message)) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (message.collect && gc) gc();
    const usage = process.memoryUsage();
    const figures: InsideFigures = {
      type: 'memory',
      id: message.id,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      spaces: Object.fromEntries(
        getHeapSpaceStatistics().map((space) => [space.space_name, space.physical_space_size]),
      ),
      collected: message.collect && gc !== undefined,
    };
    process.send?.(figures);
  });
  // The channel must not keep the gateway alive on its own.
  process.channel?.unref();
}
