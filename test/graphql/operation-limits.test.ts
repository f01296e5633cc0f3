// Operation limits that cover everything (issue 8, items 4, 5, 6, 10):
// introspection inside the cost model, caps on aliases and on a mutation's
// root fields, bounded lists, a response-size guard, and requests the
// gateway does not serve refused as 4xx, all over real HTTP with the log
// recorded, so that no refusal shows up there as an internal error.
import { getDirectiveValues, getIntrospectionQuery, isObjectType, parse } from 'graphql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import {
  ClassificationsDocument,
  ProceduresDocument,
  ServicesDocument,
} from '../../src/generated/operations/graphql.js';
import {
  LIST_SIZE_DIRECTIVE,
  MAX_DOCUMENT_TOKENS,
  measureOperations,
  OPERATION_LIMITS,
} from '../../src/graphql/operation-limits.js';
import { createSchema } from '../../src/graphql/schema.js';
import { jsonSizeWithin, MAX_RESPONSE_BYTES } from '../../src/graphql/response-size.js';
import { REQUEST_MESSAGE } from '../../src/http/request-log.js';
import type { Logger } from '../../src/log.js';
import { LIMITS } from '../../src/queue/input-rules.js';
import { createTestDatabase, testPool, type TestDatabase } from '../helpers/databases.js';
import * as given from '../helpers/given.js';
import { expectData, expectError, graphqlClient, type Client } from '../helpers/graphql-client.js';
import { rowCounts } from '../helpers/test-gateway.js';

const logged: string[] = [];
// Everything but the request log's line, which every request has.
const recordingLog: Logger = {
  info: (message) => (message === REQUEST_MESSAGE ? undefined : logged.push(message)),
  warn: () => undefined,
  error: (message, error) => logged.push(`${message} ${error instanceof Error ? (error.stack ?? '') : ''}`),
};

let database: TestDatabase;
let gateway: Gateway;
let db: Database;
let sql: pg.Pool;
let request: Client;

beforeAll(async () => {
  database = await createTestDatabase(inject('serverUrl'));
  gateway = await startGateway(
    loadConfig({ DATABASE_URL: database.url, PORT: '0', DATABASE_POOL_SIZE: '10' }),
    recordingLog,
  );
  db = createDatabaseClient(database.url, 4);
  sql = testPool(database.url, 2);
  request = graphqlClient(gateway.url);
});

afterAll(async () => {
  await sql.end();
  await db.$disconnect();
  await gateway.stop();
  await database.drop();
});

