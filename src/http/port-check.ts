// Whether HOST:PORT can be listened on, asked before anything starts: a busy
// port found only once the embedded PostgreSQL ran and the migrations were
// applied costs a newcomer seconds and buries the reason under lines about
// the database. The probe listens and closes at once; the port is free again
// for the gateway, or with GATEWAY_WORKERS for the primary that shares it out.
import { once } from 'node:events';
import { createServer } from 'node:net';

export class PortUnavailableError extends Error {
  override readonly name = 'PortUnavailableError';
}

/** What an operator changes for each refusal; other errors are thrown as they are. */
function refusal(code: unknown, host: string, port: number): string | undefined {
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return `port ${port} is already in use on ${host} (another gateway, or another program): stop it, or set PORT to a free port (PORT=${port + 1} npm start)`;
  if (code === 'EACCES')
    return `not allowed to listen on ${where} (ports below 1024 need privileges): set PORT to a port from 1024 up`;
  if (code === 'EADDRNOTAVAIL')
    return `cannot listen on ${where}: HOST=${host} is not an address of this machine; set HOST (127.0.0.1, or 0.0.0.0 for every interface)`;
  return undefined;
}

/** Resolves once HOST:PORT was listened on and released; PORT 0 (any free port) is not probed. */
export async function checkPortAvailable(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  // No backlog of its own for the gateway's clients to land in meanwhile.
  probe.listen({ host, port, exclusive: true, backlog: 1 });
  try {
    await once(probe, 'listening');
  } catch (error) {
    const message = refusal((error as NodeJS.ErrnoException).code, host, port);
    throw message ? new PortUnavailableError(message, { cause: error }) : error;
  }
  await new Promise<void>((resolveClose) => probe.close(() => resolveClose()));
}
