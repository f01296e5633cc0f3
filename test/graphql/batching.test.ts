// Nested fields are batched per request: a page of cases with their service,
// customer, properties, history and position costs the same number of
// database statements whatever the page's size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueScreenDocument } from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let statements = 0;
let serviceId: number;

beforeAll(async () => {
  t = await startTestGateway({ onQuery: () => (statements += 1) });
  serviceId = (await given.service(t.db, { name: 'Busy', queueCode: 'B' })).id;
  const customerId = (await given.customer(t.db, { name: 'Regular' })).id;
  for (let index = 0; index < 30; index += 1)
    await given.waitingCase(t.db, { serviceId, customerId, customProperties: [{ key: 'n', value: String(index) }] });
});

afterAll(async () => {
  await t.stop();
});

async function statementsFor(first: number): Promise<{ count: number; positions: number[] }> {
  const before = statements;
  const data = expectData(await t.request(QueueScreenDocument, { serviceId, first }));
  const edges = data.service!.queue.edges;
  expect(edges).toHaveLength(first);
  for (const edge of edges) {
    expect(edge.node.position).toBe(edge.position);
    expect(edge.node.service.name).toBe('Busy');
    expect(edge.node.customer?.name).toBe('Regular');
    expect(edge.node.customProperties).toHaveLength(1);
    expect(edge.node.history.map((event) => event.action)).toEqual(['ENQUEUE']);
  }
  return { count: statements - before, positions: edges.map((edge) => edge.position) };
}

describe('batching nested fields', () => {
  it('costs as many statements for 30 cases as for 3', async () => {
    const small = await statementsFor(3);
    const large = await statementsFor(30);
    expect(small.positions).toEqual([1, 2, 3]);
    expect(large.positions).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
    expect(large.count).toBe(small.count);
    expect(large.count).toBeLessThanOrEqual(8);
  });
});
