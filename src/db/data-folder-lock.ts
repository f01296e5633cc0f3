// One gateway per embedded data folder. The lock is a Linux abstract Unix
// socket named after the folder: the kernel frees it when its process dies,
// however it dies, so a crash leaves no stale lock and a reused pid cannot
// fake a live holder. Children do not inherit it (Node opens sockets
// close-on-exec), so an orphaned PostgreSQL never holds it.
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { platform } from 'node:os';

export class DataFolderInUseError extends Error {
  override readonly name = 'DataFolderInUseError';
}

export interface DataFolderLock {
  release(): Promise<void>;
}

const HOLDER_TIMEOUT_MS = 1_000;

function socketName(dataDir: string): string {
  return `\0fifo-case-gateway/${createHash('sha256').update(dataDir).digest('hex').slice(0, 40)}`;
}

/** Asks the lock's holder for its pid; undefined when it does not answer in time. */
function holderPid(name: string): Promise<number | undefined> {
  return new Promise((resolveHolder) => {
    let answer = '';
    const socket = createConnection(name);
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolveHolder(pid);
    };
    socket.setTimeout(HOLDER_TIMEOUT_MS, () => done(undefined));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => {
      const pid = Number(answer.trim());
      done(Number.isInteger(pid) && pid > 0 ? pid : undefined);
    });
    socket.on('error', () => done(undefined));
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
 * Takes the lock of `dataDir` (an absolute, real path) for this process, or
 * throws DataFolderInUseError naming the gateway that holds it. Elsewhere
 * than Linux it is a no-op: there PostgreSQL's own postmaster.pid check is
 * the only guard, and a crashed server is not recovered automatically.
 */
export async function lockDataFolder(dataDir: string): Promise<DataFolderLock> {
  if (platform() !== 'linux') return { release: () => Promise.resolve() };
  const name = socketName(dataDir);
  const server = createServer((socket) => socket.end(`${process.pid}\n`));
  if (!(await listen(server, name))) {
    const pid = await holderPid(name);
    throw new DataFolderInUseError(
      `the data folder ${dataDir} is in use by another gateway (${pid ? `pid ${pid}` : 'its pid did not answer'}); ` +
        'stop that gateway first, or set EMBEDDED_PG_DATA_DIR to another folder',
    );
  }
  // The lock must not keep this process alive on its own.
  server.unref();
  return {
    release: () => new Promise((resolveRelease) => server.close(() => resolveRelease())),
  };
}
