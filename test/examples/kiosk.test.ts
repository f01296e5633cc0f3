// examples/kiosk, the typed client another team would write, against a real
// gateway: it takes a ticket over HTTP and follows it live over WebSocket,
// on a gateway running open and on one that requires credentials.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { announce, enqueueCase, followCase, KioskError, type CaseUpdate } from '../../examples/kiosk/src/index.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { CallNextDocument } from '../../src/generated/operations/graphql.js';
import { issueKey, type TestKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { expectData, graphqlClient } from '../helpers/graphql-client.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

/** The environment of a child process, without a kiosk key of the developer's own unless one is given. */
function childEnv(env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const { KIOSK_API_KEY: _ignored, ...rest } = process.env;
  return { ...rest, ...env };
}

/** An http URL on a loopback port nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}/graphql`;
}

describe('the kiosk takes a ticket', () => {
  it('enqueues with the typed enqueueCase mutation and learns its place', async () => {
    const serviceId = (await given.service(t.db, { queueCode: 'K' })).id;
    await given.waitingCase(t.db, { serviceId });
    await given.waitingCase(t.db, { serviceId });

    const ticket = await enqueueCase(t.gateway.url, { serviceId });

    expect(ticket).toMatchObject({ status: 'WAITING', position: 3 });
    const { rows } = await t.sql.query('SELECT ticket, status, service_id FROM cases WHERE id = $1', [ticket.caseId]);
    expect(rows).toEqual([{ ticket: ticket.ticket, status: 'WAITING', service_id: serviceId }]);
  });

  it('names the service by its external reference, as the README and the explorer do (ENR)', async () => {
    const extRef = `ENR-${randomUUID().slice(0, 8)}`;
    const serviceId = (await given.service(t.db, { extRef })).id;
    const ticket = await enqueueCase(t.gateway.url, { serviceExtRef: extRef });
    expect(ticket).toMatchObject({ status: 'WAITING', position: 1 });
    const { rows } = await t.sql.query('SELECT service_id FROM cases WHERE id = $1', [ticket.caseId]);
    expect(rows).toEqual([{ service_id: serviceId }]);
    await expect(enqueueCase(t.gateway.url, { serviceExtRef: 'NO-SUCH-SERVICE' })).rejects.toMatchObject({
      code: 'REFUSED',
      gatewayCode: 'NOT_FOUND',
    });
  });

  it('sends the same case again for a retry with the same idempotency key', async () => {
    const serviceId = (await given.service(t.db)).id;
    const first = await enqueueCase(t.gateway.url, { serviceId, idempotencyKey: `kiosk-${serviceId}` });
    const retry = await enqueueCase(t.gateway.url, { serviceId, idempotencyKey: `kiosk-${serviceId}` });
    expect(retry).toEqual(first);
  });

  it('reports a refusal with the gateway code, and nothing is written', async () => {
    const before = await rowCounts(t.sql);
    const refused = await enqueueCase(t.gateway.url, { serviceId: 2_000_000_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KioskError);
    expect(refused).toMatchObject({ code: 'REFUSED', gatewayCode: 'NOT_FOUND' });
    expect((refused as KioskError).message).toContain('2000000000');
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('reports a gateway it cannot reach, and a URL that is not http', async () => {
    await expect(enqueueCase(await deadUrl(), { serviceId: 1 })).rejects.toMatchObject({ code: 'UNREACHABLE' });
    await expect(enqueueCase('ftp://127.0.0.1/graphql', { serviceId: 1 })).rejects.toMatchObject({
      code: 'BAD_URL',
    });
  });
});

describe('the kiosk says where the case stands', () => {
  it('place and wait in whole minutes rounded up, then where to go', () => {
    const waiting = { status: 'WAITING', lastAgent: null } as const;
    expect(announce({ ...waiting, position: 3, estimatedWaitSeconds: 200 })).toBe('you are number 3, about 4 minutes');
    expect(announce({ ...waiting, position: 1, estimatedWaitSeconds: 5 })).toBe('you are number 1, about 1 minute');
    expect(announce({ ...waiting, position: 2, estimatedWaitSeconds: null })).toBe('you are number 2');
    const called = { status: 'IN_SERVICE', position: null, estimatedWaitSeconds: null } as const;
    expect(announce({ ...called, lastAgent: 'desk 7' })).toBe('please go to desk 7');
    expect(announce({ ...called, status: 'CANCELLED', lastAgent: 'desk 7' })).toBe('your case was cancelled');
  });
});

// Needs the WebSocket subscription server (src/live/) on the gateway's /graphql path.
describe('the kiosk follows its case live', () => {
  it('counts down 3, 2, 1 as an agent calls, then sends the person to the agent who called', async () => {
    const serviceId = (await given.service(t.db, { queueCode: 'L' })).id;
    const ahead = [await given.waitingCase(t.db, { serviceId }), await given.waitingCase(t.db, { serviceId })];
    const ticket = await enqueueCase(t.gateway.url, { serviceId });
    const agents = ['desk-1', 'desk-2', 'desk-3'];
    const handedOut: number[] = [];
    const seen: CaseUpdate[] = [];

    for await (const update of followCase(t.gateway.url, ticket.caseId, { retryAttempts: 0 })) {
      seen.push(update);
      if (seen.length > 20) break; // bounded: more updates than this is a failure the assertions show
      // One call per place the kiosk has seen: each place is seen before the next call moves it.
      if (update.status === 'WAITING' && update.position === 3 - handedOut.length) {
        const agent = agents[handedOut.length] ?? 'nobody';
        const called = expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent } }));
        handedOut.push(called.callNext!.id);
      }
    }

    expect(handedOut).toEqual([ahead[0]!.id, ahead[1]!.id, ticket.caseId]);
    const places = seen.filter((update) => update.status === 'WAITING').map((update) => update.position);
    // A place may come twice (its estimate moved), never out of order.
    expect(places.filter((place, i) => place !== places[i - 1])).toEqual([3, 2, 1]);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({
      caseId: ticket.caseId,
      ticket: ticket.ticket,
      status: 'IN_SERVICE',
      lastAgent: 'desk-3',
    });
    expect(announce(last)).toBe('please go to desk-3');
    expect(announce(seen[0]!)).toMatch(/^you are number 3(, about \d+ minutes?)?$/);
  });

  it('reports a case that does not exist as a refusal', async () => {
    const updates = followCase(t.gateway.url, 2_000_000_000, { retryAttempts: 0 });
    await expect(updates.next()).rejects.toMatchObject({ code: 'REFUSED', gatewayCode: 'NOT_FOUND' });
  });
});

/** What the command printed and how it ended. */
interface KioskRun {
  readonly exitCode: number | null;
  readonly lines: readonly string[];
  readonly stderr: string;
}

/**
 * Runs the command for a service (`--service`: an external reference, or an id) with `env` added
 * to a clean environment; `onPlace` is called, and awaited, for each "you are number N" line
 * before the next line is read.
 */
async function runKiosk(
  url: string,
  service: string | number,
  env: Readonly<Record<string, string>>,
  onPlace: (place: number) => Promise<void>,
): Promise<KioskRun> {
  const kiosk = spawn(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
    ['examples/kiosk/src/main.ts', '--url', url, '--service', String(service)],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) },
  );
  const exited = new Promise<number | null>((resolve) => kiosk.on('exit', resolve));
  let stderr = '';
  kiosk.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines: string[] = [];
  try {
    for await (const line of createInterface({ input: kiosk.stdout })) {
      lines.push(line);
      const place = /you are number (\d+)/.exec(line)?.[1];
      if (place !== undefined) await onPlace(Number(place));
    }
  } finally {
    kiosk.kill();
  }
  return { exitCode: await exited, lines, stderr };
}

