// The HTTP edge: malformed and hostile requests get clear 4xx answers, never
// a crash or a 500; health reports the database; shutdown is bounded.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway.js';
import { MAX_BODY_BYTES } from '../../src/http/body.js';
import { silentLogger } from '../../src/log.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

const post = (body: string, contentType = 'application/json') =>
  fetch(t.gateway.url, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('HTTP edge', () => {
  it('answers health with the database up', async () => {
    const response = await fetch(new URL('/health', t.gateway.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers 404 for other paths, pointing at /graphql', async () => {
    const response = await fetch(new URL('/nowhere', t.gateway.url));
    expect(response.status).toBe(404);
    expect(JSON.stringify(await response.json())).toContain('/graphql');
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await post('{"query": ');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('answers 413 for a body over the limit without reading it all', async () => {
    const response = await post(JSON.stringify({ query: '{ services { id } }', padding: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(response.status).toBe(413);
  });

  it('refuses a POST that is not JSON (cross-site request protection)', async () => {
    const response = await post('query=%7B%20services%20%7B%20id%20%7D%20%7D', 'application/x-www-form-urlencoded');
    expect(response.status).toBe(400);
  });

  it('answers a wrongly typed variable with BAD_USER_INPUT, not 500', async () => {
    const response = await post(
      JSON.stringify({
        query: 'mutation($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId } }',
        variables: { input: { serviceId: 'one' } },
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
  });

  it('answers an Int beyond 32 bits with BAD_USER_INPUT, not a database error', async () => {
    const response = await post(
      JSON.stringify({ query: 'mutation { enqueueCase(input: { serviceId: 4294967296 }) { caseId } }' }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
  });

  it('serves introspection for explorers and client generators', async () => {
    const response = await post(
      JSON.stringify({ query: '{ __type(name: "CaseEnqueueInput") { inputFields { name } } }' }),
    );
    const body = (await response.json()) as { data: { __type: { inputFields: { name: string }[] } } };
    expect(body.data.__type.inputFields.map((field) => field.name)).toContain('serviceIdExtRef');
  });
});

describe('shutdown', () => {
  it("closes a stalled client's connection after the grace period instead of waiting for it", async () => {
    const database = await createTestDatabase(inject('serverUrl'));
    const gateway = await startGateway(
      loadConfig({ DATABASE_URL: database.url, PORT: '0', SHUTDOWN_GRACE_MS: '300' }),
      silentLogger,
    );
    try {
      const { port } = new URL(gateway.url);
      // Sends headers and half a body, then stalls.
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":',
      );
      const socketClosed = new Promise((resolve) => socket.once('close', resolve));
      const started = Date.now();
      await gateway.stop();
      await socketClosed;
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await database.drop();
    }
  });
});

describe('operation limits', () => {
  const nested = (levels: number): string => {
    // service -> queue -> edges -> node -> service -> queue -> ...
    let selection = 'id';
    for (let level = 0; level < levels; level += 1) selection = `service { queue { edges { node { ${selection} } } } }`;
    return `query Deep($id: Int!) { case(id: $id) { ${selection} } }`;
  };

  it('refuses a query nested beyond the limit, before reading anything', async () => {
    const response = await post(JSON.stringify({ query: nested(3), variables: { id: 1 } }));
    expect(response.status).toBe(400);
    const { errors } = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(errors.map((error) => error.extensions)).toContainEqual({
      code: 'GRAPHQL_VALIDATION_FAILED',
      rule: 'maxDepth',
      maxDepth: 10,
      depth: 14,
    });
  });

  it('refuses aliases that repeat expensive fields beyond the cost limit', async () => {
    const aliases = Array.from(
      { length: 300 },
      (_, index) => `q${index}: queue(first: 100) { edges { node { id ticket } } }`,
    ).join(' ');
    const response = await post(JSON.stringify({ query: `{ services { ${aliases} } }` }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', rule: 'maxCost' } }],
    });
  });

  it('measures a chain of fragments that spread each other twice without walking every path', async () => {
    // 40 links: 2^40 paths, which a naive walk would never finish.
    const chain = Array.from(
      { length: 40 },
      (_, index) => `fragment F${index} on Query { ...F${index + 1} ...F${index + 1} }`,
    ).join(' ');
    const query = `query Chain { ...F0 } ${chain} fragment F40 on Query { services { id } }`;
    const started = Date.now();
    const response = await post(JSON.stringify({ query }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { rule: 'maxCost' } }] });
  });

  it('runs a query within the limit', async () => {
    const response = await post(JSON.stringify({ query: nested(2), variables: { id: 1 } }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { case: null } });
  });
});
