// Two gateway OS processes on one database, the first with its embedded
// server, the second pointed at it by DATABASE_URL: agents calling next on
// both, while cases are enqueued through both, get every case exactly once,
// each service's cases in queue order.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallNextDocument,
  CompleteCaseDocument,
  CreateServiceDocument,
  EnqueueCaseDocument,
} from '../../src/generated/operations/graphql.js';
import { expectData, graphqlClient, type Client } from '../helpers/graphql-client.js';
import { expectHandedOutInQueueOrder, type HandOut } from '../helpers/hand-outs.js';
import { startProcessPair, type GatewayProcess, type ProcessPair } from './helpers/gateway-process.js';

const CASES = 400;
/** Bounds each agent's loop: far more calls than cases, so only a bug reaches it. */
const MAX_CALLS_PER_AGENT = 5_000;

let pair: ProcessPair | undefined;
let first: GatewayProcess;
let second: GatewayProcess;
let sql: pg.Client | undefined;

beforeAll(async () => {
  pair = await startProcessPair();
  ({ first, second, sql } = pair);
});

afterAll(async () => {
  await pair?.stop();
});

describe('two gateway processes on one database', () => {
  it('hand every case out exactly once, oldest first per service', async () => {
    const gateways: Client[] = [graphqlClient(first.url), graphqlClient(second.url)];
    const [serviceA, serviceB] = await Promise.all(
      ['A', 'B'].map(
        async (code, index) =>
          expectData(
            await gateways[index]!(CreateServiceDocument, {
              input: { name: `Two processes ${code}`, extRef: `TWO-${code}`, queueCode: code },
            }),
          ).createService.id,
      ),
    );
    const services = [serviceA!, serviceB!];

    let enqueuing = true;
    const enqueues = Promise.all(
      Array.from({ length: CASES }, async (_, index) => {
        const response = await gateways[index % 2]!(EnqueueCaseDocument, {
          input: { serviceId: services[Math.floor(index / 2) % 2]!, subject: `case ${index}` },
        });
        return expectData(response).enqueueCase;
      }),
    ).finally(() => {
      enqueuing = false;
    });

    // Four desks on each gateway: one per service, two serving both.
    const desks = [[serviceA!], [serviceB!], services, services];
    const handOuts: HandOut[] = [];
    const agents = gateways.flatMap((request, gateway) =>
      desks.map(async (serviceIds, desk) => {
        const agent = `g${gateway}-desk-${desk}`;
        for (let call = 0; call < MAX_CALLS_PER_AGENT; call++) {
          const wasEnqueuing = enqueuing;
          const sent = performance.now();
          const { callNext } = expectData(await request(CallNextDocument, { input: { serviceIds, agent } }));
          const answered = performance.now();
          if (!callNext) {
            // Empty only counts once the enqueues are over.
            if (!wasEnqueuing) return;
            continue;
          }
          expect(callNext.lastAgent).toBe(agent);
          handOuts.push({ caseId: callNext.id, serviceId: callNext.service.id, sent, answered });
          expectData(await request(CompleteCaseDocument, { input: { caseId: callNext.id, agent } }));
        }
        throw new Error(`${agent} made ${MAX_CALLS_PER_AGENT} calls without seeing an empty queue`);
      }),
    );
    const enqueued = await enqueues;
    await Promise.all(agents);

    // Exactly once, across both processes.
    const handedIds = handOuts.map((handOut) => handOut.caseId);
    expect(new Set(handedIds).size).toBe(handedIds.length);
    expect([...handedIds].sort((a, b) => a - b)).toEqual(enqueued.map((each) => each.caseId).sort((a, b) => a - b));

    expect(await expectHandedOutInQueueOrder(sql!, services, handOuts)).toBe(CASES);

    // The history agrees: one call and one completion per case.
    const events = await sql!.query<{ action: string; count: number }>(
      `SELECT action::text, count(*)::int AS count FROM case_events e JOIN cases c ON c.id = e.case_id
        WHERE c.service_id = ANY($1) GROUP BY action ORDER BY action`,
      [services],
    );
    expect(events.rows).toEqual([
      { action: 'CALL_NEXT', count: CASES },
      { action: 'COMPLETE', count: CASES },
      { action: 'ENQUEUE', count: CASES },
    ]);
  });
});
