// One admission path for every channel (issue 17, items 3, 7 and 9): the
// same operations refused to the same roles over HTTP and WebSocket, a
// WebSocket's subscribe messages rate-limited before they are read, REST
// routes and the cost model failing closed at start-up, and graphql-ws's
// failures told to the log as single lines, never to the console.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { OPEN_PRINCIPAL, ROLES, type Principal, type Role } from '../../src/auth/principal.js';
import { SCHEMA_FILE } from '../../src/config.js';
import { createApolloServer } from '../../src/graphql/apollo.js';
import { operationAccess } from '../../src/graphql/operation-access.js';
import { measureOperations, OPERATION_LIMITS } from '../../src/graphql/operation-limits.js';
import { createOperationPreparer, type OperationPreparer } from '../../src/graphql/prepare-operation.js';
import { createSchema } from '../../src/graphql/schema.js';
import { MAX_REFUSED_SUBSCRIBES } from '../../src/http/subscriptions-route.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Receipts } from '../../src/auth/receipts.js';
import { RECEIPT_HEADER } from '../../src/rest/case-receipt.js';
import {
  ENQUEUE_DOCUMENT,
  FOLLOW_CASE_DOCUMENT,
  READ_CASE_DOCUMENT,
  restAccess,
  restOperation,
} from '../../src/rest/rest-access.js';
import { createAdmission } from '../../src/http/admission.js';
import { issueKey, post, type RawGraphQLBody, type TestKey } from '../helpers/credentials.js';
import { webSocketUrl } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** Receipts for access built here without a database: these tests sign and check none. */
const noReceipts: Receipts = { sign: () => '', verify: () => false };

const { schema, requirements } = createSchema();
/** For admissions whose credentials are never asked for. */
const unusedAuthenticator = { mode: 'open' as const, authenticate: () => Promise.reject(new Error('not called')) };
const preparerFor = (introspection = true): OperationPreparer =>
  createOperationPreparer(schema, operationAccess(schema, requirements), { introspection });

type Message = { type: string; id?: string; payload?: unknown };

/** A WebSocket speaking graphql-ws by hand: every message it gets, and how it was closed. */
interface RawSocket {
  readonly socket: WebSocket;
  readonly messages: Message[];
  readonly closed: Promise<number>;
  subscribe(id: string, query: string): void;
  /** Resolves once a message matches (true), or the socket closed first (false). */
  until(matches: (message: Message) => boolean): Promise<boolean>;
}

async function openSocket(url: string, authorization?: string): Promise<RawSocket> {
  const socket = new WebSocket(webSocketUrl(url), 'graphql-transport-ws');
  const messages: Message[] = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Message));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const until = (matches: (message: Message) => boolean): Promise<boolean> => {
    if (messages.some(matches)) return Promise.resolve(true);
    if (socket.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onMessage = (): void => {
        if (!messages.some(matches)) return;
        socket.off('message', onMessage);
        resolve(true);
      };
      // Listeners run in order: `messages` already holds the new one.
      socket.on('message', onMessage);
      void closed.then(() => resolve(messages.some(matches)));
    });
  };
  socket.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} }));
  expect(await until((message) => message.type === 'connection_ack')).toBe(true);
  return {
    socket,
    messages,
    closed,
    until,
    subscribe: (id, query) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query } })),
  };
}

/** The first answer to subscription `id`: its errors' codes and the fields @auth refused. */
async function firstAnswer(raw: RawSocket, id: string): Promise<{ codes: unknown[]; fields?: unknown }> {
  const answer = (message: Message): boolean => message.id === id && message.type !== 'complete';
  expect(await raw.until(answer)).toBe(true);
  const message = raw.messages.find(answer);
  const errors = (
    message?.type === 'error' ? message.payload : ((message?.payload ?? {}) as RawGraphQLBody).errors
  ) as RawGraphQLBody['errors'];
  return {
    codes: (errors ?? []).map((error) => error.extensions?.['code']),
    fields: errors?.[0]?.extensions?.['fields'],
  };
}

