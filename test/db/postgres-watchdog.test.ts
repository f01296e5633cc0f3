// The watchdog's shell script is written from the one table of stop steps
// (stop-sequence.ts): its ticks follow the table's waits, and run with `sh`
// it stops a process the way the table says.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { watchdogScript } from '../../src/db/postgres-watchdog.js';
import type { StopSequence } from '../../src/db/stop-sequence.js';

const TINY = [
  { signal: 'SIGINT', waitMs: 100, why: 'fast shutdown' },
  { signal: 'SIGQUIT', waitMs: 100, why: 'immediate shutdown' },
  { signal: 'SIGKILL', waitMs: 300, why: 'kill' },
] as const satisfies StopSequence;
const TINY_POLL_MS = 20;

/** What a script does: the first signal, each later one at its tick, the tick it gives up at, its poll. */
function stepsOf(script: string): string {
  const first = /^kill -(\w+) "\$pid" 2>\/dev\/null \|\| exit 0$/m.exec(script)?.[1];
  const later = [...script.matchAll(/"\$i" -eq (\d+) \]; then kill -(\w+)/g)].map(
    ([, tick, signal]) => `${signal}@${tick}`,
  );
  const givesUp = /"\$i" -ge (\d+) \]; then exit 1/.exec(script)?.[1];
  const sleep = /^ {2}sleep ([\d.]+)$/m.exec(script)?.[1];
  return `${first} ${later.join(' ')} gives up@${givesUp}, polls of ${sleep} s`;
}

describe('watchdogScript', () => {
  it.each([
    {
      table:
        'the default table (SIGINT, SIGQUIT after 15 s, SIGKILL after 20 s, gives up after 25 s), in polls of 0.1 s',
      script: watchdogScript(),
      steps: 'INT QUIT@150 KILL@200 gives up@250, polls of 0.1 s',
    },
    {
      table: 'another table (a wait not a whole number of polls is rounded up) and poll interval',
      script: watchdogScript(
        [
          { signal: 'SIGINT', waitMs: 1_000, why: 'fast shutdown' },
          { signal: 'SIGQUIT', waitMs: 300, why: 'immediate shutdown' },
          { signal: 'SIGKILL', waitMs: 230, why: 'kill' },
        ],
        50,
      ),
      steps: 'INT QUIT@20 KILL@26 gives up@31, polls of 0.05 s',
    },
  ])('follows $table', ({ script, steps }) => {
    expect(stepsOf(script)).toBe(steps);
  });
});

describe('the watchdog script run with sh', () => {
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const child of started.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  /** A process that stands for the server; `ignoring` the signals it does not exit on. */
  async function target(ignoring: string): Promise<ChildProcess> {
    // Ignored signals stay ignored across exec; "ready" once they are.
    const child = spawn('/bin/sh', ['-c', `trap '' ${ignoring}; echo ready; exec sleep 30`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    started.push(child);
    await once(child.stdout, 'data');
    return child;
  }

  function watchdog(pid: number | undefined, then: string): ChildProcess {
    const child = spawn('/bin/sh', ['-c', watchdogScript(TINY, TINY_POLL_MS)], { stdio: ['pipe', 'ignore', 'ignore'] });
    started.push(child);
    child.stdin.end(`${pid}\n${then}`);
    return child;
  }

  it('stops a process that exits on SIGINT with SIGINT, once its gateway is gone', async () => {
    const server = await target('QUIT');
    const [watchdogExit, serverExit] = await Promise.all([
      once(watchdog(server.pid, ''), 'exit'),
      once(server, 'exit'),
    ]);
    expect(serverExit).toEqual([null, 'SIGINT']);
    expect(watchdogExit).toEqual([0, null]);
  });

  it('ends a process that ignores SIGINT and SIGQUIT with SIGKILL', async () => {
    const server = await target('INT QUIT');
    const startedAt = performance.now();
    const [watchdogExit, serverExit] = await Promise.all([
      once(watchdog(server.pid, ''), 'exit'),
      once(server, 'exit'),
    ]);
    expect(serverExit).toEqual([null, 'SIGKILL']);
    expect(watchdogExit).toEqual([0, null]);
    // SIGKILL at the 10th poll (200 ms in the table), after nine sleeps of 20 ms at least.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(180);
  });

  it('exits without signalling anything once disarmed', async () => {
    const server = await target('QUIT');
    expect(await once(watchdog(server.pid, 'disarm\n'), 'exit')).toEqual([0, null]);
    expect(server.exitCode).toBeNull();
    expect(server.signalCode).toBeNull();
  });
});
