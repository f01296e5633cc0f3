// Agents calling next while cases are being enqueued, all at once: every
// case handed out exactly once, in FIFO order per service, tickets unique,
// and nobody stuck.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallNextDocument, CompleteCaseDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData } from '../helpers/graphql-client.js';
import { expectHandedOutInQueueOrder, type HandOut } from '../helpers/hand-outs.js';
import { gatewayGroup, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
const CASES = 500;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

interface AgentHandOut extends HandOut {
  readonly agent: string;
}

describe('8 agents calling next on 2 services while 500 cases are enqueued', () => {
  it('hands every case out exactly once, oldest first, with unique tickets', async () => {
    const [serviceA, serviceB] = await Promise.all([
      given.service(t.db, { name: 'Race A', queueCode: 'RA' }).then((service) => service.id),
      given.service(t.db, { name: 'Race B', queueCode: 'RB' }).then((service) => service.id),
    ]);
    const services = [serviceA, serviceB];
    // Three agents serve A, three serve B, two serve both.
    const desks = [[serviceA], [serviceA], [serviceA], [serviceB], [serviceB], [serviceB], services, services];

    let enqueuing = true;
    const enqueues = Promise.all(
      Array.from({ length: CASES }, async (_, index) => {
        const response = await t.request(EnqueueCaseDocument, {
          input: { serviceId: services[index % 2]!, subject: `case ${index}` },
        });
        return expectData(response).enqueueCase;
      }),
    ).finally(() => {
      enqueuing = false;
    });

    const handOuts: AgentHandOut[] = [];
    const agents = desks.map(async (serviceIds, desk) => {
      const agent = `desk-${desk}`;
      for (;;) {
        const wasEnqueuing = enqueuing;
        const sent = performance.now();
        const { callNext } = expectData(await t.request(CallNextDocument, { input: { serviceIds, agent } }));
        const answered = performance.now();
        if (!callNext) {
          // Empty only counts once the enqueues are over.
          if (!wasEnqueuing) return;
          continue;
        }
        expect(callNext.status).toBe('IN_SERVICE');
        expect(callNext.lastAgent).toBe(agent);
        handOuts.push({ caseId: callNext.id, serviceId: callNext.service.id, agent, sent, answered });
        expectData(await t.request(CompleteCaseDocument, { input: { caseId: callNext.id, agent } }));
      }
    });
    const enqueued = await enqueues;
    await Promise.all(agents);

    // Exactly once.
    const handedIds = handOuts.map((handOut) => handOut.caseId);
    expect(new Set(handedIds).size).toBe(handedIds.length);
    expect([...handedIds].sort((a, b) => a - b)).toEqual(enqueued.map((each) => each.caseId).sort((a, b) => a - b));

    // Tickets: unique within each service and day, and all of them.
    for (const service of services) {
      const tickets = enqueued.filter((each) => each.serviceId === service).map((each) => each.ticket);
      expect(new Set(tickets).size).toBe(CASES / 2);
    }

    await expectHandedOutInQueueOrder(t.sql, services, handOuts);

    // The history agrees: one call and one completion per case.
    const events = await t.sql.query<{ action: string; count: number }>(
      `SELECT action::text, count(*)::int AS count FROM case_events e JOIN cases c ON c.id = e.case_id
        WHERE c.service_id = ANY($1) GROUP BY action ORDER BY action`,
      [services],
    );
    expect(events.rows).toEqual(
      [
        { action: 'ENQUEUE', count: CASES },
        { action: 'CALL_NEXT', count: CASES },
        { action: 'COMPLETE', count: CASES },
      ].sort((a, b) => a.action.localeCompare(b.action)),
    );
  });
});

describe('24 agents on three gateways calling next on one queue of 600 cases', () => {
  it('hand every case to exactly one agent', async () => {
    const group = await gatewayGroup(t, 2);
    try {
      const { clients } = group;
      const serviceId = (await given.service(t.db, { name: 'Hall', queueCode: 'H' })).id;
      for (let index = 0; index < 600; index += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, offset) =>
            given.waitingCase(t.db, { serviceId, subject: `case ${index + offset}` }),
          ),
        );
      }
      const handed = new Map<number, string[]>();
      await Promise.all(
        Array.from({ length: 24 }, async (_, desk) => {
          const agent = `hall-desk-${desk}`;
          for (;;) {
            const { callNext } = expectData(
              await clients[desk % 3]!(CallNextDocument, { input: { serviceIds: [serviceId], agent } }),
            );
            if (!callNext) return;
            expect(callNext.lastAgent).toBe(agent);
            handed.set(callNext.id, [...(handed.get(callNext.id) ?? []), agent]);
          }
        }),
      );
      expect(handed.size).toBe(600);
      for (const [caseId, agents] of handed) expect(agents, `case ${caseId}`).toHaveLength(1);
      const { rows } = await t.sql.query<{ calls: number; agents: number }>(
        `SELECT count(*)::int AS calls, count(DISTINCT e.case_id)::int AS agents FROM case_events e JOIN cases c ON c.id = e.case_id
          WHERE c.service_id = $1 AND e.action = 'CALL_NEXT'`,
        [serviceId],
      );
      expect(rows[0]).toEqual({ calls: 600, agents: 600 });
    } finally {
      await group.stop();
    }
  });
});
