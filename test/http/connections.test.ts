// Issue 17 item 4: one client may not take every connection. Each address
// holds at most HTTP_MAX_CONNECTIONS_PER_ADDRESS (WebSockets count; trusted
// proxies do not), a connection must send its first byte within
// HTTP_FIRST_BYTE_TIMEOUT_MS, and behind TRUST_PROXY the client address is
// read from X-Forwarded-For, from the proxies only. On Linux all of 127/8 is
// this machine: 127.0.0.1 is the attacker, other 127.0.0.x are other clients.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressCounter } from '../../src/http/connection-limits.js';
import { clientAddressResolver } from '../../src/limits/client-address.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { webSocketUrl } from '../helpers/live-client.js';
import { plainRequest as send } from '../helpers/plain-http.js';
import { parseResponse } from '../helpers/raw-http.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const ATTACKER = '127.0.0.1';
/** How late a deadline may be kept on a busy machine. */
const LATE_MS = 1_000;

interface Held {
  readonly socket: Socket;
  /** Resolves when the server has closed (or reset) the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  /** Milliseconds from connecting to the close; undefined while open. */
  closedAfterMs(): number | undefined;
  received(): Buffer;
}

/** A TCP connection from `localAddress` that sends nothing unless told to. */
async function hold(port: number, localAddress: string): Promise<Held> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  const chunks: Buffer[] = [];
  let closedAt: number | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A reset is how a refused connection ends; `close` follows it.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => (closedAt = Date.now()));
  // A connection refused at once may be reset before the client has seen it connect.
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
  const connectedAt = Date.now();
  return {
    socket,
    closed,
    isClosed: () => closedAt !== undefined,
    closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - connectedAt),
    received: () => Buffer.concat(chunks),
  };
}

const until = async (done: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
};

const portOf = (gateway: TestGateway): number => Number(new URL(gateway.gateway.url).port);