const root = (coordinate: string): string => coordinate.split('.')[0] ?? '';
const operationType = (coordinate: string): string => root(coordinate).toLowerCase();

/**
 * A document per root field whose arguments name nothing that exists (or are
 * refused input), so that an allowed run changes nothing: only who is
 * refused matters here, and @auth is decided before anything runs.
 */
const SELECTIONS: Readonly<Record<string, string>> = {
  'Query.service': 'service(id: 2000000000) { id }',
  'Query.services': 'services(first: 1) { id }',
  'Query.case': 'case(id: 2000000000) { id }',
  'Query.customer': 'customer(id: 2000000000) { id }',
  'Query.classifications': 'classifications(first: 1) { code }',
  'Query.procedures': 'procedures(first: 1) { extRef }',
  'Query.viewer': 'viewer { id }',
  'Query.apiKeys': 'apiKeys(first: 1) { id }',
  'Query.auditLog': 'auditLog(first: 1) { id }',
  'Mutation.enqueueCase': 'enqueueCase(input: { serviceId: 2000000000 }) { caseId }',
  'Mutation.createService': 'createService(input: { name: "" }) { id }',
  'Mutation.updateService': 'updateService(id: 2000000000, input: { name: "n" }) { id }',
  'Mutation.callNext': 'callNext(input: { serviceIds: [2000000000], agent: "d" }) { id }',
  'Mutation.callCase': 'callCase(input: { caseId: 2000000000, agent: "d" }) { id }',
  'Mutation.completeCase': 'completeCase(input: { caseId: 2000000000, agent: "d" }) { id }',
  'Mutation.returnToQueue': 'returnToQueue(input: { caseId: 2000000000, agent: "d", reason: "r" }) { id }',
  'Mutation.cancelCase': 'cancelCase(input: { caseId: 2000000000, agent: "d", reason: "r" }) { id }',
  'Mutation.createCustomer': 'createCustomer(input: { name: "" }) { id }',
  'Mutation.updateCustomer': 'updateCustomer(id: 2000000000, input: { active: true }) { id }',
  'Mutation.createClassification': 'createClassification(input: { code: "", name: "" }) { code }',
  'Mutation.updateClassification': 'updateClassification(code: "none-such", input: { name: "n" }) { code }',
  'Mutation.createProcedure': 'createProcedure(input: { extRef: "", name: "" }) { extRef }',
  'Mutation.updateProcedure': 'updateProcedure(extRef: "none-such", input: { name: "n" }) { extRef }',
  'Mutation.addProcedureOption':
    'addProcedureOption(procedureExtRef: "none-such", input: { extRef: "o", name: "o" }) { extRef }',
  'Mutation.createApiKey': 'createApiKey(input: { name: "", role: SCREEN }) { key { id } }',
  'Mutation.rotateApiKey': 'rotateApiKey(id: "none-such") { key { id } }',
  'Mutation.revokeApiKey': 'revokeApiKey(id: "none-such") { id }',
  'Query.webhookEndpoints': 'webhookEndpoints(first: 1) { id }',
  'Query.webhookEndpoint': 'webhookEndpoint(id: 2000000000) { id }',
  'Query.webhookDeliveries': 'webhookDeliveries(endpointId: 2000000000) { id }',
  'Mutation.createWebhookEndpoint': 'createWebhookEndpoint(input: { url: "", events: [CASE_CALLED] }) { secret }',
  'Mutation.updateWebhookEndpoint': 'updateWebhookEndpoint(id: 2000000000, input: { approachPosition: 3 }) { id }',
  'Mutation.rotateWebhookSecret': 'rotateWebhookSecret(id: 2000000000) { secret }',
  'Mutation.disableWebhookEndpoint': 'disableWebhookEndpoint(id: 2000000000) { id }',
  'Mutation.enableWebhookEndpoint': 'enableWebhookEndpoint(id: 2000000000) { id }',
  'Mutation.deleteWebhookEndpoint': 'deleteWebhookEndpoint(id: 2000000000) { id }',
  'Mutation.replayWebhookEvents':
    'replayWebhookEvents(endpointId: 2000000000, since: "2026-01-01T00:00:00.000Z") { queued }',
  'Subscription.queueChanged': 'queueChanged(serviceId: 2000000000) { waitingCount }',
  'Subscription.caseChanged': 'caseChanged(caseId: 2000000000) { status }',
};

