// Connection deadlines and the connection cap, on a real gateway with short
// deadlines: silent, trickling and stalled clients are cut off when the
// configuration says (not up to 30 s later), with a coded JSON 408.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createHttpServer, deadlineCheckIntervalMs } from '../../src/http/server.js';
import { silentLogger } from '../../src/log.js';
import { parseResponse, rawConnect, rawExchange, rawRequest, type RawEnding } from '../helpers/raw-http.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const HEADERS_MS = 1_000;
const REQUEST_MS = 2_000;
const KEEP_ALIVE_MS = 2_000;
/** How late a deadline may be kept on a busy machine; Node's own check ran every 30 s. */
const LATE_MS = 1_000;
/** A connection still open this long after its deadline counts as never closed. */
const GIVE_UP_MS = 4_000;

let t: TestGateway;
let port: number;

beforeAll(async () => {
  t = await startTestGateway(
    {},
    {
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
      // The silent connections below all come from 127.0.0.1, as a client's would not.
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '1024',
      // Longer than the headers deadline, which these tests are about.
      HTTP_FIRST_BYTE_TIMEOUT_MS: '60000',
    },
  );
  port = Number(new URL(t.gateway.url).port);
});

afterAll(async () => {
  await t.stop();
});

const query = JSON.stringify({ query: '{ __typename }' });
const postHead = ['POST /graphql HTTP/1.1', 'Host: localhost', 'Content-Type: application/json'];

/** The connection was closed at `deadline` (not before, at most LATE_MS after) with a coded 408. */
function expectTimedOut(ending: RawEnding, deadline: number): void {
  expect(ending.closedAfterMs, 'still open long after its deadline').toBeDefined();
  expect(ending.closedAfterMs).toBeGreaterThanOrEqual(deadline - 100);
  expect(ending.closedAfterMs).toBeLessThanOrEqual(deadline + LATE_MS);
  const response = parseResponse(ending.received);
  expect(response.status).toBe(408);
  expect(response.headers.get('content-type')).toContain('application/json');
  expect(JSON.parse(response.body)).toMatchObject({ errors: [{ extensions: { code: 'REQUEST_TIMEOUT' } }] });
}

describe('deadlines', () => {
  it('checks deadlines at least every second, and more often for short ones', () => {
    const limits = {
      ...loadConfig({}).http,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1,
      idleTimeoutMs: 120_000,
      maxConnectionsPerAddress: 1,
      firstByteTimeoutMs: 5_000,
    };
    expect(deadlineCheckIntervalMs(limits)).toBe(1_000);
    expect(deadlineCheckIntervalMs({ ...limits, headersTimeoutMs: 1_000 })).toBe(100);
  });

  it('closes a connection that sends nothing once its headers are due', async () => {
    expectTimedOut(await (await rawConnect(port, undefined, HEADERS_MS + GIVE_UP_MS)).ended, HEADERS_MS);
  });

  it('closes a connection whose headers stop half-way once they are due', async () => {
    const ending = await rawExchange(port, 'POST /graphql HTTP/1.1\r\nHost: localhost\r\n', HEADERS_MS + GIVE_UP_MS);
    expectTimedOut(ending, HEADERS_MS);
  });

  it('counts the headers deadline from the start, however steadily they trickle in', async () => {
    const connection = await rawConnect(port, 'GET /graphql HTTP/1.1\r\n', HEADERS_MS + GIVE_UP_MS);
    // A header line every 100 ms, never the blank line that ends them (at most 50).
    let lines = 0;
    const trickle = setInterval(() => {
      lines += 1;
      if (lines > 50 || connection.socket.destroyed) clearInterval(trickle);
      else connection.socket.write(`X-Pad-${lines}: ${lines}\r\n`);
    }, 100);
    try {
      expectTimedOut(await connection.ended, HEADERS_MS);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a connection whose body stalls once the whole request is due', async () => {
    const request = Buffer.concat([rawRequest([...postHead, 'Content-Length: 100']), Buffer.from('{"query":')]);
    expectTimedOut(await rawExchange(port, request, REQUEST_MS + GIVE_UP_MS), REQUEST_MS);
  });

  it('closes a connection whose chunked body stalls once the whole request is due', async () => {
    const request = Buffer.concat([
      rawRequest([...postHead, 'Transfer-Encoding: chunked']),
      Buffer.from('9\r\n{"query":\r\n'),
    ]);
    expectTimedOut(await rawExchange(port, request, REQUEST_MS + GIVE_UP_MS), REQUEST_MS);
  });

  it('serves a slow client that finishes its request in time', async () => {
    const connection = await rawConnect(
      port,
      rawRequest([...postHead, `Content-Length: ${query.length}`, 'Connection: close']),
      GIVE_UP_MS,
    );
    // The body comes half-way to the request deadline: slow, not late.
    const late = setTimeout(() => connection.socket.write(query), REQUEST_MS / 2);
    try {
      const response = parseResponse((await connection.ended).received);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ data: { __typename: 'Query' } });
    } finally {
      clearTimeout(late);
    }
  });

  it('closes an idle kept-alive connection when the keep-alive timeout says, advertising a little less', async () => {
    const ending = await rawExchange(port, rawRequest(postHead, query), KEEP_ALIVE_MS + GIVE_UP_MS);
    const response = parseResponse(ending.received);
    expect(response.status).toBe(200);
    expect(response.headers.get('keep-alive')).toBe(`timeout=${KEEP_ALIVE_MS / 1_000 - 1}`);
    expect(ending.closedAfterMs).toBeDefined();
    const idleMs = (ending.closedAfterMs ?? 0) - (ending.firstByteAfterMs ?? 0);
    expect(idleMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    // Node's own margin kept it open a full second longer than configured.
    expect(idleMs).toBeLessThan(KEEP_ALIVE_MS + 700);
  });
});

