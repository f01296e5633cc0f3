// HTTP over a raw TCP socket, for requests no HTTP client would send: silent,
// partial, stalled or malformed ones. Always 127.0.0.1, always bounded in time.
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  readonly socket: Socket;
  /** Resolves when the server closes the connection, or after `waitMs` with `closedAfterMs` undefined. */
  readonly ended: Promise<RawEnding>;
}

export interface RawEnding {
  /** Milliseconds from connecting to the server closing; undefined when still open after `waitMs`. */
  readonly closedAfterMs: number | undefined;
  /** Milliseconds from connecting to the first byte from the server; undefined when none came. */
  readonly firstByteAfterMs: number | undefined;
  readonly received: Buffer;
}

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Connects to `port`, sends `request` (if any) once connected, and collects all the server sends. */
export async function rawConnect(
  port: number,
  request: string | Buffer | undefined,
  waitMs: number,
): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let connectedAt = Date.now();
  let firstByteAfterMs: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    firstByteAfterMs ??= Date.now() - connectedAt;
    chunks.push(chunk);
  });
  // A reset is one way for the server to close; `close` follows it.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  connectedAt = Date.now();
  if (request !== undefined) socket.write(request);
  const ended = new Promise<RawEnding>((resolve) => {
    const timer = setTimeout(() => {
      socket.removeAllListeners('close');
      socket.destroy();
      resolve({ closedAfterMs: undefined, firstByteAfterMs, received: Buffer.concat(chunks) });
    }, waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closedAfterMs: Date.now() - connectedAt, firstByteAfterMs, received: Buffer.concat(chunks) });
    });
  });
  return { socket, ended };
}

/** Sends `request` and waits (at most `waitMs`) for the server to answer and close. */
export async function rawExchange(port: number, request: string | Buffer, waitMs = 5_000): Promise<RawEnding> {
  return (await rawConnect(port, request, waitMs)).ended;
}

/** The first response in `received`: status, headers and a Content-Length body. */
export function parseResponse(received: Buffer): RawResponse {
  const text = received.toString('utf8');
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`no complete response in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...lines] = text.slice(0, headEnd).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const bodyBytes = received.subarray(Buffer.byteLength(text.slice(0, headEnd + 4)));
  const length = headers.get('content-length');
  const body = (length === undefined ? bodyBytes : bodyBytes.subarray(0, Number(length))).toString('utf8');
  return { status, headers, body };
}

/** A request as bytes: `head` lines (request line first), then the body with its Content-Length. */
export function rawRequest(head: readonly string[], body?: string | Buffer): Buffer {
  const bodyBytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const lines = body === undefined ? head : [...head, `Content-Length: ${bodyBytes.length}`];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bodyBytes]);
}
