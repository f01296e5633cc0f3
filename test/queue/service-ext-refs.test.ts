// Services named by external reference where an id was the only way:
// service(extRef), callNext(serviceExtRefs) and createApiKey(serviceExtRefs),
// over HTTP. Each test makes its own services, with references of its own.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as given from '../helpers/given.js';
import { issueKey, post, type RawGraphQLBody } from '../helpers/credentials.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

const ref = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function run(
  query: string,
  variables: Record<string, unknown> = {},
  authorization?: string,
): Promise<RawGraphQLBody> {
  return (await post(t.gateway.url, query, { variables, ...(authorization ? { authorization } : {}) })).body;
}

const SERVICE = 'query ($id: Int, $extRef: String) { service(id: $id, extRef: $extRef) { id extRef } }';
const CALL_NEXT = `mutation ($ids: [Int!], $refs: [String!]) {
  callNext(input: { serviceIds: $ids, serviceExtRefs: $refs, agent: "desk-1" }) { id service { id } }
}`;
const CREATE_KEY = `mutation ($ids: [Int!], $refs: [String!]) {
  createApiKey(input: { name: "hall B kiosks", role: KIOSK, serviceIds: $ids, serviceExtRefs: $refs }) {
    key { serviceIds }
  }
}`;

describe('service(id, extRef)', () => {
  it('finds a service by its external reference, by its id, or by both when they agree', async () => {
    const extRef = ref('SRV');
    const { id } = await given.service(t.db, { extRef });
    expect((await run(SERVICE, { extRef })).data).toEqual({ service: { id, extRef } });
    expect((await run(SERVICE, { id })).data).toEqual({ service: { id, extRef } });
    expect((await run(SERVICE, { id, extRef })).data).toEqual({ service: { id, extRef } });
    const other = await given.service(t.db, { extRef: ref('OTHER') });
    expect((await run(SERVICE, { id: other.id, extRef })).data).toEqual({ service: null });
    expect((await run(SERVICE, { extRef: ref('NONE') })).data).toEqual({ service: null });
  });

  it('refuses a lookup that names neither', async () => {
    const { errors } = await run(SERVICE);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id', rule: 'required' });
  });

  it('answers null to a credential limited to other services', async () => {
    const extRef = ref('HIDDEN');
    await given.service(t.db, { extRef });
    const elsewhere = await given.service(t.db);
    const kiosk = await issueKey(t.db, 'KIOSK', [elsewhere.id]);
    expect((await run(SERVICE, { extRef }, kiosk.authorization)).data).toEqual({ service: null });
  });
});

describe('callNext(serviceExtRefs)', () => {
  it('calls from services named by reference, by id, or both, oldest case first', async () => {
    const [a, b] = [ref('A'), ref('B')];
    const first = await given.service(t.db, { extRef: a });
    const second = await given.service(t.db, { extRef: b });
    const older = await given.waitingCase(t.db, { serviceIdExtRef: b });
    const newer = await given.waitingCase(t.db, { serviceIdExtRef: a });
    const byRefs = await run(CALL_NEXT, { refs: [a, b] });
    expect(byRefs.errors).toBeUndefined();
    expect(byRefs.data).toEqual({ callNext: { id: older.id, service: { id: second.id } } });
    const mixed = await run(CALL_NEXT, { ids: [first.id], refs: [a] });
    expect(mixed.data).toEqual({ callNext: { id: newer.id, service: { id: first.id } } });
    expect((await run(CALL_NEXT, { refs: [a] })).data).toEqual({ callNext: null });
  });

  it('answers NOT_FOUND naming each reference that names no service', async () => {
    const known = ref('KNOWN');
    await given.service(t.db, { extRef: known });
    const { data, errors } = await run(CALL_NEXT, { refs: [known, 'NO-SUCH', 'NOR-THIS'] });
    expect(data).toEqual({ callNext: null });
    expect(errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'serviceExtRefs[1]',
      issues: [
        { field: 'serviceExtRefs[1]', rule: 'exists' },
        { field: 'serviceExtRefs[2]', rule: 'exists' },
      ],
    });
  });

  it('refuses a call naming no service, or a reference twice', async () => {
    const none = await run(CALL_NEXT, {});
    expect(none.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'serviceIds',
      rule: 'minItems',
    });
    const twice = await run(CALL_NEXT, { refs: ['X', 'X'] });
    expect(twice.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'serviceExtRefs',
      rule: 'unique',
    });
  });

  it('treats a service outside an agent key as one that does not exist', async () => {
    const hidden = ref('HIDDEN');
    await given.service(t.db, { extRef: hidden });
    const mine = await given.service(t.db);
    const agent = await issueKey(t.db, 'AGENT', [mine.id]);
    const { errors } = await run(CALL_NEXT, { refs: [hidden] }, agent.authorization);
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceExtRefs[0]' });
    expect(errors?.[0]?.message).toBe(`serviceExtRefs[0]: no service has the external reference "${hidden}"`);
  });
});

describe('createApiKey(serviceExtRefs)', () => {
  it('limits the key to the services named by reference and by id', async () => {
    const [a, b] = [ref('KA'), ref('KB')];
    const first = await given.service(t.db, { extRef: a });
    const second = await given.service(t.db, { extRef: b });
    const byRefs = await run(CREATE_KEY, { refs: [a] });
    expect(byRefs.data).toEqual({ createApiKey: { key: { serviceIds: [first.id] } } });
    const both = await run(CREATE_KEY, { ids: [first.id], refs: [b] });
    expect(both.data).toEqual({ createApiKey: { key: { serviceIds: [first.id, second.id] } } });
  });

  it('answers NOT_FOUND for a reference that names no service, and a duplicate as a duplicate', async () => {
    const missing = await run(CREATE_KEY, { refs: ['NO-SUCH'] });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceExtRefs[0]' });
    const extRef = ref('DUP');
    const { id } = await given.service(t.db, { extRef });
    const twice = await run(CREATE_KEY, { ids: [id], refs: [extRef] });
    expect(twice.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', rule: 'unique' });
  });

  it('refuses references that are not storable text as bad input, before any lookup (a fuzz find)', async () => {
    for (const [refs, rule] of [
      [['OK', '\u0000'], 'storableText'],
      [['\ud800'], 'storableText'],
      [['A', 'A'], 'unique'],
    ] as const) {
      const answer = await run(CREATE_KEY, { refs: [...refs] });
      expect(answer.errors?.[0]?.extensions, JSON.stringify(refs)).toMatchObject({ code: 'BAD_USER_INPUT', rule });
    }
    const many = Array.from({ length: 101 }, (_unused, index) => `R${index}`);
    expect((await run(CREATE_KEY, { refs: many })).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'serviceExtRefs',
      rule: 'maxItems',
    });
  });
});
