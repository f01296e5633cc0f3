// Issue 20, safety: where a webhook may go and what an attempt does on real
// sockets on loopback. Unlisted private addresses are refused before any
// connection (literals at once, names after DNS), plain http only for listed
// hosts, redirects are not followed, a huge answer is cut at 64 KiB with the
// connection closed, a silent receiver times out, and request-filtering-agent's
// refusal text, which the sender recognises, is pinned here.
import { getEventListeners } from 'node:events';
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addressPolicy, listedHost, type UrlRule } from '../../src/webhooks/address-policy.js';
import { createSender, isAddressRefusal } from '../../src/webhooks/outbound-http.js';

const LISTED = addressPolicy(['127.0.0.1']);
const UNLISTED = addressPolicy([]);
const TIMEOUT_MS = 500;

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

interface Receiver {
  readonly port: number;
  readonly requests: Received[];
  /** TCP connections accepted so far. */
  connections: number;
  readonly close: () => Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

/** An HTTP server on 127.0.0.1 that records each request, then lets `answer` respond (or not). */
async function startReceiver(answer: (response: ServerResponse, received: Received) => void): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createHttpServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const received = {
        method: incoming.method ?? '',
        url: incoming.url ?? '',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      answer(response, received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    port: portOf(server),
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    receiver.connections++;
  });
  closers.push(receiver.close);
  return receiver;
}

/** A bare TCP listener on 127.0.0.1 that only counts the connections that reach it. */
async function startListener(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: portOf(server), connections: () => connections };
}

/** A port on 127.0.0.1 nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The error a POST through `agent` ends with (undefined when it got an answer). */
function agentError(url: string, policy = UNLISTED): Promise<Error | undefined> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const outgoing = request(target, { method: 'POST', agent: policy.agentFor(target), timeout: 5_000 });
    outgoing.on('response', (response) => {
      response.resume();
      resolve(undefined);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 5 s')));
    outgoing.on('error', resolve);
    outgoing.end();
  });
}

describe('endpoint URLs', () => {
  const cases: [url: string, rule: UrlRule | null][] = [
    ['https://hooks.example.com/fifo?token=abc', null],
    ['https://93.184.215.14/hook', null],
    ['https://[2606:4700:4700::1111]/hook', null],
    ['not a url', 'url'],
    ['/relative/path', 'url'],
    ['ftp://hooks.example.com/', 'https'],
    ['http://hooks.example.com/', 'https'],
    ['http://127.0.0.1:8080/', 'https'],
    ['https://user:s3cret@hooks.example.com/', 'noCredentials'],
    ['https://:s3cret@hooks.example.com/', 'noCredentials'],
    ['https://hooks.example.com/#part', 'noFragment'],
    ['https://hooks.example.com/#', 'noFragment'],
    ['https://10.0.0.1/', 'publicAddress'],
    ['https://192.168.1.20/', 'publicAddress'],
    ['https://172.16.0.1/', 'publicAddress'],
    ['https://100.64.0.1/', 'publicAddress'],
    ['https://127.0.0.1/', 'publicAddress'],
    ['https://2130706433/', 'publicAddress'],
    ['https://0x7f.1/', 'publicAddress'],
    ['https://169.254.169.254/latest/meta-data/', 'publicAddress'],
    ['https://0.0.0.0/', 'publicAddress'],
    ['https://255.255.255.255/', 'publicAddress'],
    ['https://[::1]/', 'publicAddress'],
    ['https://[::]/', 'publicAddress'],
    ['https://[::ffff:127.0.0.1]/', 'publicAddress'],
    ['https://[::ffff:10.0.0.1]/', 'publicAddress'],
    ['https://[fe80::1]/', 'publicAddress'],
    ['https://[fd00::1]/', 'publicAddress'],
    ['https://[64:ff9b::a00:1]/', 'publicAddress'],
  ];

  it.each(cases)('%s → %s', (url, rule) => {
    const problem = UNLISTED.urlProblem(url);
    expect(problem?.rule ?? null).toBe(rule);
    if (problem) {
      expect(problem.message).toMatch(new RegExp(`^${problem.rule}: `));
      // Messages never quote the URL, which may carry a token or a password.
      expect(problem.message).not.toContain('s3cret');
      expect(problem.message).not.toContain(url);
    }
  });

  it('allow http and private addresses for listed hosts only, by their host name alone', () => {
    const policy = addressPolicy(['127.0.0.1', 'LocalHost', '[::1]', 'receiver.internal', ' ']);
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'https://127.0.0.1/',
      'http://localhost:1/',
      'http://[::1]:9/',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://RECEIVER.internal/x',
    ])
      expect(policy.urlProblem(url), url).toBeNull();
    expect(policy.urlProblem('http://127.0.0.2/')?.rule).toBe('https');
    expect(policy.urlProblem('https://127.0.0.2/')?.rule).toBe('publicAddress');
    expect(policy.urlProblem('http://user:pw@127.0.0.1/')?.rule).toBe('noCredentials');
    expect(policy.urlProblem('http://127.0.0.1/#x')?.rule).toBe('noFragment');
    expect(policy.urlProblem('ftp://127.0.0.1/')?.rule).toBe('https');
  });

  it('list hosts as URL writes them, and refuse entries that are more than a host', () => {
    expect(listedHost('Example.COM')).toBe('example.com');
    expect(listedHost('[0:0::1]')).toBe('::1');
    expect(listedHost('::FFFF:127.0.0.1')).toBe('::ffff:7f00:1');
    expect(listedHost('2130706433')).toBe('127.0.0.1');
    for (const entry of ['127.0.0.1:8080', 'host/path', 'user@host', 'a b', '[host]', 'http://host', ''])
      expect(() => listedHost(entry), entry).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
  });
});