interface Answer {
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

async function send(body: unknown, init: { method?: string; search?: string } = {}): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(`${gateway.url}${init.search ?? ''}`, {
    method: init.method ?? 'POST',
    // The preflight header lets GET through Apollo's CSRF protection.
    headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
    ...(init.method === 'GET' ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    bytes: text.length,
    ms: Date.now() - started,
    body: JSON.parse(text) as Answer['body'],
  };
}

const post = (query: string, variables: Record<string, unknown> = {}) => send({ query, variables });

function expectRefused(answer: Answer, extensions: Record<string, unknown>): void {
  expect(answer.status).toBe(400);
  expect(answer.body.data ?? null).toBeNull();
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors?.[0]?.extensions).toMatchObject(extensions);
}

const aliased = (count: number, selection: (index: number) => string): string =>
  Array.from({ length: count }, (_, index) => selection(index)).join(' ');

describe('list sizes come from the schema', () => {
  const { schema } = createSchema();
  /** The largest each list of objects can be, by the domain's limits, written out by hand. */
  const SIZES: Readonly<Record<string, number>> = {
    'Query.services': LIMITS.servicesPage.first,
    'Query.classifications': LIMITS.referencePage.first,
    'Query.procedures': LIMITS.referencePage.first,
    'Query.apiKeys': 100,
    'Query.auditLog': LIMITS.auditPage.first,
    'Query.webhookEndpoints': LIMITS.webhook.endpointsPage,
    'Query.webhookDeliveries': LIMITS.webhook.attemptsPage,
    // A page: sizes its `edges`.
    'Service.queue': LIMITS.queuePage.first,
    'Case.customProperties': LIMITS.case.customProperties,
    'Case.history': LIMITS.history.last,
    'CaseEnqueuePayload.customProperties': LIMITS.case.customProperties,
    'Classification.services': LIMITS.classification.services,
    'Procedure.options': LIMITS.procedure.options,
    'QueueUpdate.changes': LIMITS.live.changes,
    'QueueUpdate.waiting': LIMITS.live.waiting,
    'QueueUpdate.inService': LIMITS.live.inService,
    // An audited entity's fields: a handful.
    'AuditEntry.changes': 20,
  };

  it('declares the domain limit of every list of objects in schema.graphql', () => {
    const directive = schema.getDirective(LIST_SIZE_DIRECTIVE);
    const declared: Record<string, number> = {};
    for (const type of Object.values(schema.getTypeMap()))
      if (isObjectType(type) && !type.name.startsWith('__'))
        for (const field of Object.values(type.getFields())) {
          const values = directive && field.astNode ? getDirectiveValues(directive, field.astNode) : undefined;
          if (values) declared[`${type.name}.${field.name}`] = Number(values['max']);
        }
    expect(declared).toEqual(SIZES);
  });

  it('counts a list at the page asked for, its default, or its largest for a variable', () => {
    const cost = (query: string): number | undefined => measureOperations(schema, parse(query))[0]?.cost;
    expect(cost('{ services { id } }')).toBe(1 + LIMITS.servicesPage.first);
    expect(cost('{ services(first: 7) { id } }')).toBe(8);
    expect(cost('query ($n: Int) { classifications(first: $n) { code } }')).toBe(1 + LIMITS.referencePage.first);
    // A page's size counts what it holds; its edges once per item.
    expect(cost('{ service(id: 1) { queue { edges { cursor } } } }')).toBe(1 + 1 + 20 * (1 + 1));
    expect(cost('{ case(id: 1) { history(last: 3) { at } customProperties { key } } }')).toBe(
      1 + (1 + 3) + (1 + LIMITS.case.customProperties),
    );
    // Lists of leaves multiply nothing.
    expect(cost('{ viewer { roles serviceIds } }')).toBe(3);
  });
});

describe('introspection is inside the cost model', () => {
  it('refuses the 2,899 aliased __schema selections of the report while parsing', async () => {
    // Before: answered with 138.7 MB after 15-20 s.
    const query = `{ ${aliased(2_899, (index) => `s${index}: __schema { types { name fields { name } } }`)} }`;
    const answer = await post(query);
    expectRefused(answer, { code: 'GRAPHQL_PARSE_FAILED' });
    expect(answer.body.errors?.[0]?.message).toContain(`${MAX_DOCUMENT_TOKENS} tokens`);
    expect(answer.bytes).toBeLessThan(2_000);
    expect(answer.ms).toBeLessThan(5_000);
  });

  it('refuses hundreds of aliased __schema selections at once, with a small answer', async () => {
    // Before: each alias answered the whole schema; 2,899 of them made 138.7 MB.
    const query = `{ ${aliased(300, (index) => `s${index}: __schema { types { name fields { name type { name } } } }`)} }`;
    const answer = await post(query);
    expectRefused(answer, { code: 'GRAPHQL_VALIDATION_FAILED', rule: 'maxCost' });
    expect(answer.bytes).toBeLessThan(2_000);
    expect(answer.ms).toBeLessThan(5_000);
  });

  it('counts introspection with the data it is sent with', async () => {
    // 1 + 80 services x (1 + 100 cases x 6 fields): just under the limit alone.
    const data = 'services(first: 80) { queue(first: 100) { edges { node { id ticket subject notes } } } }';
    const alone = await post(`{ ${data} }`);
    expect(alone.status).toBe(200);
    // With the full introspection query beside it, over the limit; before, introspection counted nothing.
    const both = getIntrospectionQuery().replace('query IntrospectionQuery {', `query IntrospectionQuery { ${data}`);
    expectRefused(await post(both), { code: 'GRAPHQL_VALIDATION_FAILED', rule: 'maxCost' });
  });

  it('still answers the standard introspection query that GraphiQL and codegen send', async () => {
    const answer = await post(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }));
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toHaveProperty('__schema.queryType.name', 'Query');
  });