/** The selection as written, or hidden in a fragment: the check must find it either way. */
const documentOf = (coordinate: string, hidden: boolean): string => {
  const selection = SELECTIONS[coordinate] ?? '';
  return hidden
    ? `${operationType(coordinate)} { ...Hidden } fragment Hidden on ${root(coordinate)} { ${selection} }`
    : `${operationType(coordinate)} { ${selection} }`;
};

describe('the role matrix over HTTP and WebSocket, through one path', () => {
  let t: TestGateway;
  const keys = new Map<Role, TestKey>();

  beforeAll(async () => {
    t = await startTestGateway({}, { AUTH_MODE: 'required' });
    for (const role of ROLES) keys.set(role, await issueKey(t.db, role));
  });
  afterAll(() => t.stop());

  const key = (role: Role): TestKey => {
    const found = keys.get(role);
    if (!found) throw new Error(`no key for ${role}`);
    return found;
  };

  it('names a sample operation for every root field', () => {
    const roots = [...requirements.keys()].filter((coordinate) => /^(Query|Mutation|Subscription)\./.test(coordinate));
    expect(Object.keys(SELECTIONS).sort()).toEqual(roots.sort());
  });

  for (const hidden of [false, true])
    it(`refuses each root field to exactly the roles @auth leaves out, on its channel${hidden ? ', hidden in a fragment' : ''}; the other channel refuses it for every role`, async () => {
      const sockets = new Map<Role, Awaited<ReturnType<typeof openSocket>>>();
      for (const role of ROLES) sockets.set(role, await openSocket(t.gateway.url, key(role).authorization));
      try {
        let id = 0;
        const refused: Record<string, Role[]> = {};
        const expected: Record<string, Role[]> = {};
        for (const coordinate of Object.keys(SELECTIONS)) {
          const document = documentOf(coordinate, hidden);
          const subscription = coordinate.startsWith('Subscription.');
          expected[coordinate] = ROLES.filter((role) => !requirements.get(coordinate)?.has(role));
          refused[coordinate] = [];
          for (const role of ROLES) {
            const socket = sockets.get(role);
            if (!socket) throw new Error(`no socket for ${role}`);
            id += 1;
            socket.subscribe(String(id), document);
            const overSocket = await firstAnswer(socket, String(id));
            const overHttp = await post(t.gateway.url, document, { authorization: key(role).authorization });
            const httpCodes = (overHttp.body.errors ?? []).map((error) => error.extensions?.['code']);
            const [onItsChannel, onTheOther] = subscription
              ? [overSocket, { status: overHttp.status, codes: httpCodes }]
              : [{ codes: httpCodes, fields: overHttp.body.errors?.[0]?.extensions?.['fields'] }, overSocket];
            // The channel is decided before the roles: the other one refuses every role alike.
            expect({ coordinate, role, codes: onTheOther.codes }).toEqual({ coordinate, role, codes: ['BAD_REQUEST'] });
            // @auth's refusal names the fields (a resolver's FORBIDDEN, a kiosk's missing receipt, does not).
            if (onItsChannel.codes.includes('FORBIDDEN') && onItsChannel.fields !== undefined) {
              expect(onItsChannel.fields).toEqual([coordinate]);
              if (!subscription) expect(overHttp.status).toBe(403);
              refused[coordinate].push(role);
            }
          }
        }
        expect(refused).toEqual(expected);
      } finally {
        for (const socket of sockets.values()) socket.socket.close();
      }
    });
  it('refuses each REST route to exactly the roles its GraphQL operation refuses', async () => {
    const rest = restAccess(createAdmission(unusedAuthenticator, undefined, silentLogger), preparerFor(), noReceipts);
    const refusals: string[] = [];
    for (const role of ROLES) {
      const principal: Principal = { ...OPEN_PRINCIPAL, kind: 'api-key', roles: new Set([role]) };
      const headers = { authorization: key(role).authorization, 'content-type': 'application/json' };
      const enqueue = await fetch(new URL('/api/Cases', t.gateway.url), {
        method: 'POST',
        headers,
        body: JSON.stringify({ ServiceId: 2000000000 }),
      });
      const read = await fetch(new URL('/api/Cases/2000000000', t.gateway.url), { headers });
      // Sent without a receipt: a role that may follow cases is refused by the receipt's rule instead.
      const byReceipt = ((await read.json()) as { Field?: string }).Field === RECEIPT_HEADER;
      const may = (route: 'enqueue' | 'readCase' | 'followCase'): boolean =>
        rest.preparer.prepareFixed(rest[route].operation, principal).ok;
      // Refused (403) to the roles the route's operations refuse over GraphQL; the others get the domain's answer.
      expect({ role, enqueue: enqueue.status === 403, read: read.status === 403 && !byReceipt }).toEqual({
        role,
        enqueue: !may('enqueue'),
        read: !may('readCase') && !may('followCase'),
      });
      const readRefusal = read.status !== 403 ? '' : byReceipt ? 'receipt' : 'read';
      refusals.push(`${role}:${enqueue.status === 403 ? 'enqueue' : ''}/${readRefusal}`);
    }
    // As docs/rest.md has it: kiosks enqueue and read with a receipt, agents and admins read too, screens neither.
    expect(refusals).toEqual(['KIOSK:/receipt', 'SCREEN:enqueue/read', 'AGENT:/', 'ADMIN:/']);
  });
});

