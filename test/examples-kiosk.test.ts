// examples/kiosk, the typed client another team would write, against a real
// gateway: it takes a ticket over HTTP and follows it live over WebSocket.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announce, enqueueCase, followCase, KioskError, type CaseUpdate } from '../examples/kiosk/src/index.js';
import { PROJECT_ROOT } from '../src/config.js';
import { CallNextDocument } from '../src/generated/operations/graphql.js';
import * as given from './helpers/given.js';
import { expectData } from './helpers/graphql-client.js';
import { rowCounts, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

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

describe('npx tsx examples/kiosk/src/main.ts', () => {
  it('prints the ticket, each place, then where to go, and exits 0', async () => {
    const serviceId = (await given.service(t.db, { queueCode: 'C' })).id;
    await given.waitingCase(t.db, { serviceId });
    const kiosk = spawn(
      join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
      ['examples/kiosk/src/main.ts', '--url', t.gateway.url, '--service', String(serviceId)],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => kiosk.on('exit', resolve));
    const lines: string[] = [];
    const agents = new Map([
      [2, 'desk-1'],
      [1, 'desk-9'],
    ]);
    try {
      for await (const line of createInterface({ input: kiosk.stdout })) {
        lines.push(line);
        const place = Number(/you are number (\d+)/.exec(line)?.[1]);
        const agent = agents.get(place);
        agents.delete(place);
        if (agent !== undefined)
          expectData(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent } }));
      }
    } finally {
      kiosk.kill();
    }

    expect(await exited).toBe(0);
    const ticket = /^Your ticket is (C\d+)\.$/.exec(lines[0] ?? '')?.[1];
    expect(ticket, lines.join('\n')).toBeDefined();
    // Estimates depend on timing; places and the call do not. A place printed twice (its estimate moved) counts once.
    const places = lines.slice(1).map((line) => line.replace(/, about \d+ minutes?$/, ''));
    expect(places.filter((line, i) => line !== places[i - 1])).toEqual([
      `${ticket}: you are number 2`,
      `${ticket}: you are number 1`,
      `${ticket}: please go to desk-9`,
    ]);
  });
});

describe('the kiosk client is generated from the gateway schema', () => {
  const codegen = (env: Record<string, string>) =>
    promisify(execFile)(
      join(PROJECT_ROOT, 'node_modules', '.bin', 'graphql-codegen'),
      ['--config', 'examples/kiosk/codegen.ts', '--check'],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env } },
    );

  it('from a running gateway (SCHEMA_URL) makes the committed client, the same as from schema.graphql', async () => {
    await expect(codegen({ SCHEMA_URL: t.gateway.url })).resolves.toBeDefined();
    // The URL is what is read: a gateway that is not there fails the run.
    await expect(codegen({ SCHEMA_URL: await deadUrl() })).rejects.toMatchObject({ code: 1 });
  });
});
