// Parent side of the worker protocol (protocol.ts): runs one worker script
// under tsx in its own process and returns its figures.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../src/config.js';
import { track } from './children.js';
import { ACK, DONE, GO, READY, RESULT, workerResultSchema, type WorkerResult } from './protocol.js';

export interface WindowHooks {
  /** Called just before the worker is told to start its measured window. */
  readonly onStart: () => void;
  /** Called as soon as the worker says the window closed. */
  readonly onEnd: () => void;
}

export function runWorker(
  script: string,
  settings: unknown,
  hooks: WindowHooks,
  timeoutMs: number,
): Promise<WorkerResult> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(settings)], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
    'worker',
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return new Promise<WorkerResult>((resolveRun, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${message}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`worker ${script} did not finish within ${timeoutMs / 1000} s`), timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        if (line === READY) {
          hooks.onStart();
          child.stdin.write(`${GO}\n`);
        } else if (line === DONE) {
          hooks.onEnd();
          child.stdin.write(`${ACK}\n`);
        } else if (line.startsWith(RESULT) && !settled) {
          const result = workerResultSchema.parse(JSON.parse(line.slice(RESULT.length)));
          settled = true;
          clearTimeout(timer);
          resolveRun(result);
        }
      } catch (error) {
        fail(`worker ${script}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    // A worker that died is reported by 'close' below, not by a write error.
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => fail(`worker ${script} could not start: ${error.message}`));
    child.on('close', (code, signal) => fail(`worker ${script} exited (${signal ?? code}) without a result`));
  });
}
