// The benchmark's knobs: environment variables (it takes no arguments), checked once.
import { z } from 'zod';

export interface BenchSettings {
  /** Length of each row's measured window. */
  readonly seconds: number;
  /** Load before each measured window that is thrown away (JIT, pools, plans). */
  readonly warmupSeconds: number;
  /** DATABASE_POOL_SIZE of the gateway under test. */
  readonly poolSize: number;
  /** Waiting cases of the large queue of the reads-at-scale phase. */
  readonly largeQueue: number;
  /** Length of the mixed burst before the last memory readings. */
  readonly burstSeconds: number;
  /** Whether to end with the GATEWAY_WORKERS=2 against 1 rows (no goal needs them). */
  readonly compareWorkers: boolean;
}

/** A mistake in how the benchmark was called: its message says it all. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const blankAsAbsent = (value: unknown) => (value === '' ? undefined : value);

const environment = z.object({
  BENCH_SECONDS: z.preprocess(blankAsAbsent, z.coerce.number().min(1).max(600).default(5)),
  BENCH_WARMUP_SECONDS: z.preprocess(blankAsAbsent, z.coerce.number().min(0).max(60).default(1)),
  BENCH_POOL_SIZE: z.preprocess(blankAsAbsent, z.coerce.number().int().min(1).max(500).default(10)),
  BENCH_LARGE_QUEUE: z.preprocess(blankAsAbsent, z.coerce.number().int().min(2_000).max(10_000_000).default(1_000_000)),
  BENCH_BURST_SECONDS: z.preprocess(blankAsAbsent, z.coerce.number().min(1).max(600).default(60)),
  BENCH_COMPARE_WORKERS: z.preprocess(blankAsAbsent, z.enum(['0', '1']).default('0')),
});

export function readSettings(env: NodeJS.ProcessEnv, args: readonly string[]): BenchSettings {
  if (args.length > 0) {
    throw new UsageError(
      'npm run bench takes no arguments (it used to take <operations> <concurrency>); set BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_POOL_SIZE, BENCH_LARGE_QUEUE, BENCH_BURST_SECONDS or BENCH_COMPARE_WORKERS instead',
    );
  }
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    throw new UsageError(
      `invalid benchmark settings:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`,
    );
  }
  return {
    seconds: parsed.data.BENCH_SECONDS,
    warmupSeconds: parsed.data.BENCH_WARMUP_SECONDS,
    poolSize: parsed.data.BENCH_POOL_SIZE,
    largeQueue: parsed.data.BENCH_LARGE_QUEUE,
    burstSeconds: parsed.data.BENCH_BURST_SECONDS,
    compareWorkers: parsed.data.BENCH_COMPARE_WORKERS === '1',
  };
}
