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
