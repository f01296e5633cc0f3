// The HTTP edge: malformed and hostile requests get clear 4xx answers, never
// a crash or a 500; health reports the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/http/body.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t?.stop();
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
    const response = await post(JSON.stringify({ query: 'mutation($input: CaseEnqueueInput!) { enqueueCase(input: $input) { caseId } }', variables: { input: { serviceId: 'one' } } }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
  });

  it('answers an Int beyond 32 bits with BAD_USER_INPUT, not a database error', async () => {
    const response = await post(JSON.stringify({ query: 'mutation { enqueueCase(input: { serviceId: 4294967296 }) { caseId } }' }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
  });

  it('serves introspection for explorers and client generators', async () => {
    const response = await post(JSON.stringify({ query: '{ __type(name: "CaseEnqueueInput") { inputFields { name } } }' }));
    const body = (await response.json()) as { data: { __type: { inputFields: { name: string }[] } } };
    expect(body.data.__type.inputFields.map((field) => field.name)).toContain('serviceIdExtRef');
  });
});