/** The lines after the ticket's, without estimates (they depend on timing), a place printed twice once. */
function placesOf(lines: readonly string[]): string[] {
  const places = lines.slice(1).map((line) => line.replace(/, about \d+ minutes?$/, ''));
  return places.filter((line, i) => line !== places[i - 1]);
}

/** Calls the next case of a service at most once per place: a place is printed again when its estimate moves. */
function callOncePerPlace(agents: ReadonlyMap<number, string>, call: (agent: string) => Promise<void>) {
  const left = new Map(agents);
  return async (place: number): Promise<void> => {
    const agent = left.get(place);
    left.delete(place);
    if (agent !== undefined) await call(agent);
  };
}

const AGENTS_BY_PLACE = new Map([
  [2, 'desk-1'],
  [1, 'desk-9'],
]);

describe('npx tsx examples/kiosk/src/main.ts', () => {
  it('prints the ticket, each place, then where to go, and exits 0 (--service by external reference)', async () => {
    const extRef = `ENR-${randomUUID().slice(0, 8)}`;
    const serviceId = (await given.service(t.db, { queueCode: 'C', extRef })).id;
    await given.waitingCase(t.db, { serviceId });
    const run = await runKiosk(
      t.gateway.url,
      extRef,
      {},
      callOncePerPlace(AGENTS_BY_PLACE, async (agent) => {
        expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent } }));
      }),
    );

    expect(run.exitCode, run.stderr).toBe(0);
    const ticket = /^Your ticket is (C\d+)\.$/.exec(run.lines[0] ?? '')?.[1];
    expect(ticket, run.lines.join('\n')).toBeDefined();
    expect(placesOf(run.lines)).toEqual([
      `${ticket}: you are number 2`,
      `${ticket}: you are number 1`,
      `${ticket}: please go to desk-9`,
    ]);
  });
});

