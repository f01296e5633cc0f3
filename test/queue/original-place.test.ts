// returnToQueue(placement: ORIGINAL) puts a case back "where it first stood"
// (schema.graphql), whatever BACK and FRONT returns moved it before, and
// even among neighbours enqueued in the same millisecond (one group-commit
// batch, one clock reading). The queue is compared, after every return, with
// the order the schema describes, worked out here from first principles:
//   - a case never returned stands at (its enqueue time, its enqueue order);
//   - BACK: behind everyone waiting now;
//   - FRONT: ahead of everyone waiting now;
//   - ORIGINAL: at (its enqueue time, its enqueue order) again.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueuePlacement } from '../../src/generated/graphql.js';
import { OPEN_ACTOR } from '../../src/queue/actor.js';
import { createEnqueuer, type Enqueuer } from '../../src/queue/enqueue-case.js';
import { callCase, returnToQueue } from '../../src/queue/transitions.js';
import * as given from '../helpers/given.js';
import { startTestDatabaseClient, type TestDatabaseClient } from '../helpers/test-database-client.js';

let t: TestDatabaseClient;
let queue: Enqueuer;
const agent = 'desk-original';
const BURST = 8;
const PLACEMENTS: readonly QueuePlacement[] = ['BACK', 'FRONT', 'ORIGINAL'];

beforeAll(async () => {
  t = await startTestDatabaseClient();
  queue = createEnqueuer(t.db);
});

afterAll(async () => {
  await t.stop();
});

/** The waiting cases of a service, in the order call next takes them. */
async function waitingOrder(serviceId: number): Promise<number[]> {
  const rows = await t.db.case.findMany({
    where: { serviceId, status: 'WAITING' },
    orderBy: [{ queuedAt: 'asc' }, { queueSeq: 'asc' }],
    select: { id: true },
  });
  return rows.map((row) => row.id);
}

/**
 * A new service with BURST cases enqueued at once, behind a write into
 * another service that holds the shared lane: the BURST go together in the
 * next statement, with one clock reading, so only their sequence numbers
 * order them.
 */
async function burst(): Promise<{ serviceId: number; ids: number[] }> {
  const [serviceId, elsewhere] = await Promise.all([
    given.service(t.db, { queueCode: 'O' }).then((service) => service.id),
    given.service(t.db).then((service) => service.id),
  ]);
  const ahead = queue.enqueue({ serviceId: elsewhere, subject: 'ahead' }, OPEN_ACTOR);
  const cases = await Promise.all(
    Array.from({ length: BURST }, (_, index) => queue.enqueue({ serviceId, subject: `case ${index}` }, OPEN_ACTOR)),
  );
  await ahead;
  // The premise of the test: neighbours that share their enqueue time.
  expect(new Set(cases.map((enqueued) => enqueued.enqueuedAt.getTime())).size).toBe(1);
  return { serviceId, ids: cases.map((enqueued) => enqueued.id) };
}

/** The schema's order: each waiting case's place as a sortable key. */
class Model {
  private readonly place = new Map<number, readonly [number, number]>();
  private clock = 0;

  constructor(private readonly ids: readonly number[]) {
    ids.forEach((id, index) => this.place.set(id, [0, index]));
  }

  returned(id: number, placement: QueuePlacement): void {
    this.clock += 1;
    const others = [...this.place].filter(([other]) => other !== id).map(([, key]) => key[0]);
    // Each return draws a sequence number after every enqueue's.
    const seq = this.ids.length + this.clock;
    if (placement === 'BACK') this.place.set(id, [this.clock, seq]);
    else if (placement === 'FRONT') this.place.set(id, [Math.min(this.clock, ...others) - 1, seq]);
    else this.place.set(id, [0, this.ids.indexOf(id)]);
  }

  order(): number[] {
    return [...this.place].sort(([, a], [, b]) => a[0] - b[0] || a[1] - b[1]).map(([id]) => id);
  }
}

/** Calls each case out of turn and returns it as told, checking the queue against the model after each. */
async function replay(steps: readonly (readonly [number, QueuePlacement])[]): Promise<void> {
  const { serviceId, ids } = await burst();
  const model = new Model(ids);
  expect(await waitingOrder(serviceId)).toEqual(model.order());
  for (const [index, placement] of steps) {
    const caseId = ids[index % ids.length] ?? 0;
    await callCase(t.db, { caseId, agent }, OPEN_ACTOR);
    await returnToQueue(t.db, { caseId, agent, placement, reason: 'test' }, OPEN_ACTOR);
    model.returned(caseId, placement);
    expect(await waitingOrder(serviceId), `after ${JSON.stringify(steps)}`).toEqual(model.order());
  }
}

describe('an ORIGINAL return', () => {
  it('puts a case back at its first place after a BACK return (the case of issue 16)', async () => {
    const { serviceId, ids } = await burst();
    const second = ids[1] ?? 0;
    for (const placement of ['BACK', 'ORIGINAL'] as const) {
      await callCase(t.db, { caseId: second, agent }, OPEN_ACTOR);
      await returnToQueue(t.db, { caseId: second, agent, placement, reason: 'test' }, OPEN_ACTOR);
    }
    expect(await waitingOrder(serviceId)).toEqual(ids);
  });

  // Every sequence of up to three returns of the second case: 3 + 9 + 27.
  const sequences = [1, 2, 3].flatMap((length) =>
    Array.from({ length: PLACEMENTS.length ** length }, (_, n) =>
      Array.from(
        { length },
        (_, digit) => PLACEMENTS[Math.floor(n / PLACEMENTS.length ** digit) % PLACEMENTS.length] ?? 'BACK',
      ),
    ),
  );
  it.each(sequences.map((sequence) => [sequence.join(' → '), sequence] as const))(
    'keeps the order the schema describes: %s',
    async (_name, sequence) => {
      await replay(sequence.map((placement) => [1, placement] as const));
    },
  );

  it('keeps the order the schema describes for any returns of any cases', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: BURST - 1 }), fc.constantFrom(...PLACEMENTS)), {
          minLength: 1,
          maxLength: 8,
        }),
        async (steps) => replay(steps),
      ),
      { numRuns: 25 },
    );
  });
});
