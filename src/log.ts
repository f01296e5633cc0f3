// A minimal logger: lines to stdout and stderr, silenceable in tests.
export interface Logger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  error: (message, error) => console.error(message, ...(error === undefined ? [] : [error])),
};

export const silentLogger: Logger = { info: () => undefined, error: () => undefined };

/** Logs a line per kind of failure: the first at once, then how many more, at most once per window. */
export type FailureLog = (kind: string) => void;

/**
 * An outage fails every request the same way: one line for the first failure
 * of a kind, then "<kind>: N more in the last 5 s" once per window while they
 * go on, instead of a line (and a stack) per request.
 */
export function rateLimitedFailures(log: Logger, windowMs = 5_000): FailureLog {
  const suppressed = new Map<string, number>();
  const flush = (kind: string): void => {
    const count = suppressed.get(kind) ?? 0;
    if (count === 0) {
      // A quiet window: the next failure of this kind is logged in full again.
      suppressed.delete(kind);
      return;
    }
    log.error(`${kind}: ${count} more in the last ${windowMs / 1000} s`);
    suppressed.set(kind, 0);
    setTimeout(flush, windowMs, kind).unref();
  };
  return (kind) => {
    const count = suppressed.get(kind);
    if (count !== undefined) {
      suppressed.set(kind, count + 1);
      return;
    }
    log.error(kind);
    suppressed.set(kind, 0);
    setTimeout(flush, windowMs, kind).unref();
  };
}
