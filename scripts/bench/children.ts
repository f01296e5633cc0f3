// Every child process the benchmark starts, so none outlives it. Orderly
// stops happen in the code that started them; this is the fallback when the
// benchmark is interrupted or exits early.
import type { ChildProcess } from 'node:child_process';

/** Load workers can always be killed outright; services (the gateway) are stopped in order first. */
export type ChildKind = 'worker' | 'service';

const live = new Map<ChildProcess, ChildKind>();

export function track<T extends ChildProcess>(child: T, kind: ChildKind): T {
  live.set(child, kind);
  child.once('exit', () => live.delete(child));
  return child;
}

function kill(which: (kind: ChildKind) => boolean): void {
  for (const [child, kind] of live)
    if (which(kind) && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export const killWorkers = (): void => kill((kind) => kind === 'worker');

process.once('exit', () => kill(() => true));

/** A started service's last output (for errors) and its orderly stop: SIGTERM, then SIGKILL after `stopTimeoutMs`. */
export interface Supervised {
  readonly output: () => string;
  readonly stop: () => Promise<void>;
}

export function supervise(child: ChildProcess, stopTimeoutMs: number): Supervised {
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  return {
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}