describe('a WebSocket subscribe flood', () => {
  const LIMIT = 20;
  // An hour-long window: a test run never spans two of them, unless started at the very end of one.
  const WINDOW_MS = 3_600_000;
  let t: TestGateway;
  let agent: TestKey;
  const lines: string[] = [];
  const log: Logger = {
    info: (message) => lines.push(message),
    warn: (message) => lines.push(message),
    error: (message) => lines.push(message),
  };

  beforeAll(async () => {
    t = await startTestGateway(
      {},
      { AUTH_MODE: 'required', RATE_LIMIT_PER_CREDENTIAL: String(LIMIT), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) },
      log,
    );
    agent = await issueKey(t.db, 'AGENT');
  });
  afterAll(() => t.stop());
  afterEach(() => vi.restoreAllMocks());

  it('is rate-limited before anything is parsed: at most the limit is answered, then RATE_LIMITED, then 1013', async () => {
    const untilNextWindow = WINDOW_MS - (Date.now() % WINDOW_MS);
    if (untilNextWindow < 30_000) await new Promise((resolve) => setTimeout(resolve, untilNextWindow + 100));
    const consoleError = vi.spyOn(console, 'error');
    const raw = await openSocket(t.gateway.url, agent.authorization);
    // A client looping on a refused subscribe, each sent once the previous is answered.
    // Before: every one was parsed and validated first, and answered (69,490 in 10 s).
    for (let id = 1; id <= 200; id += 1) {
      raw.subscribe(String(id), 'subscription { nope }');
      if (!(await raw.until((message) => message.id === String(id)))) break;
    }
    const closedWithin = (ms: number) =>
      Promise.race([raw.closed, new Promise<string>((resolve) => setTimeout(resolve, ms, 'still open'))]);
    expect(await closedWithin(5_000)).toBe(1013);
    const errors = raw.messages.filter((message) => message.type === 'error');
    const codes = errors.map((message) => (message.payload as RawGraphQLBody['errors'])?.[0]?.extensions?.['code']);
    const answered = codes.filter((code) => code !== 'RATE_LIMITED');
    const limited = errors.filter(
      (message) => (message.payload as RawGraphQLBody['errors'])?.[0]?.extensions?.['code'] === 'RATE_LIMITED',
    );
    // connection_init took one of the limit; the rest were parsed, validated and refused.
    expect(answered).toEqual(Array.from({ length: LIMIT - 1 }, () => 'GRAPHQL_VALIDATION_FAILED'));
    // Then a few cheap refusals, and the socket is closed.
    expect(limited).toHaveLength(MAX_REFUSED_SUBSCRIBES);
    expect((limited[0]?.payload as RawGraphQLBody['errors'])?.[0]?.extensions?.['retryAfterSeconds']).toBeGreaterThan(
      0,
    );
    expect(consoleError).not.toHaveBeenCalled();
  });

  it('tells the log of clients breaking the WebSocket protocol in single lines, collapsed, never the console', async () => {
    const consoleError = vi.spyOn(console, 'error');
    const mark = lines.length;
    for (let index = 0; index < 20; index += 1) {
      const socket = new WebSocket(webSocketUrl(t.gateway.url), 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      // A text frame that is not UTF-8: `ws` refuses it, closing with 1007.
      socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      expect(await closed).toBe(1007);
    }
    const told = lines.slice(mark).filter((line) => line.includes('WebSocket'));
    // Before: each was written to the console with its stack.
    expect(consoleError).not.toHaveBeenCalled();
    expect(told).toEqual(['live updates: a WebSocket broke the protocol (Error WS_ERR_INVALID_UTF8)']);
  });
});

