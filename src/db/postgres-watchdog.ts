// The embedded server must not outlive the gateway. Node cannot ask the
// kernel to signal a child when its parent dies (PR_SET_PDEATHSIG), so a
// tiny shell process watches a pipe from the gateway instead: the kernel
// closes the pipe whenever the gateway exits, SIGKILL and OOM kills
// included, and the shell then stops the server as PostgreSQL's
// documentation advises (fast shutdown, then immediate, then SIGKILL: the
// steps and waits of stop-sequence.ts, written into the script).
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { escalations, STOP_SEQUENCE, stopSequenceMs, type StopSequence } from './stop-sequence.js';

export interface Watchdog {
  /** The watchdog's own pid. */
  readonly pid: number | undefined;
  /** The gateway stops (or has stopped) the server itself: the watchdog exits and signals nothing. */
  disarm(): void;
}

/** How often the watchdog looks whether the server has exited. */
const POLL_MS = 100;

/**
 * The watchdog's shell script. It reads the server's pid, then waits. A
 * second line means "disarm"; end of file means the gateway is gone: it
 * then signals the server as `steps` say, each wait counted in polls of
 * `pollMs`, and gives up once every wait has passed. It ignores the
 * terminal's signals so that a Ctrl-C which kills the gateway half-way
 * still leaves someone to stop the server.
 */
export function watchdogScript(steps: StopSequence = STOP_SEQUENCE, pollMs = POLL_MS): string {
  // Waits as whole polls, rounded up; at least one, so that no step is skipped.
  const tick = (ms: number): number => Math.max(1, Math.ceil(ms / pollMs));
  const kill = (signal: NodeJS.Signals): string => `kill -${signal.replace(/^SIG/, '')} "$pid" 2>/dev/null`;
  const later = escalations(steps).map(
    ({ signal, atMs }) => `  if [ "$i" -eq ${tick(atMs)} ]; then ${kill(signal)}; fi`,
  );
  return `
trap '' INT TERM HUP
IFS= read -r pid || exit 0
case "$pid" in ''|*[!0-9]*) exit 0 ;; esac
IFS= read -r line && exit 0
${kill(steps[0].signal)} || exit 0
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
${later.join('\n')}
  if [ "$i" -ge ${tick(stopSequenceMs(steps))} ]; then exit 1; fi
  sleep ${pollMs / 1000}
done
`;
}

const SCRIPT = watchdogScript();

/** Starts a watchdog that stops the server `pid` if this process dies without disarming it. */
export function watchServer(pid: number): Watchdog {
  const child = spawn('/bin/sh', ['-c', SCRIPT, 'fifo-gateway-pg-watchdog'], {
    // Its own process group: a signal sent to the gateway's group does not reach it.
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const stdin = child.stdin as Socket | null;
  // A watchdog that could not start or has gone is no reason to fail: the
  // next start recovers the data folder anyway (orphan-postgres.ts).
  child.on('error', () => undefined);
  stdin?.on('error', () => undefined);
  stdin?.write(`${pid}\n`);
  // Neither the watchdog nor its pipe may keep the gateway alive.
  stdin?.unref();
  child.unref();
  let disarmed = false;
  return {
    pid: child.pid,
    disarm() {
      if (disarmed) return;
      disarmed = true;
      stdin?.end('disarm\n');
    },
  };
}