// A stand-in for a gateway that refuses the credential of connection_init, to
// count how often the kiosk comes back: the real gateway closes with 4401,
// and graphql-ws's own servers with 4403.
describe("the kiosk's live connection, refused for its credential", () => {
  it.each([
    [4401, 'UNAUTHENTICATED'],
    [4403, 'FORBIDDEN'],
  ])('closed with %i: sends the key in connection_init, and gives up at once with %s', async (closeCode, code) => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const inits: unknown[] = [];
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer) => {
        inits.push(JSON.parse(data.toString('utf8')));
        socket.close(closeCode, 'Unauthorized');
      });
    });
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const updates = followCase(`http://127.0.0.1:${address.port}/graphql`, 1, {
        apiKey: 'fcq_abcdefghijkm_secret',
        receipt: 'a-receipt',
        retryAttempts: 8,
      });
      const refused = await updates.next().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(KioskError);
      expect(refused).toMatchObject({ code });
      // One connection: no retry, however many attempts are allowed.
      expect(inits).toEqual([
        { type: 'connection_init', payload: { authorization: 'Bearer fcq_abcdefghijkm_secret' } },
      ]);
      // The message names the problem, never the key.
      expect((refused as KioskError).message).not.toContain('fcq_');
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the kiosk client is generated from the gateway schema', () => {
  it('from a running gateway (SCHEMA_URL) makes the committed client, the same as from schema.graphql', async () => {
    await expect(codegen({ SCHEMA_URL: t.gateway.url })).resolves.toBeDefined();
    // The URL is what is read: a gateway that is not there fails the run.
    await expect(codegen({ SCHEMA_URL: await deadUrl() })).rejects.toMatchObject({ code: 1 });
  });
});

/** `graphql-codegen --check` for the kiosk, with `env` added to a clean environment. */
function codegen(env: Record<string, string>) {
  return promisify(execFile)(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'graphql-codegen'),
    ['--config', 'examples/kiosk/codegen.ts', '--check'],
    { cwd: PROJECT_ROOT, env: childEnv(env) },
  );
}

