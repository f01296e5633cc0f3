// Who may do what: every operation tried with every role against a gateway
// that requires credentials. The expected table below is the specification
// (issue 10); it must name every root field of the schema, so a field added
// without a decision on who may use it fails here, and createSchema refuses
// to serve a root field that declares no requirement at all.
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldRequirements, rootFieldsWithoutRequirement } from '../../src/auth/field-rules.js';
import { ROLES, type Role } from '../../src/auth/principal.js';
import { SCHEMA_FILE } from '../../src/config.js';
import { createSchema } from '../../src/graphql/schema.js';
import { issueKey, post, type RawGraphQLBody, type TestKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { liveClient } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const ALL: readonly Role[] = ROLES;
const STAFF: readonly Role[] = ['AGENT', 'ADMIN'];
const ADMIN: readonly Role[] = ['ADMIN'];

/** Who may use each root field: the issue's roles, written out by hand. */
const EXPECTED: Readonly<Record<string, readonly Role[]>> = {
  'Query.service': ALL,
  'Query.services': ALL,
  'Query.case': STAFF,
  'Query.customer': STAFF,
  'Query.classifications': ALL,
  'Query.procedures': ALL,
  'Query.viewer': ALL,
  'Query.apiKeys': ADMIN,
  'Query.auditLog': ADMIN,
  'Mutation.enqueueCase': ['KIOSK', 'AGENT', 'ADMIN'],
  'Mutation.createService': ADMIN,
  'Mutation.updateService': ADMIN,
  'Mutation.callNext': STAFF,
  'Mutation.callCase': STAFF,
  'Mutation.completeCase': STAFF,
  'Mutation.returnToQueue': STAFF,
  'Mutation.cancelCase': STAFF,
  'Mutation.createCustomer': STAFF,
  'Mutation.updateCustomer': STAFF,
  'Mutation.createClassification': ADMIN,
  'Mutation.updateClassification': ADMIN,
  'Mutation.createProcedure': ADMIN,
  'Mutation.updateProcedure': ADMIN,
  'Mutation.addProcedureOption': ADMIN,
  'Mutation.createApiKey': ADMIN,
  'Mutation.rotateApiKey': ADMIN,
  'Mutation.revokeApiKey': ADMIN,
  'Query.webhookEndpoints': ADMIN,
  'Query.webhookEndpoint': ADMIN,
  'Query.webhookDeliveries': ADMIN,
  'Mutation.createWebhookEndpoint': ADMIN,
  'Mutation.updateWebhookEndpoint': ADMIN,
  'Mutation.rotateWebhookSecret': ADMIN,
  'Mutation.disableWebhookEndpoint': ADMIN,
  'Mutation.enableWebhookEndpoint': ADMIN,
  'Mutation.deleteWebhookEndpoint': ADMIN,
  'Mutation.replayWebhookEvents': ADMIN,
  'Subscription.queueChanged': ['SCREEN', 'AGENT', 'ADMIN'],
  'Subscription.caseChanged': ['KIOSK', 'AGENT', 'ADMIN'],
};

interface Ids {
  readonly service: number;
  readonly customer: number;
  readonly classification: string;
  readonly procedure: string;
  readonly waitingCase: number;
  readonly apiKey: string;
  readonly webhookEndpoint: number;
}

let counter = 0;
const fresh = (prefix: string): string => `${prefix}-${process.pid}-${(counter += 1)}`;

/** One document per HTTP root field: the least that passes validation. */
function operation(coordinate: string, ids: Ids): string {
  const agent = 'agent: "desk-1"';
  const documents: Record<string, string> = {
    'Query.service': `{ service(id: ${ids.service}) { id name } }`,
    'Query.services': '{ services { id } }',
    'Query.case': `{ case(id: ${ids.waitingCase}) { id ticket } }`,
    'Query.customer': `{ customer(id: ${ids.customer}) { id } }`,
    'Query.classifications': '{ classifications { code } }',
    'Query.procedures': '{ procedures { extRef } }',
    'Query.viewer': '{ viewer { id roles } }',
    'Query.apiKeys': '{ apiKeys { id } }',
    'Query.auditLog': '{ auditLog { id } }',
    'Mutation.enqueueCase': `mutation { enqueueCase(input: { serviceId: ${ids.service} }) { caseId ticket } }`,
    'Mutation.createService': `mutation { createService(input: { name: "${fresh('svc')}" }) { id } }`,
    'Mutation.updateService': `mutation { updateService(id: ${ids.service}, input: { queueCode: "R" }) { id } }`,
    'Mutation.callNext': `mutation { callNext(input: { serviceIds: [${ids.service}], ${agent} }) { id } }`,
    'Mutation.callCase': `mutation { callCase(input: { caseId: ${ids.waitingCase}, ${agent} }) { id } }`,
    'Mutation.completeCase': `mutation { completeCase(input: { caseId: ${ids.waitingCase}, ${agent} }) { id } }`,
    'Mutation.returnToQueue': `mutation { returnToQueue(input: { caseId: ${ids.waitingCase}, ${agent}, reason: "r" }) { id } }`,
    'Mutation.cancelCase': `mutation { cancelCase(input: { caseId: ${ids.waitingCase}, ${agent}, reason: "r" }) { id } }`,
    'Mutation.createCustomer': 'mutation { createCustomer(input: { name: "Customer" }) { id } }',
    'Mutation.updateCustomer': `mutation { updateCustomer(id: ${ids.customer}, input: { active: true }) { id } }`,
    'Mutation.createClassification': `mutation { createClassification(input: { code: "${fresh('C')}", name: "n" }) { code } }`,
    'Mutation.updateClassification': `mutation { updateClassification(code: "${ids.classification}", input: { name: "${fresh('n')}" }) { code } }`,
    'Mutation.createProcedure': `mutation { createProcedure(input: { extRef: "${fresh('P')}", name: "n" }) { extRef } }`,
    'Mutation.updateProcedure': `mutation { updateProcedure(extRef: "${ids.procedure}", input: { name: "${fresh('n')}" }) { extRef } }`,
    'Mutation.addProcedureOption': `mutation { addProcedureOption(procedureExtRef: "${ids.procedure}", input: { extRef: "${fresh('o')}", name: "o" }) { extRef } }`,
    'Mutation.createApiKey':
      'mutation { createApiKey(input: { name: "made in the matrix", role: SCREEN }) { key { id } } }',
    'Mutation.rotateApiKey': `mutation { rotateApiKey(id: "${ids.apiKey}") { key { id } } }`,
    'Mutation.revokeApiKey': `mutation { revokeApiKey(id: "${ids.apiKey}") { id } }`,
    'Query.webhookEndpoints': '{ webhookEndpoints { id } }',
    'Query.webhookEndpoint': `{ webhookEndpoint(id: ${ids.webhookEndpoint}) { id } }`,
    'Query.webhookDeliveries': `{ webhookDeliveries(endpointId: ${ids.webhookEndpoint}) { id } }`,
    'Mutation.createWebhookEndpoint': `mutation { createWebhookEndpoint(input: { url: "https://hooks.example.com/${fresh('h')}", events: [CASE_CALLED] }) { secret } }`,
    'Mutation.updateWebhookEndpoint': `mutation { updateWebhookEndpoint(id: ${ids.webhookEndpoint}, input: { approachPosition: 3 }) { id } }`,
    'Mutation.rotateWebhookSecret': `mutation { rotateWebhookSecret(id: ${ids.webhookEndpoint}) { secret } }`,
    'Mutation.disableWebhookEndpoint': `mutation { disableWebhookEndpoint(id: ${ids.webhookEndpoint}) { id } }`,
    'Mutation.enableWebhookEndpoint': `mutation { enableWebhookEndpoint(id: ${ids.webhookEndpoint}) { id } }`,
    'Mutation.deleteWebhookEndpoint': `mutation { deleteWebhookEndpoint(id: ${ids.webhookEndpoint}) { id } }`,
    'Mutation.replayWebhookEvents': `mutation { replayWebhookEvents(endpointId: ${ids.webhookEndpoint}, since: "${new Date().toISOString()}") { queued } }`,
  };
  const document = documents[coordinate];
  if (document === undefined) throw new Error(`no sample operation for ${coordinate}`);
  return document;
}

/** Rows of every table an operation could write, to show refusals wrote nothing. */
async function everyCount(sql: pg.Pool): Promise<Record<string, number>> {
  const tables = [
    'services',
    'customers',
    'classifications',
    'classification_services',
    'procedures',
    'procedure_options',
    'cases',
    'case_events',
    'case_properties',
    'api_keys',
    'audit_log',
    'webhook_endpoints',
    'webhook_deliveries',
  ];
  const { rows } = await sql.query<Record<string, number>>(
    `SELECT ${tables.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ')}`,
  );
  return rows[0] ?? {};
}

/** A raw document for the live client, whose results the test reads untyped. */
const live = (query: string) => parse(query) as TypedDocumentNode<unknown, Record<string, unknown>>;

function errorCodes(body: RawGraphQLBody): unknown[] {
  return (body.errors ?? []).map((error) => error.extensions?.['code']);
}

describe('every root field declares who may use it', () => {
  it('the running schema guards every root field, and the table above names each of them', () => {
    const { schema, requirements } = createSchema();
    expect(rootFieldsWithoutRequirement(schema, requirements)).toEqual([]);
    const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((root) =>
      root ? Object.keys(root.getFields()).map((name) => `${root.name}.${name}`) : [],
    );
    expect(Object.keys(EXPECTED).sort()).toEqual(roots.sort());
    for (const coordinate of roots)
      expect([...(requirements.get(coordinate) ?? [])].sort(), coordinate).toEqual(
        [...(EXPECTED[coordinate] ?? [])].sort(),
      );
  });

  it('a root field without @auth is found, and the gateway would refuse to serve it', () => {
    const schema = makeExecutableSchema({
      typeDefs: `${readFileSync(SCHEMA_FILE, 'utf8')}\nextend type Query { leak: Int }\nextend type Mutation { wipe: Int }`,
    });
    expect(rootFieldsWithoutRequirement(schema, fieldRequirements(schema))).toEqual(['Query.leak', 'Mutation.wipe']);
  });
});

describe('the role matrix, over HTTP and WebSocket', () => {
  let t: TestGateway;
  const keys = new Map<Role, TestKey>();
  let ids: Ids;

  beforeAll(async () => {
    t = await startTestGateway({}, { AUTH_MODE: 'required' });
    for (const role of ROLES) keys.set(role, await issueKey(t.db, role));
    const service = await given.service(t.db);
    const procedure = await given.procedure(t.db);
    ids = {
      service: service.id,
      customer: (await given.customer(t.db)).id,
      classification: (await given.classification(t.db)).code,
      procedure: procedure.extRef,
      waitingCase: (await given.waitingCase(t.db, { serviceId: service.id })).id,
      apiKey: (await issueKey(t.db, 'SCREEN')).id,
      webhookEndpoint: (
        await t.db.webhookEndpoint.create({
          data: {
            url: 'https://hooks.example.com/roles',
            events: ['CASE_CALLED'],
            secret: 'whsec_roles',
            createdBy: 'test',
          },
        })
      ).id,
    };
  });
  afterAll(() => t.stop());

  const key = (role: Role): TestKey => {
    const found = keys.get(role);
    if (!found) throw new Error(`no key for ${role}`);
    return found;
  };
  const httpFields = Object.keys(EXPECTED).filter((coordinate) => !coordinate.startsWith('Subscription.'));

  it('refuses every operation to every role it does not name, with 403 FORBIDDEN, and writes nothing', async () => {
    const before = await everyCount(t.sql);
    let refusals = 0;
    for (const coordinate of httpFields)
      for (const role of ROLES.filter((each) => !(EXPECTED[coordinate] ?? []).includes(each))) {
        const { status, body } = await post(t.gateway.url, operation(coordinate, ids), {
          authorization: key(role).authorization,
        });
        expect({ coordinate, role, status, codes: errorCodes(body) }).toEqual({
          coordinate,
          role,
          status: 403,
          codes: ['FORBIDDEN'],
        });
        expect(body.errors?.[0]?.extensions?.['fields']).toEqual([coordinate]);
        expect(body.data ?? null).toBeNull();
        refusals += 1;
      }
    expect(refusals).toBeGreaterThan(40);
    expect(await everyCount(t.sql)).toEqual(before);
  });

  it('lets every role it names through (the answer may still be a rule error, never FORBIDDEN)', async () => {
    for (const coordinate of httpFields)
      for (const role of EXPECTED[coordinate] ?? []) {
        const { status, body } = await post(t.gateway.url, operation(coordinate, ids), {
          authorization: key(role).authorization,
        });
        expect({ coordinate, role, status }).toEqual({ coordinate, role, status: 200 });
        expect(errorCodes(body), `${coordinate} as ${role}`).not.toContain('FORBIDDEN');
        expect(errorCodes(body), `${coordinate} as ${role}`).not.toContain('UNAUTHENTICATED');
      }
  });

  it('subscriptions: queueChanged for screens, agents and admins; caseChanged for kiosks with the receipt', async () => {
    const enqueued = await post(
      t.gateway.url,
      `mutation { enqueueCase(input: { serviceId: ${ids.service} }) { caseId receipt } }`,
      { authorization: key('KIOSK').authorization },
    );
    const payload = (enqueued.body.data?.['enqueueCase'] ?? {}) as { caseId?: number; receipt?: string };
    expect(typeof payload.receipt).toBe('string');
    const { caseId = 0, receipt = '' } = payload;
    /** The first answer: the codes and extensions of its errors (none for a first state). */
    const first = async (role: Role, query: string, variables: Record<string, unknown>) => {
      const client = liveClient(t.gateway.url, { authorization: key(role).authorization });
      try {
        const subscription = client.subscribe(live(query), variables);
        try {
          const result = await subscription.next();
          subscription.stop();
          return { errors: (result.errors ?? []).map((error) => error.extensions ?? {}) };
        } catch (error) {
          // A refused subscribe ends it with its errors (the live client's message quotes them).
          const quoted = /no further result: (\[.*\])$/s.exec(error instanceof Error ? error.message : '')?.[1];
          if (quoted === undefined) throw error;
          return {
            errors: (JSON.parse(quoted) as { extensions?: Record<string, unknown> }[]).map(
              (each) => each.extensions ?? {},
            ),
          };
        }
      } finally {
        await client.close();
      }
    };
    const queue = 'subscription ($id: Int!) { queueChanged(serviceId: $id) { waitingCount } }';
    const follow =
      'subscription ($id: Int!, $receipt: String) { caseChanged(caseId: $id, receipt: $receipt) { status } }';
    for (const role of ROLES) {
      const queueResult = await first(role, queue, { id: ids.service });
      const allowed = (EXPECTED['Subscription.queueChanged'] ?? []).includes(role);
      expect({ role, codes: queueResult.errors.map((error) => error['code']) }).toEqual({
        role,
        codes: allowed ? [] : ['FORBIDDEN'],
      });
      const withReceipt = await first(role, follow, { id: caseId, receipt });
      const mayFollow = (EXPECTED['Subscription.caseChanged'] ?? []).includes(role);
      expect({ role, codes: withReceipt.errors.map((error) => error['code']) }).toEqual({
        role,
        codes: mayFollow ? [] : ['FORBIDDEN'],
      });
    }
    // A kiosk needs the receipt, and the receipt of this case.
    const without = await first('KIOSK', follow, { id: caseId });
    expect(without.errors[0]).toMatchObject({ code: 'FORBIDDEN', field: 'receipt', rule: 'required' });
    const other = await given.waitingCase(t.db, { serviceId: ids.service });
    const wrong = await first('KIOSK', follow, { id: other.id, receipt });
    expect(wrong.errors[0]).toMatchObject({ code: 'FORBIDDEN', field: 'receipt', rule: 'receipt' });
    // Agents need none.
    const agent = await first('AGENT', follow, { id: other.id });
    expect(agent.errors).toEqual([]);
  });
});

describe('personal data is for the roles that need it', () => {
  let t: TestGateway;
  let screen: TestKey;
  let kiosk: TestKey;
  let serviceId: number;

  beforeAll(async () => {
    t = await startTestGateway({}, { AUTH_MODE: 'required' });
    screen = await issueKey(t.db, 'SCREEN');
    kiosk = await issueKey(t.db, 'KIOSK');
    serviceId = (await given.service(t.db)).id;
    await given.waitingCase(t.db, { serviceId, subject: 'Jane Doe', extRef: '+64 21 555 0101' });
  });
  afterAll(() => t.stop());

  it('a screen reads tickets and positions, and is refused names, notes, references and properties', async () => {
    const queue = (fields: string) =>
      post(t.gateway.url, `{ service(id: ${serviceId}) { queue { edges { position node { ticket ${fields} } } } } }`, {
        authorization: screen.authorization,
      });
    const plain = await queue('status');
    expect(plain.status).toBe(200);
    expect(JSON.stringify(plain.body)).not.toContain('Jane');
    expect(plain.body.errors ?? []).toEqual([]);
    for (const [field, coordinate] of [
      ['subject', 'Case.subject'],
      ['notes', 'Case.notes'],
      ['extRef', 'Case.extRef'],
      ['customProperties { key value }', 'Case.customProperties'],
      ['customer { id }', 'Case.customer'],
      ['history { reason }', 'CaseEvent.reason'],
    ] as const) {
      const refused = await queue(field);
      expect({ field, status: refused.status, codes: errorCodes(refused.body) }).toEqual({
        field,
        status: 403,
        codes: ['FORBIDDEN'],
      });
      expect(refused.body.errors?.[0]?.extensions?.['fields']).toEqual([coordinate]);
      expect(JSON.stringify(refused.body)).not.toContain('Jane');
    }
  });

  it('a field hidden in a fragment or an inline fragment is refused the same way', async () => {
    for (const query of [
      `{ service(id: ${serviceId}) { queue { edges { node { ...Personal } } } } } fragment Personal on Case { subject }`,
      `{ service(id: ${serviceId}) { queue { edges { node { ... on Case { notes } } } } } }`,
    ]) {
      const refused = await post(t.gateway.url, query, { authorization: screen.authorization });
      expect(refused.status).toBe(403);
      expect(errorCodes(refused.body)).toEqual(['FORBIDDEN']);
    }
  });

  it('a kiosk reads back what it sent, but not the stored case through the payload', async () => {
    const echoed = await post(
      t.gateway.url,
      `mutation { enqueueCase(input: { serviceId: ${serviceId}, subject: "Ann" }) { caseId subject receipt } }`,
      { authorization: kiosk.authorization },
    );
    expect(echoed.body.errors ?? []).toEqual([]);
    expect(echoed.body.data?.['enqueueCase']).toMatchObject({ subject: 'Ann' });
    const before = await t.sql.query<{ count: number }>('SELECT count(*)::int AS count FROM cases');
    const refused = await post(
      t.gateway.url,
      `mutation { enqueueCase(input: { serviceId: ${serviceId}, subject: "Bo" }) { caseId case { subject } } }`,
      { authorization: kiosk.authorization },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions?.['fields']).toEqual(['Case.subject']);
    // Checked before anything ran: the refused enqueue wrote no case.
    const after = await t.sql.query<{ count: number }>('SELECT count(*)::int AS count FROM cases');
    expect(after.rows[0]?.count).toBe(before.rows[0]?.count);
  });
});
