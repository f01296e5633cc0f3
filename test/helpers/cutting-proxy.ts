// A TCP proxy in front of PostgreSQL that cuts a connection at a chosen
// moment of a chosen statement, as a failover or a network cut does: the
// statement's bytes carry a marker (a value of one of its parameters), and
// the connection is cut either before they reach the server (nothing is
// written) or once the server has answered (written, answer lost).
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

export type CutMoment = 'before-sending' | 'after-sending';

export interface CuttingProxy {
  /** `databaseUrl` through the proxy. */
  url(databaseUrl: string): string;
  /** Cuts the connection that next sends `marker`, at `moment`; resolves once it has. */
  cut(marker: string, moment: CutMoment): Promise<void>;
  /** The server is away: every connection is cut, and new ones are closed at once, until `up()`. */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

interface Armed {
  readonly marker: Buffer;
  readonly moment: CutMoment;
  readonly done: () => void;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  let armed: Armed | undefined;
  let away = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (away) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    let cutOnAnswer: (() => void) | undefined;
    const cutBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      const hit = armed && chunk.includes(armed.marker) ? armed : undefined;
      if (!hit) {
        upstream.write(chunk);
        return;
      }
      armed = undefined;
      if (hit.moment === 'before-sending') {
        cutBoth();
        hit.done();
        return;
      }
      cutOnAnswer = () => {
        cutBoth();
        hit.done();
      };
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cutOnAnswer) {
        // The server has run the statement and answered (committed, for a statement of its own): the answer is lost.
        cutOnAnswer();
        cutOnAnswer = undefined;
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    cut(marker, moment) {
      return new Promise((resolve) => {
        armed = { marker: Buffer.from(marker), moment, done: resolve };
      });
    },
    down() {
      away = true;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      away = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