describe('fail closed by construction', () => {
  it('refuses to start with a list the cost model cannot size', () => {
    const sdl = readFileSync(SCHEMA_FILE, 'utf8');
    expect(() => createSchema(`${sdl}\nextend type Query { leak: [Service!]! @auth(roles: [ADMIN]) }`)).toThrow(
      /Query\.leak: a list of objects without @listSize/,
    );
    expect(() =>
      createSchema(
        sdl.replace('@listSize(max: 100, sizedFields: ["edges"])', '@listSize(max: 100, sizedFields: ["edge"])'),
      ),
    ).toThrow(/Service\.queue: sizedFields names "edge"/);
    expect(() => createSchema(sdl)).not.toThrow();
  });

  it('refuses to start with a REST route naming a field the schema does not have', () => {
    const preparer = preparerFor();
    const admission = createAdmission(unusedAuthenticator, undefined, silentLogger);
    expect(() => restAccess(admission, preparer, noReceipts)).not.toThrow();
    expect(ENQUEUE_DOCUMENT).toContain('subject');
    expect(() => restOperation(preparer, 'POST /api/Cases', ENQUEUE_DOCUMENT.replace('subject', 'subjet'))).toThrow(
      /POST \/api\/Cases: .*subjet/,
    );
    expect(() => restOperation(preparer, 'GET /api/Cases/{id}', READ_CASE_DOCUMENT.replace('notes', 'note'))).toThrow(
      /note/,
    );
    expect(() =>
      restOperation(preparer, 'GET /api/Cases/{id}', FOLLOW_CASE_DOCUMENT.replace('lastAgent', 'lastAgents')),
    ).toThrow(/lastAgents/);
  });

  it('costs apiKeys and auditLog at up to 100 items, as they return', () => {
    const cost = (query: string): number => measureOperations(schema, parse(query))[0]?.cost ?? 0;
    // Before: both counted as one item (2).
    expect(cost('{ apiKeys { id } }')).toBe(101);
    expect(cost('query ($n: Int) { apiKeys(first: $n) { id } }')).toBe(101);
    expect(cost('{ apiKeys(first: 3) { id } }')).toBe(4);
    expect(cost('{ auditLog { id } }')).toBe(51);
    expect(cost('{ auditLog(first: 100) { id } }')).toBe(101);
    expect(cost('query ($n: Int) { auditLog(first: $n) { id } }')).toBe(101);
  });

  it('refuses over HTTP what the audit log would really cost', async () => {
    const t = await startTestGateway();
    try {
      const entries = (alias: number) => `a${alias}: auditLog(first: 100) { id changes { field before after } }`;
      const query = `{ ${Array.from({ length: 10 }, (_, index) => entries(index)).join(' ')} }`;
      const answer = await post(t.gateway.url, query);
      expect(answer.status).toBe(400);
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({
        code: 'GRAPHQL_VALIDATION_FAILED',
        rule: 'maxCost',
        maxCost: OPERATION_LIMITS.maxCost,
      });
    } finally {
      await t.stop();
    }
  });
});

