// Latency quantiles from raw samples (milliseconds, full precision).
export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function latency(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const at = (quantile: number) =>
    sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? 0) : 0;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}
