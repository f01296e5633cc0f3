// Waiting for work that may hang (a probe's or a scrape's database read)
// without letting the wait hang too.

/** Resolves true when `work` succeeds within `timeoutMs`, false when it fails or is late (it is not cancelled). */
export async function within(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, false);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `start` shared by everyone who asks while it runs: at most one in flight,
 * so callers arriving while the database hangs cannot pile statements up.
 */
export function singleFlight<T>(start: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    inFlight ??= start().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
