// How a PostgreSQL server is stopped, whoever stops it: the gateway its own
// child (embedded-postgres.ts), a start the server a crashed gateway left
// (orphan-postgres.ts), the watchdog the server of a gateway that died
// (postgres-watchdog.ts). PostgreSQL's documentation says how: a fast
// shutdown, an immediate one if that hangs, SIGKILL last. This is the one
// table of those steps; changing a wait here changes all of them.

export interface StopStep<S extends NodeJS.Signals = NodeJS.Signals> {
  readonly signal: S;
  /** How long the server gets to exit after this signal before the next step. */
  readonly waitMs: number;
  readonly why: string;
}

/** The steps in order; the shape is PostgreSQL's, only the waits may differ (shorter in tests). */
export type StopSequence = readonly [StopStep<'SIGINT'>, StopStep<'SIGQUIT'>, StopStep<'SIGKILL'>];

export const STOP_SEQUENCE = [
  { signal: 'SIGINT', waitMs: 15_000, why: 'fast shutdown: roll back open transactions, checkpoint, exit' },
  { signal: 'SIGQUIT', waitMs: 5_000, why: 'immediate shutdown: exit now, recover at the next start' },
  { signal: 'SIGKILL', waitMs: 5_000, why: 'the kernel ends it; its children exit once they notice' },
] as const satisfies StopSequence;

/** The longest a stop takes before it gives up: every wait, one after the other. */
export function stopSequenceMs(steps: StopSequence = STOP_SEQUENCE): number {
  return steps.reduce((total, step) => total + step.waitMs, 0);
}

/** The signals after the first, each with when it is sent: ms after the first. */
export function escalations(steps: StopSequence = STOP_SEQUENCE): { signal: NodeJS.Signals; atMs: number }[] {
  let atMs = 0;
  const sent = steps.map(({ signal, waitMs }) => {
    const step = { signal, atMs };
    atMs += waitMs;
    return step;
  });
  return sent.slice(1);
}