describe('one address fills its share, not every connection', () => {
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (message) => warnings.push(message) };
  let t: TestGateway;
  const held: Held[] = [];

  beforeAll(async () => {
    // Deadlines so long that idle sockets would stay for the whole test, as
    // the 120 s idle timeout let them (the global cap is the default 1,024).
    t = await startTestGateway(
      {},
      {
        HTTP_MAX_CONNECTIONS_PER_ADDRESS: '64',
        HTTP_FIRST_BYTE_TIMEOUT_MS: '60000',
        HTTP_HEADERS_TIMEOUT_MS: '60000',
        HTTP_REQUEST_TIMEOUT_MS: '60000',
      },
      log,
    );
  });

  afterAll(async () => {
    for (const connection of held) connection.socket.destroy();
    await t.stop();
  });

  it('keeps answering another address while one holds 1,024 idle connections', async () => {
    const port = portOf(t);
    // In batches, so that the listen backlog is not what refuses them.
    for (let batch = 0; batch < 8; batch += 1)
      held.push(...(await Promise.all(Array.from({ length: 128 }, () => hold(port, ATTACKER)))));
    expect(held).toHaveLength(1_024);
    await until(() => held.filter((connection) => connection.isClosed()).length >= 1_024 - 64, 10_000);

    const live = await send(port, '/health/live', { localAddress: '127.0.0.2' });
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toEqual({ status: 'live' });

    // The attacker holds its share; every other connection was refused at once, unanswered.
    const open = held.filter((connection) => !connection.isClosed());
    expect(open).toHaveLength(64);
    const refused = held.filter((connection) => connection.isClosed());
    expect(refused.every((connection) => connection.received().length === 0)).toBe(true);
    // Reconnecting gets it nothing more.
    const again = await hold(port, ATTACKER);
    await Promise.race([again.closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    expect(again.isClosed()).toBe(true);
    expect((await send(port, '/health/live', { localAddress: '127.0.0.2' })).status).toBe(200);

    // 961 refusals, a line or two: the first at once, the rest counted for the next one (10 s on).
    const lines = warnings.filter((line) => line.includes('HTTP_MAX_CONNECTIONS_PER_ADDRESS'));
    expect(lines[0]).toBe(
      'refused 1 connection(s) since the last report: their address already held 64 (HTTP_MAX_CONNECTIONS_PER_ADDRESS)',
    );
    expect(lines.length).toBeLessThanOrEqual(2);
  });
});

describe('connections, with a cap of 3 per address, a trusted proxy and a short first-byte deadline', () => {
  const FIRST_BYTE_MS = 500;
  const PROXY = '127.0.0.3';
  let t: TestGateway;
  let port: number;

  beforeAll(async () => {
    t = await startTestGateway(
      {},
      {
        HTTP_MAX_CONNECTIONS_PER_ADDRESS: '3',
        HTTP_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_MS),
        TRUST_PROXY: PROXY,
      },
    );
    port = portOf(t);
  });

  afterAll(async () => {
    await t.stop();
  });

  const health = 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n';

  it('counts WebSockets against their address, and takes a new connection once one closes', async () => {
    const localAddress = '127.0.0.4';
    const sockets = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const socket = new WebSocket(webSocketUrl(t.gateway.url), 'graphql-transport-ws', { localAddress });
        await once(socket, 'open');
        return socket;
      }),
    );
    try {
      const refused = await hold(port, localAddress);
      await Promise.race([refused.closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      expect(refused.isClosed()).toBe(true);
      expect(refused.received().length).toBe(0);
      // Other addresses are not affected.
      expect((await send(port, '/health/live', { localAddress: '127.0.0.5' })).status).toBe(200);

      sockets[0]!.close();
      await once(sockets[0]!, 'close');
      let status: number | undefined;
      for (let attempt = 0; attempt < 50 && status === undefined; attempt += 1)
        status = await send(port, '/health/live', { localAddress }).then(
          (answer) => answer.status,
          () => undefined,
        );
      expect(status).toBe(200);
    } finally {
      for (const socket of sockets) socket.terminate();
    }
  });

  it('does not cap a trusted proxy, which all clients share', async () => {
    const connections = await Promise.all(Array.from({ length: 10 }, () => hold(port, PROXY)));
    try {
      connections[9]!.socket.write(health);
      await until(() => connections[9]!.received().includes('\r\n\r\n'), 5_000);
      expect(parseResponse(connections[9]!.received()).status).toBe(200);
      expect(connections.filter((connection) => connection.isClosed())).toHaveLength(0);
    } finally {
      for (const connection of connections) connection.socket.destroy();
    }
  });

  it('closes a connection that sends no byte within the first-byte deadline, with a coded 408', async () => {
    const silent = await hold(port, '127.0.0.6');
    await Promise.race([silent.closed, new Promise((resolve) => setTimeout(resolve, FIRST_BYTE_MS + 3_000))]);
    const closedAfter = silent.closedAfterMs();
    expect(closedAfter, 'still open long after the first-byte deadline').toBeDefined();
    expect(closedAfter).toBeGreaterThanOrEqual(FIRST_BYTE_MS - 50);
    expect(closedAfter).toBeLessThanOrEqual(FIRST_BYTE_MS + LATE_MS);
    const answer = parseResponse(silent.received());
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'REQUEST_TIMEOUT' } }] });
  });

  it('leaves a connection that has begun to the headers deadline, however slowly it goes on', async () => {
    const slow = await hold(port, '127.0.0.7');
    try {
      slow.socket.write('G');
      // The rest comes after the first-byte deadline (the headers one is 10 s).
      await new Promise((resolve) => setTimeout(resolve, 2 * FIRST_BYTE_MS));
      slow.socket.write(health.slice(1));
      await until(() => slow.received().includes('\r\n\r\n') || slow.isClosed(), 5_000);
      expect(parseResponse(slow.received()).status).toBe(200);
    } finally {
      slow.socket.destroy();
    }
  });

  it('keeps a kept-alive connection between requests, and answers pipelined ones', async () => {
    const client = await hold(port, '127.0.0.8');
    try {
      client.socket.write(health);
      await until(() => client.received().includes('\r\n\r\n'), 5_000);
      // Idle past the first-byte deadline, within the keep-alive one (5 s).
      await new Promise((resolve) => setTimeout(resolve, 2 * FIRST_BYTE_MS));
      expect(client.isClosed()).toBe(false);
      // Two more at once, one after the other on the wire.
      client.socket.write(health + health);
      await until(() => client.received().toString('latin1').split('HTTP/1.1 200 OK').length - 1 === 3, 5_000);
      expect(client.received().toString('latin1').split('HTTP/1.1 200 OK').length - 1).toBe(3);
      expect(client.isClosed()).toBe(false);
    } finally {
      client.socket.destroy();
    }
  });

  it('keeps an upgraded WebSocket past the first-byte deadline', async () => {
    const socket = new WebSocket(webSocketUrl(t.gateway.url), 'graphql-transport-ws', { localAddress: '127.0.0.9' });
    const messages: unknown[] = [];
    socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8'))));
    try {
      await once(socket, 'open');
      socket.send(JSON.stringify({ type: 'connection_init' }));
      await until(() => messages.length > 0, 5_000);
      expect(messages).toEqual([{ type: 'connection_ack' }]);
      await new Promise((resolve) => setTimeout(resolve, 2 * FIRST_BYTE_MS));
      expect(socket.readyState).toBe(WebSocket.OPEN);
      socket.send(JSON.stringify({ type: 'ping' }));
      await until(() => messages.length > 1, 5_000);
      expect(messages[1]).toEqual({ type: 'pong' });
    } finally {
      socket.terminate();
    }
  });
});

