// Live updates across gateway OS processes, and under a burst with a client
// that stops reading. Two processes on one database: subscribers on the
// second, mutations on the first. Then 1,000 enqueues through both while
// one WebSocket has stopped reading: the others see every change promptly,
// the stalled one is disconnected, and the gateway's memory stays bounded.
import { readFile } from 'node:fs/promises';
import type { ClientRequestArgs } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import type pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallNextDocument,
  CreateServiceDocument,
  EnqueueCaseDocument,
  FollowCaseDocument,
  FollowQueueDocument,
} from '../../src/generated/operations/graphql.js';
import { expectData, graphqlClient, type Client } from '../helpers/graphql-client.js';
import { liveClient, webSocketUrl, type LiveClient } from '../helpers/live-client.js';
import { startProcessPair, type GatewayProcess, type ProcessPair } from './helpers/gateway-process.js';

const BURST = 1_000;
const BURST_CONCURRENCY = 32;
/** Short, so that a client that stopped reading is found out within seconds. */
const KEEP_ALIVE_MS = 1_000;
const MIB = 1024 * 1024;

let pair: ProcessPair | undefined;
let first: GatewayProcess;
let second: GatewayProcess;
let sql: pg.Client | undefined;
let requests: Client[];
const clients: LiveClient[] = [];

beforeAll(async () => {
  pair = await startProcessPair({ LIVE_KEEP_ALIVE_MS: String(KEEP_ALIVE_MS) });
  ({ first, second, sql } = pair);
  requests = [graphqlClient(first.url), graphqlClient(second.url)];
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await pair?.stop();
});

const newService = async (code: string): Promise<number> =>
  expectData(await requests[0]!(CreateServiceDocument, { input: { name: `Live ${code}`, queueCode: code } }))
    .createService.id;

async function residentBytes(pid: number): Promise<number> {
  const kib = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kib) throw new Error(`no VmRSS for ${pid}`);
  return Number(kib) * 1024;
}

describe('two gateway processes on one database', () => {
  it('a kiosk on one sees its position count down as agents call on the other', async () => {
    const serviceId = await newService('T');
    const enqueue = async () =>
      expectData(await requests[0]!(EnqueueCaseDocument, { input: { serviceId } })).enqueueCase.caseId;
    await enqueue();
    await enqueue();
    const mine = await enqueue();

    const kiosk = liveClient(second.url);
    clients.push(kiosk);
    const follow = kiosk.subscribe(FollowCaseDocument, { caseId: mine });
    const positions: (number | null | undefined)[] = [];
    positions.push((await follow.until(() => true)).caseChanged.position);
    for (const desk of ['desk-1', 'desk-2', 'desk-3']) {
      expectData(await requests[0]!(CallNextDocument, { input: { serviceIds: [serviceId], agent: desk } }));
      const update = (await follow.until(() => true)).caseChanged;
      positions.push(update.position);
      if (update.status === 'IN_SERVICE') expect(update.lastAgent).toBe('desk-3');
    }
    expect(positions).toEqual([3, 2, 1, null]);
    follow.stop();
  });
});

describe('a burst with a client that stopped reading', () => {
  it('reaches every other subscriber, drops the stalled one, and keeps memory bounded', async () => {
    const serviceId = await newService('B');

    // The stalled client: subscribes to the queue, then stops reading its socket.
    let tcp: Socket | undefined;
    const stalled = new WebSocket(webSocketUrl(second.url), 'graphql-transport-ws', {
      createConnection: (options: ClientRequestArgs) =>
        (tcp = createConnection({ port: Number(options.port), host: options.host ?? '127.0.0.1' })),
    });
    await new Promise<void>((resolve, reject) => {
      stalled.once('open', () => resolve());
      stalled.once('error', reject);
    });
    const acknowledged = new Promise<void>((resolve) =>
      stalled.on('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') resolve();
      }),
    );
    stalled.send(JSON.stringify({ type: 'connection_init' }));
    await acknowledged;
    const stalledClosed = new Promise<number>((resolve) => stalled.once('close', (code) => resolve(code)));
    stalled.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: `subscription { queueChanged(serviceId: ${serviceId}, first: 100) { waitingCount waiting { ticket position } } }`,
        },
      }),
    );
    // Its first update arrives; from then on nothing is read, pings included.
    await new Promise<void>((resolve) => stalled.once('message', () => resolve()));
    if (!tcp) throw new Error('the WebSocket did not use the connection made for it');
    tcp.pause();

    // The others: screens on both gateways.
    const screens = [first.url, second.url, second.url].map((url) => {
      const client = liveClient(url);
      clients.push(client);
      return client.subscribe(FollowQueueDocument, { serviceId, first: 10 });
    });
    await Promise.all(screens.map((screen) => screen.until(() => true)));

    const before = await residentBytes(second.pid);
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: BURST_CONCURRENCY }, async (_, lane) => {
        while (next < BURST) {
          next += 1;
          expectData(await requests[lane % 2]!(EnqueueCaseDocument, { input: { serviceId, subject: 'burst' } }));
        }
      }),
    );
    const burstMs = Date.now() - started;
    // Every screen sees the whole burst, promptly after its last commit.
    const seen = await Promise.all(
      screens.map(async (screen) => {
        const state = await screen.until((data) => data.queueChanged.waitingCount === BURST, 15_000);
        return { at: Date.now(), state };
      }),
    );
    for (const { at, state } of seen) {
      expect(at - started - burstMs).toBeLessThan(5_000);
      expect(state.queueChanged.waiting.map((each) => each.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    // The stalled client missed its pings and was disconnected: once it reads
    // again, it finds its connection closed (by keep-alive, 1006 with no close
    // frame, or 1013, too slow), not a backlog of a thousand updates.
    await new Promise((resolve) => setTimeout(resolve, 5 * KEEP_ALIVE_MS));
    tcp.resume();
    const code = await Promise.race([
      stalledClosed,
      new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000)),
    ]);
    expect([1006, 1013]).toContain(code);
    const after = await residentBytes(second.pid);
    // 1,000 updates were not kept for it: a backlog of whole queue states would be tens of MiB.
    expect(after - before).toBeLessThan(64 * MIB);
    // Each process still has its one database listener: none was lost or doubled by the burst.
    const { rows } = await sql!.query<{ listeners: number }>(
      "SELECT count(*)::int AS listeners FROM pg_stat_activity WHERE application_name = 'fifo-gateway-listener'",
    );
    expect(rows[0]?.listeners).toBe(2);
  });
});