describe('the HTTP side of the path', () => {
  it('puts only prepared documents in Apollo’s store, under Apollo’s key, while Apollo runs them', async () => {
    const preparer = preparerFor();
    const query = '{ viewer { id } }';
    const prepared = preparer.prepare(query, undefined, OPEN_PRINCIPAL, 'http-post');
    if (!prepared.ok) throw new Error('refused');
    const key = `schema-hash:${createHash('sha256').update(query).digest('hex')}`;
    expect(await preparer.documentStore.get(key)).toBeUndefined();
    const release = preparer.hold(prepared);
    expect(await preparer.documentStore.get(key)).toBe(prepared.document);
    // What Apollo stores of its own is not kept.
    await preparer.documentStore.set('schema-hash:other', parse('{ apiKeys { id } }'));
    expect(await preparer.documentStore.get('schema-hash:other')).toBeUndefined();
    release();
    // Still cached: a repeated query is prepared from the cache, with the same document.
    const again = preparer.prepare(query, undefined, OPEN_PRINCIPAL, 'http-post');
    expect(again.ok && again.document).toBe(prepared.document);
  });

  it('refuses to run a document that was not prepared', async () => {
    const preparer = preparerFor();
    const apollo = createApolloServer(schema, silentLogger, preparer);
    await apollo.start();
    try {
      const answer = await apollo.executeOperation({ query: '{ __typename }' });
      const body = answer.body.kind === 'single' ? answer.body.singleResult : undefined;
      expect(body?.data).toBeUndefined();
      expect(body?.errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await apollo.stop();
    }
  });

  it('answers the same refusal whether a document is new or cached', () => {
    const preparer = preparerFor(false);
    const kiosk: Principal = { ...OPEN_PRINCIPAL, kind: 'api-key', roles: new Set<Role>(['KIOSK']) };
    for (const round of [1, 2]) {
      const introspect = preparer.prepare('{ __schema { types { name } } }', undefined, kiosk, 'http-post');
      expect({ round, ok: introspect.ok, codes: new Set(codesOf(introspect)) }).toEqual({
        round,
        ok: false,
        codes: new Set(['GRAPHQL_VALIDATION_FAILED']),
      });
      const forbidden = preparer.prepare('{ apiKeys { id } }', undefined, kiosk, 'http-post');
      expect({ round, codes: codesOf(forbidden) }).toEqual({ round, codes: ['FORBIDDEN'] });
      const unparsable = preparer.prepare('{', undefined, kiosk, 'websocket');
      expect({ round, codes: codesOf(unparsable) }).toEqual({ round, codes: ['GRAPHQL_PARSE_FAILED'] });
      const unnamed = preparer.prepare('query A { __typename } query B { __typename }', undefined, kiosk, 'http-post');
      expect({ round, codes: codesOf(unnamed) }).toEqual({ round, codes: ['OPERATION_RESOLUTION_FAILURE'] });
    }
  });
});

function codesOf(verdict: ReturnType<OperationPreparer['prepare']>): unknown[] {
  return verdict.ok ? [] : verdict.errors.map((error) => error.extensions['code']);
}