describe('the per-address count', () => {
  it('counts an IPv6 client by its /64, IPv4-mapped addresses as IPv4, and frees what closes', () => {
    const counter = addressCounter(2, (address) => address === '192.0.2.1');
    const first = counter.admit('2001:db8:0:1::1');
    const second = counter.admit('2001:db8:0:1:ffff::2');
    expect(first && second).toBeDefined();
    expect(counter.admit('2001:db8:0:1::3')).toBeUndefined();
    expect(counter.admit('2001:db8:0:2::1')).toBeDefined();
    first?.();
    first?.();
    expect(counter.held('2001:db8:0:1::9')).toBe(1);
    expect(counter.admit('2001:db8:0:1::3')).toBeDefined();

    expect(counter.admit('198.51.100.1')).toBeDefined();
    expect(counter.admit('::ffff:198.51.100.1')).toBeDefined();
    expect(counter.admit('198.51.100.1')).toBeUndefined();
    // A trusted proxy is never counted.
    for (let index = 0; index < 5; index += 1) expect(counter.admit('192.0.2.1')).toBeDefined();
    expect(counter.held('192.0.2.1')).toBe(0);
  });
});

describe('the client address behind trusted proxies', () => {
  /** What `resolve` makes of a request from `localAddress` with these headers. */
  async function resolved(trustProxy: readonly string[], localAddress: string, forwarded?: string): Promise<string> {
    const resolve = clientAddressResolver(trustProxy);
    const server = createServer((request, response) => response.end(resolve(request)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded };
      return (await send(port, '/', { localAddress, headers })).body;
    } finally {
      server.close();
    }
  }

  it('is the peer when no proxy is trusted, whatever the request says', async () => {
    expect(await resolved([], '127.0.0.2', '198.51.100.7')).toBe('127.0.0.2');
  });

  it('is read from X-Forwarded-For only when the peer is trusted', async () => {
    expect(await resolved(['127.0.0.3'], '127.0.0.2', '198.51.100.7')).toBe('127.0.0.2');
    expect(await resolved(['127.0.0.3'], '127.0.0.3', '198.51.100.7')).toBe('198.51.100.7');
    expect(await resolved(['127.0.0.3'], '127.0.0.3')).toBe('127.0.0.3');
  });

  it('walks from the right past trusted hops, to the first address not trusted', async () => {
    // The client wrote 203.0.113.9 itself; the proxy appended what it saw.
    expect(await resolved(['127.0.0.3'], '127.0.0.3', '203.0.113.9, 198.51.100.7')).toBe('198.51.100.7');
    expect(await resolved(['127.0.0.2/31', '10.0.0.0/8'], '127.0.0.3', '203.0.113.9, 198.51.100.7, 10.1.2.3')).toBe(
      '198.51.100.7',
    );
    // Every hop trusted: the furthest one.
    expect(await resolved(['127.0.0.3', '10.0.0.0/8'], '127.0.0.3', '10.0.0.1, 10.0.0.2')).toBe('10.0.0.1');
  });

  it('stops at the trusted hop before an entry that is no address', async () => {
    expect(await resolved(['127.0.0.3'], '127.0.0.3', '198.51.100.7, <script>')).toBe('127.0.0.3');
    expect(await resolved(['127.0.0.3', '10.0.0.0/8'], '127.0.0.3', 'x, 10.0.0.2')).toBe('10.0.0.2');
  });
});

describe('rate limits by the forwarded address', () => {
  const PROXY = '127.0.0.3';
  let t: TestGateway;
  let port: number;

  beforeAll(async () => {
    t = await startTestGateway({}, { AUTH_MODE: 'required', RATE_LIMIT_PER_ADDRESS: '3', TRUST_PROXY: PROXY });
    port = portOf(t);
  });

  afterAll(async () => {
    await t.stop();
  });

  /** The status of an anonymous GraphQL request (401 until the address's limit is used up, then 429). */
  const anonymous = async (localAddress: string, forwarded: string): Promise<number> =>
    (
      await send(port, '/graphql', {
        localAddress,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded },
        body: JSON.stringify({ query: '{ __typename }' }),
      })
    ).status;

  it('counts each client behind a trusted proxy by its own address', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) expect(await anonymous(PROXY, '198.51.100.10')).toBe(401);
    expect(await anonymous(PROXY, '198.51.100.10')).toBe(429);
    // Another client behind the same proxy has its own limit.
    expect(await anonymous(PROXY, '198.51.100.11')).toBe(401);
    // What a client writes left of what the proxy appended changes nothing.
    expect(await anonymous(PROXY, '203.0.113.1, 198.51.100.10')).toBe(429);
  });

  it('ignores X-Forwarded-For from anyone else: a spoofed header gets no fresh limit', async () => {
    const untrusted = '127.0.0.12';
    for (let attempt = 0; attempt < 3; attempt += 1)
      expect(await anonymous(untrusted, `198.51.100.${20 + attempt}`)).toBe(401);
    expect(await anonymous(untrusted, '198.51.100.99')).toBe(429);
  });
});
