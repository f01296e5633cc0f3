// One gateway per embedded data folder. The lock is a Linux abstract Unix
// socket named after the folder: the kernel frees it when its process dies,
// however it dies, so a crash leaves no stale lock and a reused pid cannot
// fake a live holder. Children do not inherit it (Node opens sockets
// close-on-exec), so an orphaned PostgreSQL never holds it.
//
// A holder that has begun to stop says so when asked, and a start that finds
// the folder locked by a stopping gateway waits for it (bounded) rather than
// failing: a restart right after a stop signal must not depend on how fast
// the previous gateway and its server exit.
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { platform } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopSequenceMs } from './stop-sequence.js';

export class DataFolderInUseError extends Error {
  override readonly name = 'DataFolderInUseError';
}

export interface DataFolderLock {
  /** From now on, a start that finds the folder locked waits for this holder instead of failing. */
  stopping(): void;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for a holder that is stopping. */
  readonly waitForStoppingMs?: number;
  /** Told when the start waits for a stopping holder, and how long it waited. */
  readonly onNotice?: ((message: string) => void) | undefined;
}

const HOLDER_TIMEOUT_MS = 1_000;
const RETRY_MS = 100;
/**
 * A stopping gateway first lets requests in flight finish (SHUTDOWN_GRACE_MS,
 * 10 s by default), then stops its server (at most every wait of stop-sequence.ts).
 */
export const STOPPING_HOLDER_WAIT_MS = 10_000 + stopSequenceMs();

interface Holder {
  readonly pid: number | undefined;
  readonly stopping: boolean;
}

function socketName(dataDir: string): string {
  return `\0fifo-case-gateway/${createHash('sha256').update(dataDir).digest('hex').slice(0, 40)}`;
}

/** Asks the lock's holder for its pid and whether it is stopping (`<pid>` or `<pid> stopping`). */
function askHolder(name: string): Promise<Holder> {
  return new Promise((resolveHolder) => {
    let answer = '';
    const socket = createConnection(name);
    const done = (holder: Holder) => {
      socket.destroy();
      resolveHolder(holder);
    };
    socket.setTimeout(HOLDER_TIMEOUT_MS, () => done({ pid: undefined, stopping: false }));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => {
      const [first, state] = answer.trim().split(/\s+/);
      const pid = Number(first);
      done({ pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, stopping: state === 'stopping' });
    });
    // The holder went away between the attempt and the question: the next attempt may get the lock.
    socket.on('error', () => done({ pid: undefined, stopping: true }));
  });
}

function listen(server: Server, name: string): Promise<boolean> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.removeListener('listening', onListening);
      if (error.code === 'EADDRINUSE') resolveListen(false);
      else reject(error);
    };
    const onListening = () => {
      server.removeListener('error', onError);
      resolveListen(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(name);
  });
}

/**
 * Takes the lock of `dataDir` (an absolute, real path) for this process,
 * waiting for a holder that is stopping, or throws DataFolderInUseError
 * naming the gateway that holds it. Elsewhere than Linux it is a no-op:
 * there PostgreSQL's own postmaster.pid check is the only guard, and a
 * crashed server is not recovered automatically.
 */
export async function lockDataFolder(dataDir: string, options: LockOptions = {}): Promise<DataFolderLock> {
  if (platform() !== 'linux') return { stopping: () => undefined, release: () => Promise.resolve() };
  const { waitForStoppingMs = STOPPING_HOLDER_WAIT_MS, onNotice = () => undefined } = options;
  const name = socketName(dataDir);
  let stopping = false;
  const started = Date.now();
  let waitedFor: number | undefined;
  for (;;) {
    const server = createServer((socket) => socket.end(`${process.pid}${stopping ? ' stopping' : ''}\n`));
    if (await listen(server, name)) {
      // The lock must not keep this process alive on its own.
      server.unref();
      if (waitedFor !== undefined)
        onNotice(
          `waited ${Date.now() - started} ms for the gateway (pid ${waitedFor}) that was stopping on ${dataDir}`,
        );
      return {
        stopping: () => void (stopping = true),
        release: () => new Promise((resolveRelease) => server.close(() => resolveRelease())),
      };
    }
    const holder = await askHolder(name);
    const inUse = `the data folder ${dataDir} is in use by another gateway (${holder.pid ? `pid ${holder.pid}` : 'its pid did not answer'})`;
    if (!holder.stopping)
      throw new DataFolderInUseError(
        `${inUse}; stop that gateway first, or set EMBEDDED_PG_DATA_DIR to another folder`,
      );
    if (Date.now() - started >= waitForStoppingMs)
      throw new DataFolderInUseError(`${inUse}, which is still stopping after ${waitForStoppingMs / 1000} s`);
    if (waitedFor === undefined && holder.pid !== undefined) {
      waitedFor = holder.pid;
      onNotice(`${inUse}, which is stopping: waiting for it (up to ${waitForStoppingMs / 1000} s)`);
    }
    await sleep(RETRY_MS);
  }
}