describe('many silent connections', () => {
  it('closes every one of them once their headers are due', async () => {
    const count = 200;
    const connections = await Promise.all(
      Array.from({ length: count }, () => rawConnect(port, undefined, HEADERS_MS + GIVE_UP_MS)),
    );
    const endings = await Promise.all(connections.map((connection) => connection.ended));
    const closedAfter = endings.map((ending) => ending.closedAfterMs ?? Number.POSITIVE_INFINITY);
    expect(Math.max(...closedAfter)).toBeLessThanOrEqual(HEADERS_MS + LATE_MS);
    expect(endings.filter((ending) => parseResponse(ending.received).status === 408)).toHaveLength(count);
  });
});

describe('connection cap', () => {
  it('refuses connections beyond the cap at once, with no response, and takes new ones when one closes', async () => {
    const capped = await startTestGateway({}, { HTTP_MAX_CONNECTIONS: '3', HTTP_HEADERS_TIMEOUT_MS: '20000' });
    const cappedPort = Number(new URL(capped.gateway.url).port);
    const health = rawRequest(['GET /health HTTP/1.1', 'Host: localhost', 'Connection: close']);
    const held = [];
    try {
      for (let index = 0; index < 3; index += 1) held.push(await rawConnect(cappedPort, undefined, 30_000));
      const refused = await rawExchange(cappedPort, health, 10_000);
      expect(refused.closedAfterMs).toBeDefined();
      expect(refused.closedAfterMs).toBeLessThan(5_000);
      expect(refused.received.length).toBe(0);

      held[0]?.socket.destroy();
      // The gateway notices the closed connection soon; try a bounded number of times.
      let status: number | undefined;
      for (let attempt = 0; attempt < 50 && status === undefined; attempt += 1) {
        const answer = await rawExchange(cappedPort, health, 10_000);
        if (answer.received.length > 0) status = parseResponse(answer.received).status;
      }
      expect(status).toBe(200);
    } finally {
      for (const connection of held) connection.socket.destroy();
      await capped.stop();
    }
  });
});

describe('refused connections', () => {
  it('are logged, once per interval with their count, not once each', async () => {
    const lines: string[] = [];
    const server = createHttpServer(
      { graphql: () => Promise.resolve(), health: () => Promise.resolve() },
      { info: () => undefined, warn: () => undefined, error: (message) => lines.push(message) },
      {
        ...loadConfig({}).http,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 10_000,
        keepAliveTimeoutMs: 2_000,
        maxConnections: 1,
        idleTimeoutMs: 120_000,
        maxConnectionsPerAddress: 10,
        firstByteTimeoutMs: 10_000,
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port: stubPort } = server.address() as AddressInfo;
    const held = await rawConnect(stubPort, undefined, 20_000);
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const refused = await rawExchange(stubPort, 'GET / HTTP/1.1\r\nHost: stub\r\n\r\n', 5_000);
        expect(refused.received.length).toBe(0);
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/refused 1 connection.*HTTP_MAX_CONNECTIONS/);
    } finally {
      held.socket.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('a client that stops reading', () => {
  it('has its connection closed after the idle timeout, not held for ever', async () => {
    let responseClosed!: () => void;
    const closed = new Promise<void>((resolve) => (responseClosed = resolve));
    const big = Buffer.alloc(64 * 1024 * 1024, 'x');
    const server = createHttpServer(
      {
        graphql: (_request, response) => {
          response.once('close', responseClosed);
          response.end(big);
          return Promise.resolve();
        },
        health: () => Promise.resolve(),
      },
      silentLogger,
      {
        ...loadConfig({}).http,
        headersTimeoutMs: 1_000,
        requestTimeoutMs: 2_000,
        keepAliveTimeoutMs: 2_000,
        maxConnections: 10,
        idleTimeoutMs: 500,
        maxConnectionsPerAddress: 10,
        firstByteTimeoutMs: 1_000,
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port: stubPort } = server.address() as AddressInfo;
    const connection = await rawConnect(stubPort, rawRequest(['GET /graphql HTTP/1.1', 'Host: stub']), 10_000);
    connection.socket.pause();
    try {
      const started = Date.now();
      const outcome = await Promise.race([
        closed.then(() => 'closed'),
        new Promise((resolve) => setTimeout(resolve, 8_000, 'still open')),
      ]);
      expect(outcome).toBe('closed');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      connection.socket.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});
