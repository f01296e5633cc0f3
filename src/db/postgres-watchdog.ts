// The embedded server must not outlive the gateway. Node cannot ask the
// kernel to signal a child when its parent dies (PR_SET_PDEATHSIG), so a
// tiny shell process watches a pipe from the gateway instead: the kernel
// closes the pipe whenever the gateway exits, SIGKILL and OOM kills
// included, and the shell then stops the server as PostgreSQL's
// documentation advises (fast shutdown, then immediate, then SIGKILL).
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface Watchdog {
  /** The watchdog's own pid. */
  readonly pid: number | undefined;
  /** The gateway stops (or has stopped) the server itself: the watchdog exits and signals nothing. */
  disarm(): void;
}

// Reads the server's pid, then waits. A second line means "disarm"; end of
// file means the gateway is gone. Ignores the terminal's signals so that a
// Ctrl-C which kills the gateway half-way still leaves someone to stop the
// server. Waits are bounded: 15 s after SIGINT, 5 s after SIGQUIT, 5 s after SIGKILL.
const SCRIPT = `
trap '' INT TERM HUP
IFS= read -r pid || exit 0
case "$pid" in ''|*[!0-9]*) exit 0 ;; esac
IFS= read -r line && exit 0
kill -INT "$pid" 2>/dev/null || exit 0
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -eq 150 ]; then kill -QUIT "$pid" 2>/dev/null; fi
  if [ "$i" -eq 200 ]; then kill -KILL "$pid" 2>/dev/null; fi
  if [ "$i" -ge 250 ]; then exit 1; fi
  sleep 0.1
done
`;

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