describe('on a gateway that requires credentials (AUTH_MODE=required)', () => {
  let locked: TestGateway;
  let kioskKey: TestKey;
  let agentKey: TestKey;
  /** The agent's desk, calling over GraphQL with its own key. */
  let callNext: (serviceId: number, agent: string) => Promise<number | undefined>;

  /** Credentials the gateway refused, counted from its log (src/http/admission.ts logs each). */
  let refusedCredentials = 0;
  const log: Logger = {
    ...silentLogger,
    info: (message) => {
      if (message === 'credential refused') refusedCredentials += 1;
    },
  };

  beforeAll(async () => {
    locked = await startTestGateway({}, { AUTH_MODE: 'required' }, log);
    kioskKey = await issueKey(locked.db, 'KIOSK');
    agentKey = await issueKey(locked.db, 'AGENT');
    const asAgent = graphqlClient(locked.gateway.url, { authorization: agentKey.authorization });
    callNext = async (serviceId, agent) =>
      expectData(await asAgent(CallNextDocument, { input: { serviceIds: [serviceId], agent } })).callNext?.id;
  });

  afterAll(async () => {
    await locked.stop();
  });

  it("with a kiosk key: takes a ticket, follows it with the ticket's receipt, and is sent to the agent who called", async () => {
    const serviceId = (await given.service(locked.db, { queueCode: 'Q' })).id;
    const ahead = await given.waitingCase(locked.db, { serviceId });
    const ticket = await enqueueCase(locked.gateway.url, { serviceId }, { apiKey: kioskKey.secret });
    expect(ticket).toMatchObject({ status: 'WAITING', position: 2 });
    // 16 bytes of MAC, base64url.
    expect(ticket.receipt).toMatch(/^[\w-]{22}$/);

    const handedOut: (number | undefined)[] = [];
    const seen: CaseUpdate[] = [];
    const updates = followCase(locked.gateway.url, ticket.caseId, {
      receipt: ticket.receipt,
      apiKey: kioskKey.secret,
      retryAttempts: 0,
    });
    for await (const update of updates) {
      seen.push(update);
      if (seen.length > 20) break; // bounded: more updates than this is a failure the assertions show
      if (update.status === 'WAITING' && update.position === 2 - handedOut.length)
        handedOut.push(await callNext(serviceId, handedOut.length === 0 ? 'desk-1' : 'desk-7'));
    }

    expect(handedOut).toEqual([ahead.id, ticket.caseId]);
    const places = seen.filter((update) => update.status === 'WAITING').map((update) => update.position);
    expect(places.filter((place, i) => place !== places[i - 1])).toEqual([2, 1]);
    expect(seen.at(-1)).toMatchObject({ caseId: ticket.caseId, status: 'IN_SERVICE', lastAgent: 'desk-7' });
  });

  it('without a key: UNAUTHENTICATED at once, over HTTP and over WebSocket, and nothing is written', async () => {
    const serviceId = (await given.service(locked.db)).id;
    const before = await rowCounts(locked.sql);
    const refused = await enqueueCase(locked.gateway.url, { serviceId }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KioskError);
    expect(refused).toMatchObject({ code: 'UNAUTHENTICATED', gatewayCode: 'UNAUTHENTICATED' });
    expect((refused as KioskError).message).toMatch(/wants a kiosk API key/);
    expect(await rowCounts(locked.sql)).toEqual(before);

    // With the default retries (8): a refused credential is tried once, not again for minutes.
    const { caseId, receipt } = await enqueueCase(locked.gateway.url, { serviceId }, { apiKey: kioskKey.secret });
    const refusalsBefore = refusedCredentials;
    const updates = followCase(locked.gateway.url, caseId, { receipt });
    await expect(updates.next()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(refusedCredentials - refusalsBefore).toBe(1);
  });

  it('with a key the gateway does not accept: UNAUTHENTICATED, saying the key was refused', async () => {
    const forged = `${kioskKey.secret.slice(0, -1)}${kioskKey.secret.endsWith('A') ? 'B' : 'A'}`;
    const refused = await enqueueCase(locked.gateway.url, { serviceId: 1 }, { apiKey: forged }).catch(
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((refused as KioskError).message).toMatch(/did not accept the kiosk API key/);
    expect((refused as KioskError).message).not.toContain(forged);
    // A key with white space inside is not sent at all.
    await expect(enqueueCase(locked.gateway.url, { serviceId: 1 }, { apiKey: 'fcq_a b' })).rejects.toMatchObject({
      code: 'BAD_KEY',
    });
  });

  it("FORBIDDEN: following without the receipt or with another case's, a screen's key; another service is not there", async () => {
    const serviceId = (await given.service(locked.db)).id;
    const mine = await enqueueCase(locked.gateway.url, { serviceId }, { apiKey: kioskKey.secret });
    const other = await enqueueCase(locked.gateway.url, { serviceId }, { apiKey: kioskKey.secret });
    const follow = (caseId: number, receipt?: string) =>
      followCase(locked.gateway.url, caseId, { receipt, apiKey: kioskKey.secret, retryAttempts: 0 }).next();
    await expect(follow(mine.caseId)).rejects.toMatchObject({ code: 'FORBIDDEN', gatewayCode: 'FORBIDDEN' });
    await expect(follow(other.caseId, mine.receipt)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Its own receipt still works.
    await expect(follow(mine.caseId, mine.receipt)).resolves.toMatchObject({ value: { caseId: mine.caseId } });

    const screenKey = await issueKey(locked.db, 'SCREEN');
    const refused = await enqueueCase(locked.gateway.url, { serviceId }, { apiKey: screenKey.secret }).catch(
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'FORBIDDEN', gatewayCode: 'FORBIDDEN' });
    expect((refused as KioskError).message).toContain('Mutation.enqueueCase');
    // A kiosk key limited to another service: to it, this service is not there.
    const elsewhere = await issueKey(locked.db, 'KIOSK', [(await given.service(locked.db)).id]);
    await expect(enqueueCase(locked.gateway.url, { serviceId }, { apiKey: elsewhere.secret })).rejects.toMatchObject({
      code: 'REFUSED',
      gatewayCode: 'NOT_FOUND',
    });
  });

  it('the command, with KIOSK_API_KEY in its environment, takes a ticket and follows it to the call', async () => {
    const serviceId = (await given.service(locked.db, { queueCode: 'R' })).id;
    await given.waitingCase(locked.db, { serviceId });
    const run = await runKiosk(
      locked.gateway.url,
      serviceId,
      { KIOSK_API_KEY: kioskKey.secret },
      callOncePerPlace(AGENTS_BY_PLACE, async (agent) => {
        await callNext(serviceId, agent);
      }),
    );

    expect(run.exitCode, run.stderr).toBe(0);
    const ticket = /^Your ticket is (R\d+)\.$/.exec(run.lines[0] ?? '')?.[1];
    expect(ticket, run.lines.join('\n')).toBeDefined();
    expect(placesOf(run.lines)).toEqual([
      `${ticket}: you are number 2`,
      `${ticket}: you are number 1`,
      `${ticket}: please go to desk-9`,
    ]);
  });

  it('the command without a key exits 1 and says where a key goes', async () => {
    const serviceId = (await given.service(locked.db)).id;
    const run = await runKiosk(locked.gateway.url, serviceId, {}, () => Promise.resolve());
    expect(run.exitCode).toBe(1);
    expect(run.lines).toEqual([]);
    expect(run.stderr).toMatch(/wants a kiosk API key.*KIOSK_API_KEY.*\[UNAUTHENTICATED\]/);
  });

  it('codegen reads the schema from it with KIOSK_API_KEY, and is refused without', async () => {
    await expect(codegen({ SCHEMA_URL: locked.gateway.url, KIOSK_API_KEY: kioskKey.secret })).resolves.toBeDefined();
    await expect(codegen({ SCHEMA_URL: locked.gateway.url })).rejects.toMatchObject({ code: 1 });
  });
});