  it('answers a few aliased __type lookups', async () => {
    const answer = await post(`{ a: __type(name: "Case") { name } b: __type(name: "Service") { name } }`);
    expect(answer.body).toEqual({ data: { a: { name: 'Case' }, b: { name: 'Service' } } });
  });
});

describe('aliases and mutation root fields are capped', () => {
  const enqueues = (count: number, serviceId: number) =>
    `mutation { ${aliased(count, (index) => `e${index}: enqueueCase(input: { serviceId: ${serviceId}, subject: "s" }) { caseId }`)} }`;

  it('refuses 100 aliased enqueueCase in one request, writing nothing', async () => {
    const { id } = await given.service(db);
    const before = await rowCounts(sql);
    const answer = await post(enqueues(100, id));
    expectRefused(answer, {
      code: 'GRAPHQL_VALIDATION_FAILED',
      rule: 'maxMutationRootFields',
      maxMutationRootFields: OPERATION_LIMITS.maxMutationRootFields,
      mutationRootFields: 100,
    });
    expect(await rowCounts(sql)).toEqual(before);
  });

  it('writes a batch exactly at the cap', async () => {
    const { id } = await given.service(db);
    const before = await rowCounts(sql);
    const answer = await post(enqueues(OPERATION_LIMITS.maxMutationRootFields, id));
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect((await rowCounts(sql)).cases).toBe(before.cases + OPERATION_LIMITS.maxMutationRootFields);
  });

  it('refuses one callNext over the cap, calling nothing', async () => {
    const { id } = await given.service(db);
    for (let index = 0; index < 3; index += 1) await given.waitingCase(db, { serviceId: id });
    const count = OPERATION_LIMITS.maxMutationRootFields + 1;
    const answer = await post(
      `mutation { ${aliased(count, (index) => `c${index}: callNext(input: { serviceIds: [${id}], agent: "desk" }) { id }`)} }`,
    );
    expectRefused(answer, { rule: 'maxMutationRootFields', mutationRootFields: count });
    const { rows } = await sql.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM cases WHERE service_id = $1 AND status = 'WAITING'`,
      [id],
    );
    expect(rows[0]?.waiting).toBe(3);
  });

  it('refuses one alias over the cap in a query, and answers at the cap', async () => {
    const over = await post(`{ ${aliased(OPERATION_LIMITS.maxAliases + 1, (index) => `t${index}: __typename`)} }`);
    expectRefused(over, {
      code: 'GRAPHQL_VALIDATION_FAILED',
      rule: 'maxAliases',
      maxAliases: OPERATION_LIMITS.maxAliases,
      aliases: OPERATION_LIMITS.maxAliases + 1,
    });
    const at = await post(`{ ${aliased(OPERATION_LIMITS.maxAliases, (index) => `t${index}: __typename`)} }`);
    expect(at.status).toBe(200);
    expect(Object.keys(at.body.data ?? {})).toHaveLength(OPERATION_LIMITS.maxAliases);
  });

  it('counts aliases in a fragment each time it is spread', async () => {
    const fragment = `fragment Pair on Query { a: __typename b: __typename }`;
    const spreads = aliased(8, (index) => `... on Query { x${index}: __typename ...Pair }`);
    const answer = await send({ query: `{ ${spreads} } ${fragment}` });
    // 8 inline aliases + 8 spreads of 2: 24 (merged answers do not make it cheaper to validate).
    expectRefused(answer, { rule: 'maxAliases', aliases: 24 });
  });
});

describe('services are a bounded, paged list', () => {
  let ids: number[] = [];

  beforeAll(async () => {
    // More services than one page; the file's other tests add a few of their own.
    await db.service.createMany({ data: Array.from({ length: 120 }, (_, index) => ({ name: `Paged ${index}` })) });
    ids = (await db.service.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((row) => row.id);
  });

  it('returns at most 100 services by default, oldest first, and the rest after the last id', async () => {
    const first = expectData(await request(ServicesDocument, {})).services;
    expect(first.map((service) => service.id)).toEqual(ids.slice(0, LIMITS.servicesPage.first));
    const rest = expectData(await request(ServicesDocument, { afterId: first.at(-1)!.id })).services;
    expect(rest.map((service) => service.id)).toEqual(ids.slice(LIMITS.servicesPage.first, 200));
    const small = expectData(await request(ServicesDocument, { first: 2, afterId: ids[4]! })).services;
    expect(small.map((service) => service.id)).toEqual(ids.slice(5, 7));
  });

  it('refuses a page over 100 as bad input', async () => {
    expect(expectError(await request(ServicesDocument, { first: 101 })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
      rule: 'range',
    });
  });

  it('reads every listed service queue and statistics in bounded time', async () => {
    // Before: every service was read, 2,000 of them in 26-28 s.
    const answer = await post(
      '{ services { id queue { totalCount edges { node { id ticket } } } statistics { waitingCount longestWaitSeconds servedInWindow } } }',
    );
    expect(answer.status).toBe(200);
    expect(answer.body.data?.['services']).toHaveLength(LIMITS.servicesPage.first);
    expect(answer.ms).toBeLessThan(15_000);
  });

  it('counts services at the page size asked for', async () => {
    const nested = (first: number) =>
      `{ services(first: ${first}) { queue(first: 100) { edges { node { customProperties { key value } } } } } }`;
    expectRefused(await post(nested(100)), { rule: 'maxCost' });
    const small = await post(nested(2));
    expect(small.status).toBe(200);
    expect(small.body.errors).toBeUndefined();
  });

  it('limits a classification to at most 100 services', async () => {
    const answer = await post(
      `mutation { createClassification(input: { code: "too-many", name: "Too many", serviceIds: [${ids.slice(0, 101).join(', ')}] }) { code } }`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'serviceIds',
      rule: 'maxItems',
    });
  });
});

describe('classifications and procedures are bounded, paged lists', () => {
  beforeAll(async () => {
    await db.classification.createMany({
      data: Array.from({ length: 105 }, (_, index) => ({
        code: `PAGED-${String(index).padStart(3, '0')}`,
        name: 'Paged',
      })),
    });
    await db.procedure.createMany({
      data: Array.from({ length: 105 }, (_, index) => ({
        extRef: `paged-${String(index).padStart(3, '0')}`,
        name: 'Paged',
      })),
    });
  });

  it('returns at most 100 classifications by code, and the rest after the last code', async () => {
    const all = (await db.classification.findMany({ select: { code: true }, orderBy: { code: 'asc' } })).map(
      (row) => row.code,
    );
    const first = expectData(await request(ClassificationsDocument, {})).classifications.map((row) => row.code);
    expect(first).toEqual(all.slice(0, LIMITS.referencePage.first));
    const rest = expectData(await request(ClassificationsDocument, { afterCode: first.at(-1)! })).classifications;
    expect(rest.map((row) => row.code)).toEqual(all.slice(LIMITS.referencePage.first));
    const small = expectData(await request(ClassificationsDocument, { first: 2, afterCode: all[4]! })).classifications;
    expect(small.map((row) => row.code)).toEqual(all.slice(5, 7));
  });

  it('returns at most 100 procedures by external reference, and the rest after the last one', async () => {
    const all = (await db.procedure.findMany({ select: { extRef: true }, orderBy: { extRef: 'asc' } })).map(
      (row) => row.extRef,
    );
    const first = expectData(await request(ProceduresDocument, {})).procedures.map((row) => row.extRef);
    expect(first).toEqual(all.slice(0, LIMITS.referencePage.first));
    const rest = expectData(await request(ProceduresDocument, { afterExtRef: first.at(-1)! })).procedures;
    expect(rest.map((row) => row.extRef)).toEqual(all.slice(LIMITS.referencePage.first));
  });

  it('keeps a procedure at 100 options when options are added one at a time, even at once', async () => {
    const procedure = await given.procedure(db, {
      options: { create: Array.from({ length: 99 }, (_, index) => ({ extRef: `o${index}`, name: 'Option' })) },
    });
    const adds = await Promise.all(
      [1, 2, 3].map((index) =>
        post(
          `mutation { addProcedureOption(procedureExtRef: "${procedure.extRef}", input: { extRef: "late-${index}", name: "Late" }) { extRef } }`,
        ),
      ),
    );
    const refused = adds.filter((answer) => answer.body.errors !== undefined);
    expect(refused).toHaveLength(2);
    for (const answer of refused)
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'procedureExtRef',
        rule: 'maxItems',
      });
    expect(await db.procedureOption.count({ where: { procedureId: procedure.id } })).toBe(LIMITS.procedure.options);
  });

  it('refuses a page over 100 as bad input, and counts the page size asked for', async () => {
    const overPage = [
      await request(ClassificationsDocument, { first: 101 }),
      await request(ProceduresDocument, { first: 101 }),
    ];
    for (const answer of overPage)
      expect(expectError(answer).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first', rule: 'range' });
    const nested = (first: number) =>
      `{ classifications(first: ${first}) { services { queue(first: 100) { edges { node { id } } } } } }`;
    expectRefused(await post(nested(100)), { rule: 'maxCost' });
    expect((await post(nested(1))).status).toBe(200);
  });
});

describe("a case's history is bounded", () => {
  it('returns the most recent 100 steps by default, fewer when asked, and refuses more', async () => {
    const enqueued = await given.waitingCase(db);
    // As if the case had been returned to the queue 75 times: 151 steps in all.
    await db.caseEvent.createMany({
      data: Array.from({ length: 150 }, (_, index) => ({
        caseId: enqueued.id,
        action: index % 2 === 0 ? ('CALL_CASE' as const) : ('RETURN_TO_QUEUE' as const),
        agent: `desk ${index}`,
        fromStatus: index % 2 === 0 ? ('WAITING' as const) : ('IN_SERVICE' as const),
        toStatus: index % 2 === 0 ? ('IN_SERVICE' as const) : ('WAITING' as const),
      })),
    });
    const all = await db.caseEvent.findMany({ where: { caseId: enqueued.id }, orderBy: { id: 'asc' } });
    const agents = (answer: Answer) =>
      ((answer.body.data?.['case'] as { history: { agent: string | null }[] } | null)?.history ?? []).map(
        (event) => event.agent,
      );
    const recent = await post(`{ case(id: ${enqueued.id}) { history { agent } } }`);
    expect(agents(recent)).toEqual(all.slice(-LIMITS.history.last).map((event) => event.agent));
    const last3 = await post(`{ case(id: ${enqueued.id}) { history(last: 3) { agent } } }`);
    expect(agents(last3)).toEqual(['desk 147', 'desk 148', 'desk 149']);
    const tooMany = await post(`{ case(id: ${enqueued.id}) { history(last: 101) { agent } } }`);
    expect(tooMany.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'last',
      rule: 'range',
    });
  });
});

describe('the size of an answer is bounded', () => {
  it('estimates JSON sizes closely, and stops counting past the budget', () => {
    const value = {
      data: { list: [{ a: 'x'.repeat(100), b: 12, c: null, d: true, e: ['é', 'ü'] }], text: '😀 ok' },
    };
    const exact = Buffer.byteLength(JSON.stringify(value));
    const estimate = jsonSizeWithin(value, 1_000_000);
    expect(estimate).toBeGreaterThan(exact * 0.9);
    expect(estimate).toBeLessThan(exact * 1.3);
    expect(jsonSizeWithin(value, 50)).toBe(Infinity);
  });

  it('refuses a query whose answer would pass the bound, and answers a smaller page', async () => {
    // 100 cases at their largest: 50 properties of 1,000 characters each, about 5.4 MB as JSON.
    const { id } = await given.service(db);
    const customProperties = Array.from({ length: LIMITS.case.customProperties }, (_, index) => ({
      key: `k${index}`,
      value: 'v'.repeat(LIMITS.case.propertyValue),
    }));
    await Promise.all(
      Array.from({ length: 100 }, () => given.waitingCase(db, { serviceId: id, customProperties, notes: 'n' })),
    );
    const page = (first: number) =>
      post(
        `{ service(id: ${id}) { queue(first: ${first}) { edges { node { id customProperties { key value } } } } } }`,
      );
    const refused = await page(100);
    expectRefused(refused, { code: 'RESPONSE_TOO_LARGE', maxBytes: MAX_RESPONSE_BYTES });
    expect(refused.bytes).toBeLessThan(1_000);
    const smaller = await page(50);
    expect(smaller.status).toBe(200);
    expect(smaller.body.errors).toBeUndefined();
  });
});

describe('input errors are answered as input errors, never as internal ones', () => {
  // Nothing is logged for a refused input: no "unexpected error", no stack trace.
  let mark = 0;
  beforeEach(() => {
    mark = logged.length;
  });
  afterEach(() => {
    expect(logged.slice(mark)).toEqual([]);
  });

  it('refuses a crafted queue cursor dated before year 1 or after 9999 as BAD_USER_INPUT naming `after`', async () => {
    const { id } = await given.service(db);
    const before1 = Buffer.from(`${Date.parse('0001-01-01T00:00:00Z') - 1}:1`).toString('base64url');
    const after9999 = Buffer.from(`${Date.parse('9999-12-31T23:59:59.999Z') + 1}:1`).toString('base64url');
    for (const cursor of [before1, after9999]) {
      const answer = await post(`{ service(id: ${id}) { queue(after: "${cursor}") { totalCount } } }`);
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'after',
        rule: 'cursor',
      });
    }
    // The earliest and latest cursors accepted are read, not refused.
    const earliest = Buffer.from(`${Date.parse('0001-01-01T00:00:00Z')}:1`).toString('base64url');
    const read = await post(`{ service(id: ${id}) { queue(after: "${earliest}") { totalCount } } }`);
    expect(read.body).toEqual({ data: { service: { queue: { totalCount: 0 } } } });
  });

  it('refuses a subscription sent over HTTP with 400: subscriptions are served over WebSocket', async () => {
    for (const query of ['subscription { __typename }', 'subscription Watch { queueChanged { id } }']) {
      const answer = await post(query);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(JSON.stringify(answer.body)).not.toContain('INTERNAL_SERVER_ERROR');
    }
    expectRefused(await post('subscription { caseChanged(caseId: 1) { status } }'), { code: 'BAD_REQUEST' });
  });

  it('refuses persisted queries, whatever their hash, with 400 PERSISTED_QUERY_NOT_SUPPORTED', async () => {
    const persisted = (extra: object, version: unknown = 1) => ({
      extensions: { persistedQuery: { version, sha256Hash: 'abc' } },
      ...extra,
    });
    const answers = [
      await send(persisted({})),
      await send(persisted({ query: '{ __typename }' })),
      await send(persisted({ query: '{ __typename }' }, 2)),
      await send(persisted({ query: '{ __typename }' }, 'x')),
      await send(undefined, {
        method: 'GET',
        search: `?extensions=${encodeURIComponent('{"persistedQuery":{"version":1,"sha256Hash":"abc"}}')}`,
      }),
    ];
    for (const answer of answers) expectRefused(answer, { code: 'PERSISTED_QUERY_NOT_SUPPORTED' });
  });
});