describe("request-filtering-agent's refusal", () => {
  // The sender recognises the agent's refusal by this text only: an upgrade that rewords it fails here.
  it.each([
    ['http://10.0.0.1/', '10.0.0.1', 'private'],
    ['https://169.254.169.254/', '169.254.169.254', 'private'],
    ['http://[::1]:9/', '::1', 'private'],
    ['http://[::ffff:127.0.0.1]:9/', '::ffff:7f00:1', 'private'],
    ['https://0.0.0.0/', '0.0.0.0', 'meta'],
  ])('refuses %s by itself, before connecting', async (url, address, kind) => {
    const error = await agentError(url);
    expect(error?.message).toBe(
      `DNS lookup ${address}(family:undefined, host:undefined) is not allowed. Because, It is ${kind} IP address.`,
    );
    expect(isAddressRefusal(error)).toBe(true);
  });

  it('refuses a name after DNS, and 0.0.0.0 even for listed hosts', async () => {
    const { port, connections } = await startListener();
    const error = await agentError(`https://localhost:${port}/`);
    expect(error?.message).toMatch(
      /^DNS lookup (127\.0\.0\.1\(family:4|::1\(family:6), host:localhost\) is not allowed\. Because, It is private IP address\.$/,
    );
    expect(isAddressRefusal(error)).toBe(true);
    const listedMeta = await agentError('http://0.0.0.0:9/', addressPolicy(['0.0.0.0']));
    expect(listedMeta?.message).toMatch(/is not allowed\. Because, It is meta IP address\.$/);
    await settle(50);
    expect(connections()).toBe(0);
  });

  it('is not what other network errors look like', async () => {
    const error = await agentError(`http://127.0.0.1:${await closedPort()}/`, LISTED);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isAddressRefusal(error)).toBe(false);
  });
});

