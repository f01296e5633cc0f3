// graphql-ws on a `ws` WebSocket server: what graphql-ws's own `useServer`
// does (the protocol per socket, keep-alive pings), with its failures told to
// the gateway's log rather than to console.error. `useServer` writes each
// failure with its stack, over several lines, to stderr: a flood of bad
// messages wrote 11,850 lines in 4 s. Here each is one line, collapsed while
// it repeats (log.ts, `rateLimitedFailures`), and holds no text a client
// chose: the kind of failure and the error's class and code, never its message.
import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { loggedError, rateLimitedFailures, type Logger } from '../log.js';

/** What each socket's graphql-ws context carries (as `useServer` gives it). */
export interface SocketExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

export interface GraphqlWsServer {
  /** Closes every socket with 1001 (going away) and stops taking new ones. */
  dispose(): Promise<void>;
}

/** Tells failures of a kind once, then how many more per window; `detail` goes with the first line only. */
function failureLine(log: Logger, level: 'error' | 'info'): (kind: string, detail?: unknown) => void {
  let detail: unknown;
  const failures = rateLimitedFailures({
    ...log,
    error: (message) => (level === 'error' ? log.error(message, detail) : log.info(message)),
  });
  return (kind, error) => {
    detail = error;
    failures(kind);
    detail = undefined;
  };
}

/** The error's class (or code), which names what failed without quoting anything it carries. */
const kindOf = (error: unknown): string => {
  const { type, code } = loggedError(error);
  return code === undefined ? type : `${type} ${code}`;
};

export function serveGraphqlWs<P extends Record<string, unknown>>(
  options: ServerOptions<P, SocketExtra>,
  sockets: WebSocketServer,
  keepAliveMs: number,
  log: Logger,
): GraphqlWsServer {
  const server = makeServer<P, SocketExtra>(options);
  // Our own failures (a bug, or the database failing under a subscribe).
  const failed = failureLine(log, 'error');
  // A client breaking the WebSocket protocol (bad frames, oversized
  // messages): `ws` has closed it already; worth knowing, not an error of ours.
  const broke = failureLine(log, 'info');
  sockets.options.handleProtocols = handleProtocols;
  sockets.on('error', (error) => failed(`live updates: the WebSocket server failed (${kindOf(error)})`, error));

  sockets.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.on('error', (error) => broke(`live updates: a WebSocket broke the protocol (${kindOf(error)})`));
    // Ping every keepAliveMs; a socket that has not answered by the next ping is cut off.
    let pongWait: NodeJS.Timeout | undefined;
    const pings = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        // A socket that closed meanwhile cannot be told anything: nothing to report.
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== socket.OPEN) resolve();
            else socket.send(data, () => resolve());
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: Buffer) => {
            handle(data.toString()).catch((error: unknown) => {
              failed(`live updates: handling a WebSocket message failed (${kindOf(error)})`, error);
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      clearTimeout(pongWait);
      clearInterval(pings);
      closed(code, reason.toString()).catch((error: unknown) =>
        failed(`live updates: closing a WebSocket failed (${kindOf(error)})`, error),
      );
    });
  });

  return {
    async dispose() {
      for (const client of sockets.clients) client.close(1001, 'Going away');
      sockets.removeAllListeners();
      await new Promise<void>((resolve, reject) => sockets.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
