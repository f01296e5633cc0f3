// The multi-process exactly-once judgement: cases enqueued through every
// client while agents on every client call next on two services; each case
// must be handed out exactly once, each service's cases in queue order, and
// the history must agree. The clients may be separate gateway processes or
// one port served by several workers.
import type pg from 'pg';
import { expect } from 'vitest';
import {
  CallNextDocument,
  CompleteCaseDocument,
  CreateServiceDocument,
  EnqueueCaseDocument,
} from '../../src/generated/operations/graphql.js';
import { expectData, type Client } from './graphql-client.js';
import { expectHandedOutInQueueOrder, type HandOut } from './hand-outs.js';

export interface ExactlyOnceOptions {
  /** Cases enqueued, spread over the clients and the two services. */
  readonly cases: number;
  /** Makes the services' names and references unique in their database. */
  readonly tag: string;
}

/** Bounds each agent's loop: far more calls than cases, so only a bug reaches it. */
const MAX_CALLS_PER_AGENT = 5_000;

export async function expectEveryCaseHandedOutOnce(
  clients: readonly Client[],
  sql: pg.ClientBase,
  { cases, tag }: ExactlyOnceOptions,
): Promise<void> {
  const first = clients[0];
  if (!first) throw new Error('no client');
  const [serviceA, serviceB] = await Promise.all(
    ['A', 'B'].map(
      async (code, index) =>
        expectData(
          await (clients[index % clients.length] ?? first)(CreateServiceDocument, {
            input: { name: `${tag} ${code}`, extRef: `${tag}-${code}`, queueCode: code },
          }),
        ).createService.id,
    ),
  );
  const services = [serviceA ?? 0, serviceB ?? 0];

  let enqueuing = true;
  const enqueues = Promise.all(
    Array.from({ length: cases }, async (_, index) => {
      const response = await (clients[index % clients.length] ?? first)(EnqueueCaseDocument, {
        input: { serviceId: services[Math.floor(index / 2) % 2] ?? 0, subject: `case ${index}` },
      });
      return expectData(response).enqueueCase;
    }),
  ).finally(() => {
    enqueuing = false;
  });

  // Four desks on each client: one per service, two serving both.
  const desks = [[services[0] ?? 0], [services[1] ?? 0], services, services];
  const handOuts: HandOut[] = [];
  const agents = clients.flatMap((request, client) =>
    desks.map(async (serviceIds, desk) => {
      const agent = `c${client}-desk-${desk}`;
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

  // Exactly once, across every client.
  const handedIds = handOuts.map((handOut) => handOut.caseId);
  expect(new Set(handedIds).size).toBe(handedIds.length);
  expect([...handedIds].sort((a, b) => a - b)).toEqual(enqueued.map((each) => each.caseId).sort((a, b) => a - b));

  expect(await expectHandedOutInQueueOrder(sql, services, handOuts)).toBe(cases);

  // The history agrees: one call and one completion per case.
  const events = await sql.query<{ action: string; count: number }>(
    `SELECT action::text, count(*)::int AS count FROM case_events e JOIN cases c ON c.id = e.case_id
      WHERE c.service_id = ANY($1) GROUP BY action ORDER BY action`,
    [services],
  );
  expect(events.rows).toEqual([
    { action: 'CALL_NEXT', count: cases },
    { action: 'COMPLETE', count: cases },
    { action: 'ENQUEUE', count: cases },
  ]);
}