describe('an attempt', () => {
  const send = createSender(LISTED, { timeoutMs: TIMEOUT_MS });
  const sendUnlisted = createSender(UNLISTED, { timeoutMs: TIMEOUT_MS });
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'fifo-case-gateway-webhooks/test',
    'webhook-id': 'evt_1042',
    'webhook-timestamp': '1796000000',
    'webhook-signature': 'v1,c2lnbmF0dXJl',
  };
  const body = JSON.stringify({ id: 'evt_1042', type: 'case.called', data: { caseId: 42, ticket: 'Ä042' } });

  it('to https://localhost is refused after DNS, and no connection reaches the listener', async () => {
    const { port, connections } = await startListener();
    const result = await sendUnlisted(`https://localhost:${port}/hook`, headers, body);
    expect(result).toMatchObject({ outcome: 'ADDRESS_REFUSED', status: null, truncated: false });
    await settle(50);
    expect(connections()).toBe(0);
  });

  it.each([
    'https://10.0.0.1/hook',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://0.0.0.0/hook',
    'http://hooks.example.com/hook',
    'https://user:pw@hooks.example.com/hook',
    'not a url',
  ])('to %s is refused without connecting', async (url) => {
    const result = await sendUnlisted(url, headers, body);
    expect(result).toMatchObject({ outcome: 'ADDRESS_REFUSED', status: null, truncated: false });
    expect(result.latencyMs).toBeLessThan(50);
  });

  it('over plain http to an unlisted 127.0.0.1 is refused, and the receiver gets nothing', async () => {
    const receiver = await startReceiver((response) => response.end());
    const result = await sendUnlisted(`http://127.0.0.1:${receiver.port}/hook`, headers, body);
    expect(result.outcome).toBe('ADDRESS_REFUSED');
    await settle(50);
    expect(receiver.connections).toBe(0);
  });

  it('reaches a listed 127.0.0.1 receiver with exactly its headers and body, over one kept-alive connection', async () => {
    const receiver = await startReceiver((response) => response.writeHead(204).end());
    const url = `http://127.0.0.1:${receiver.port}/hooks/fifo?token=abc`;
    const first = await send(url, headers, body);
    const second = await send(url, headers, body);
    for (const result of [first, second]) {
      expect(result).toMatchObject({ outcome: 'DELIVERED', status: 204, truncated: false });
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
      expect(result.latencyMs).toBeLessThan(TIMEOUT_MS);
    }
    expect(receiver.requests).toHaveLength(2);
    const [received] = receiver.requests;
    expect(received).toMatchObject({ method: 'POST', url: '/hooks/fifo?token=abc', body });
    // Ours, plus only what HTTP/1.1 itself needs.
    expect(received!.headers).toEqual({
      ...headers,
      host: `127.0.0.1:${receiver.port}`,
      'content-length': String(Buffer.byteLength(body)),
      connection: 'keep-alive',
    });
    expect(receiver.connections).toBe(1);
  });

  it('counts any 2xx as delivered, whatever the body, and other statuses as HTTP errors', async () => {
    const statuses = [200, 202, 299, 400, 404, 410, 500, 503];
    for (const status of statuses) {
      const receiver = await startReceiver((response) => response.writeHead(status).end('{"not":"checked"}'));
      const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
      const outcome = status < 300 ? 'DELIVERED' : 'HTTP_ERROR';
      expect(result, String(status)).toMatchObject({ outcome, status, truncated: false });
    }
  });

  it("keeps a 429's or 503's Retry-After, and no other status's", async () => {
    for (const [status, expected] of [
      [429, '120'],
      [503, 'Sun, 06 Dec 2026 12:01:30 GMT'],
      [500, null],
      [200, null],
    ] as const) {
      const retryAfter = expected ?? '60';
      const receiver = await startReceiver((response) =>
        response.writeHead(status, { 'retry-after': retryAfter }).end(),
      );
      const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
      expect(result, String(status)).toMatchObject({ status, retryAfter: expected });
    }
    const plain = await startReceiver((response) => response.writeHead(503).end());
    expect(await send(`http://127.0.0.1:${plain.port}/`, headers, body)).toMatchObject({
      status: 503,
      retryAfter: null,
    });
  });

  it('does not follow a redirect, and its target gets nothing', async () => {
    const target = await startReceiver((response) => response.end());
    for (const status of [301, 302, 303, 307, 308]) {
      const redirecting = await startReceiver((response) =>
        response.writeHead(status, { location: `http://127.0.0.1:${target.port}/elsewhere` }).end(),
      );
      const result = await send(`http://127.0.0.1:${redirecting.port}/hook`, headers, body);
      expect(result).toMatchObject({ outcome: 'REDIRECT_REFUSED', status, truncated: false });
      expect(redirecting.requests).toHaveLength(1);
    }
    await settle(50);
    expect(target.connections).toBe(0);
  });

  /**
   * A receiver that answers 200 and then pours out `total` bytes in 64 KiB
   * chunks, `pauseMs` apart (0: as fast as its socket takes them), without a
   * Content-Length, so the cap is reached by reading. `written()` counts the
   * bytes its socket accepted.
   */
  async function pouring(total: number, pauseMs: number) {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    let closed = false;
    const receiver = await startReceiver((response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.on('close', () => void (closed = true));
      const pour = (): void => {
        if (closed) return;
        if (written >= total) {
          response.end();
          return;
        }
        response.write(chunk, (error) => {
          if (error) return;
          written += chunk.length;
          if (pauseMs === 0) pour();
          else setTimeout(pour, pauseMs);
        });
      };
      pour();
    });
    return { receiver, written: () => written, closed: () => closed };
  }

  it('reads at most 64 KiB of a 10 MB answer after a 200, then closes the connection', async () => {
    const total = 10 * 1024 * 1024;
    // 2 ms between chunks: were the body read to its end, pouring it would take over 300 ms.
    const { receiver, written, closed } = await pouring(total, 2);
    const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'DELIVERED', status: 200, truncated: true });
    await expect.poll(closed, { timeout: 2_000 }).toBe(true);
    expect(written()).toBeLessThan(1024 * 1024);
  });

  it('cuts a 10 MB answer poured as fast as loopback takes it just the same', async () => {
    // Here the kernels' socket buffers take megabytes the sender never reads, so only the outcome is compared.
    const { receiver, closed } = await pouring(10 * 1024 * 1024, 0);
    const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'DELIVERED', status: 200, truncated: true });
    await expect.poll(closed, { timeout: 2_000 }).toBe(true);
  });

  it('does not read an answer whose Content-Length is over the cap', async () => {
    const receiver = await startReceiver((response) => {
      response.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      response.write(Buffer.alloc(1024));
    });
    const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'DELIVERED', status: 200, truncated: true });
  });

  it('times out on a receiver that never answers, within the timeout and a second', async () => {
    const receiver = await startReceiver(() => undefined);
    const started = Date.now();
    const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
    const took = Date.now() - started;
    expect(result).toMatchObject({ outcome: 'TIMEOUT', status: null, truncated: false });
    expect(receiver.requests).toHaveLength(1);
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    expect(took).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(result.latencyMs).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it('keeps the verdict of a 2xx whose body stalls, cut at the timeout', async () => {
    const receiver = await startReceiver((response) => {
      response.writeHead(200);
      response.write('{"partial":');
    });
    const started = Date.now();
    const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'DELIVERED', status: 200, truncated: true });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it('reports a refused connection as a network error', async () => {
    const result = await send(`http://127.0.0.1:${await closedPort()}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'NETWORK_ERROR', status: null, truncated: false });
  });

  it('reports a connection reset before any answer as a network error', async () => {
    const receiver = await startReceiver((response) => response.socket?.destroy());
    const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'NETWORK_ERROR', status: null });
  });

  it('reaches a listed host name through DNS', async () => {
    const receiver = await startReceiver((response) => response.end());
    const viaName = createSender(addressPolicy(['localhost']), { timeoutMs: 2_000 });
    // localhost may resolve to ::1 first; the receiver is on 127.0.0.1 only, which happy eyeballs falls back to.
    const result = await viaName(`http://localhost:${receiver.port}/`, headers, body);
    expect(result).toMatchObject({ outcome: 'DELIVERED', status: 200 });
  });

  it("rejects with the caller's reason when the caller aborts, and records nothing", async () => {
    const receiver = await startReceiver(() => undefined);
    const controller = new AbortController();
    const reason = new Error('drain lost its session');
    const pending = send(`http://127.0.0.1:${receiver.port}/`, headers, body, controller.signal);
    await expect.poll(() => receiver.requests.length).toBe(1);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(send(`http://127.0.0.1:${receiver.port}/`, headers, body, controller.signal)).rejects.toBe(reason);
    const plain = new AbortController();
    const unexplained = send(`http://127.0.0.1:${receiver.port}/`, headers, body, plain.signal);
    plain.abort();
    await expect(unexplained).rejects.toMatchObject({ name: 'AbortError' });
  });

  it("leaves nothing on a long-lived caller's signal", async () => {
    const receiver = await startReceiver((response) => response.end());
    const workerLifetime = new AbortController();
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await send(`http://127.0.0.1:${receiver.port}/`, headers, body, workerLifetime.signal);
      expect(result.outcome).toBe('DELIVERED');
    }
    expect(getEventListeners(workerLifetime.signal, 'abort')).toHaveLength(0);
  });

  it('rejects a header value with a line break without sending', async () => {
    const receiver = await startReceiver((response) => response.end());
    await expect(
      send(`http://127.0.0.1:${receiver.port}/`, { ...headers, 'webhook-id': 'evt_1\r\nx-injected: 1' }, body),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
    expect(receiver.connections).toBe(0);
  });
});
