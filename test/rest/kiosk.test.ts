// A REST kiosk, as GraphQL's kiosks: POST /api/Cases answers the ticket, the
// place in the queue, the estimate and the receipt; GET /api/Cases/{id} with
// that receipt (X-Case-Receipt) shows what `caseChanged` shows a kiosk and
// nothing personal; without it, with a wrong one or another case's, one 403
// whether the case exists or not. Agents read cases whole as before; screens
// read none, as GraphQL refuses them `case` and `caseChanged`.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/generated/prisma/client.js';
import { RECEIPT_HEADER } from '../../src/rest/case-receipt.js';
import { issueKey, post, type TestKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { liveClient } from '../helpers/live-client.js';
import { answerSchema, mismatches, type Schema } from '../helpers/openapi-answers.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** What a kiosk sees of a case over REST: CaseUpdate's fields, in this order. */
const CASE_STATE_FIELDS = [
  'CaseId',
  'Ticket',
  'ServiceId',
  'Status',
  'LastAction',
  'LastAgent',
  'Position',
  'EstimatedWaitSeconds',
  'EstimatedWaitRange',
  'CalledAt',
  'ClosedAt',
];
/** An id no row has. */
const MISSING = 2_000_000_000;
/** What the kiosk's person typed: none of it may come back from a read. */
const PERSONAL = ['Jane Doe', '+64 21 555 0101', 'needs a wheelchair', 'loyalty-4711', 'gold'];

type Body = Record<string, unknown>;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: Body;
}

let t: TestGateway;
let origin: string;
let mine: Service;
let other: Service;
let kiosk: TestKey;
/** A kiosk key limited to `mine`. */
let limitedKiosk: TestKey;
let screen: TestKey;
let agent: TestKey;

beforeAll(async () => {
  t = await startTestGateway({}, { AUTH_MODE: 'required' });
  origin = new URL(t.gateway.url).origin;
  mine = await given.service(t.db, { queueCode: 'K' });
  other = await given.service(t.db, { queueCode: 'L' });
  kiosk = await issueKey(t.db, 'KIOSK');
  limitedKiosk = await issueKey(t.db, 'KIOSK', [mine.id]);
  screen = await issueKey(t.db, 'SCREEN');
  agent = await issueKey(t.db, 'AGENT');
});

afterAll(async () => {
  await t.stop();
});

async function call(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, text, body: text === '' ? {} : (JSON.parse(text) as Body) };
}

/** A case enqueued by `key` over REST, with personal data. */
async function enqueued(key: TestKey, serviceId: number): Promise<{ id: number; receipt: string; answer: Answer }> {
  const answer = await call(
    'POST',
    '/api/Cases',
    { authorization: key.authorization },
    JSON.stringify({
      ServiceId: serviceId,
      Subject: PERSONAL[0],
      ExtRef: PERSONAL[1],
      Notes: PERSONAL[2],
      CustomProperties: { loyalty: PERSONAL[3], tier: PERSONAL[4] },
    }),
  );
  const { CaseId: id, Receipt: receipt } = answer.body;
  if (answer.status !== 200 || typeof id !== 'number' || typeof receipt !== 'string')
    throw new Error(`not enqueued: ${answer.text}`);
  return { id, receipt, answer };
}

const read = (key: TestKey, id: number, receipt?: string): Promise<Answer> =>
  call('GET', `/api/Cases/${id}`, {
    authorization: key.authorization,
    ...(receipt === undefined ? {} : { [RECEIPT_HEADER]: receipt }),
  });

async function graphql(key: TestKey, query: string): Promise<{ status: number; body: unknown }> {
  const { status, body } = await post(t.gateway.url, query, { authorization: key.authorization });
  return { status, body };
}

interface CaseUpdate {
  readonly caseId: number;
  readonly ticket: string;
  readonly serviceId: number;
  readonly status: string;
  readonly lastAction: string;
  readonly lastAgent: string | null;
  readonly position: number | null;
  readonly estimatedWaitSeconds: number | null;
  readonly estimatedWaitRange: { readonly low: number; readonly high: number } | null;
  readonly calledAt: string | null;
  readonly closedAt: string | null;
}

const FOLLOW: TypedDocumentNode<{ caseChanged: CaseUpdate }, { caseId: number; receipt: string }> = parse(`
  subscription ($caseId: Int!, $receipt: String) {
    caseChanged(caseId: $caseId, receipt: $receipt) {
      caseId ticket serviceId status lastAction lastAgent position estimatedWaitSeconds
      estimatedWaitRange { low high } calledAt closedAt
    }
  }`);

/** The first state `caseChanged` sends `key` for the case: what a GraphQL kiosk sees; a refusal throws. */
async function followed(key: TestKey, caseId: number, receipt: string): Promise<unknown> {
  const client = liveClient(t.gateway.url, { authorization: key.authorization });
  const subscription = client.subscribe(FOLLOW, { caseId, receipt });
  try {
    return (await subscription.next(10_000)).data?.caseChanged;
  } finally {
    subscription.stop();
    await client.close();
  }
}

/** A REST name in GraphQL's spelling: EstimatedWaitRange → estimatedWaitRange. */
const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** The REST answer in caseChanged's names (the range's Low and High included), to compare the two. */
const asCaseUpdate = (body: Body): Record<string, unknown> =>
  Object.fromEntries(
    CASE_STATE_FIELDS.map((field) => {
      const value = body[field];
      const nested =
        value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [camel(key), inner as unknown]))
          : value;
      return [camel(field), nested];
    }),
  );

async function openApi(): Promise<Schema> {
  return (await call('GET', '/api/openapi.json', {})).body;
}

describe('POST /api/Cases by a kiosk', () => {
  it('answers the estimate and its range once the service has been served, as GraphQL reads them', async () => {
    const { id: serviceId } = await given.service(t.db, { queueCode: 'Q' });
    for (let served = 0; served < 3; served += 1) await given.caseIn(t.db, 'COMPLETED', { serviceId }, 'desk-1');
    await enqueued(kiosk, serviceId);
    const second = await enqueued(kiosk, serviceId);
    const { EstimatedWaitSeconds: seconds, EstimatedWaitRange: range } = second.answer.body;
    expect(typeof seconds).toBe('number');
    const { Low: low, High: high } = range as { Low: number; High: number };
    expect([typeof low, typeof high]).toEqual(['number', 'number']);
    expect(low <= Number(seconds) && Number(seconds) <= high).toBe(true);
    const read = await graphql(
      agent,
      `{ case(id: ${second.id}) { estimatedWaitSeconds estimatedWaitRange { low high } } }`,
    );
    expect(read.body).toEqual({
      data: { case: { estimatedWaitSeconds: seconds, estimatedWaitRange: { low, high } } },
    });
    const document = await openApi();
    expect(mismatches(document, answerSchema(document, '/api/Cases', 'post', 200), second.answer.body)).toEqual([]);
  });

  it('answers the ticket, the place in the queue (1, then 2), no estimate before any call, and a receipt', async () => {
    const { id: serviceId } = await given.service(t.db, { queueCode: 'P' });
    const first = await enqueued(kiosk, serviceId);
    const second = await enqueued(kiosk, serviceId);
    expect(first.answer.body).toMatchObject({ Ticket: 'P001', Position: 1, EstimatedWaitSeconds: null });
    expect(second.answer.body).toMatchObject({ Ticket: 'P002', Position: 2, EstimatedWaitSeconds: null });
    const stored = await t.db.case.findUniqueOrThrow({ where: { id: second.id } });
    expect(second.answer.body['Ticket']).toBe(stored.ticket);
    expect(first.receipt).not.toBe(second.receipt);
    const document = await openApi();
    expect(mismatches(document, answerSchema(document, '/api/Cases', 'post', 200), second.answer.body)).toEqual([]);
  });
});

describe('GET /api/Cases/{id} by a kiosk with the receipt', () => {
  it('shows what caseChanged shows, and nothing personal, as the case moves', async () => {
    await enqueued(kiosk, mine.id);
    const { id, receipt, answer: posted } = await enqueued(kiosk, mine.id);

    const waiting = await read(kiosk, id, receipt);
    expect(waiting.status).toBe(200);
    expect(Object.keys(waiting.body)).toEqual(CASE_STATE_FIELDS);
    expect(waiting.body).toEqual({
      CaseId: id,
      Ticket: posted.body['Ticket'],
      ServiceId: mine.id,
      Status: 'WAITING',
      LastAction: 'ENQUEUE',
      LastAgent: null,
      Position: posted.body['Position'],
      EstimatedWaitSeconds: null,
      EstimatedWaitRange: null,
      CalledAt: null,
      ClosedAt: null,
    });
    expect(posted.body['Position']).toBeGreaterThanOrEqual(2);
    for (const personal of PERSONAL) expect(waiting.text).not.toContain(personal);
    expect(await followed(kiosk, id, receipt)).toEqual(asCaseUpdate(waiting.body));

    const called = await graphql(agent, `mutation { callCase(input: { caseId: ${id}, agent: "desk-3" }) { id } }`);
    expect(called).toEqual({ status: 200, body: { data: { callCase: { id } } } });
    const inService = await read(kiosk, id, receipt);
    expect(inService.body).toMatchObject({
      Status: 'IN_SERVICE',
      LastAction: 'CALL_CASE',
      LastAgent: 'desk-3',
      Position: null,
      EstimatedWaitSeconds: null,
      EstimatedWaitRange: null,
      ClosedAt: null,
    });
    expect(inService.body['CalledAt']).toEqual(expect.any(String));
    expect(await followed(kiosk, id, receipt)).toEqual(asCaseUpdate(inService.body));

    await graphql(agent, `mutation { completeCase(input: { caseId: ${id}, agent: "desk-3" }) { id } }`);
    const closed = await read(kiosk, id, receipt);
    expect(closed.body).toMatchObject({ Status: 'COMPLETED', LastAction: 'COMPLETE' });
    expect(closed.body['ClosedAt']).toEqual(expect.any(String));
    expect(Object.keys(closed.body)).toEqual(CASE_STATE_FIELDS);
    for (const personal of PERSONAL) expect(closed.text).not.toContain(personal);

    const document = await openApi();
    for (const answer of [waiting, inService, closed]) {
      expect(mismatches(document, { $ref: '#/components/schemas/CaseState' }, answer.body)).toEqual([]);
      expect(mismatches(document, answerSchema(document, '/api/Cases/{id}', 'get', 200), answer.body)).toEqual([]);
    }
  });
});

describe('GET /api/Cases/{id} by a kiosk without the receipt', () => {
  it('is one 403 for no receipt, a wrong one, another case’s, whether the case exists or not', async () => {
    const own = await enqueued(kiosk, mine.id);
    const another = await enqueued(kiosk, mine.id);
    const flipped = `${own.receipt.slice(0, -1)}${own.receipt.endsWith('A') ? 'B' : 'A'}`;
    // [what, case id, receipt]: every one answered alike, to either kiosk.
    const attempts: [string, number, string | undefined][] = [
      ['no receipt', own.id, undefined],
      ['an empty one', own.id, ''],
      ['not a receipt', own.id, 'nonsense'],
      ['one character changed', own.id, flipped],
      ['another case’s', own.id, another.receipt],
      ['its own, twice', own.id, `${own.receipt}, ${own.receipt}`],
      ['no receipt, no case', MISSING, undefined],
      ['a receipt, no case', MISSING, own.receipt],
    ];
    const distinct = new Set<string>();
    for (const [, id, receipt] of attempts)
      for (const key of [kiosk, limitedKiosk]) {
        const { status, text } = await read(key, id, receipt);
        distinct.add(JSON.stringify({ status, body: JSON.parse(text) as unknown }));
      }
    expect([...distinct]).toEqual([
      JSON.stringify({
        status: 403,
        body: {
          Message: `${RECEIPT_HEADER}: must be the receipt POST /api/Cases answered for this case`,
          Code: 'FORBIDDEN',
          Field: RECEIPT_HEADER,
          Rule: 'receipt',
          Issues: [
            {
              Field: RECEIPT_HEADER,
              Rule: 'receipt',
              Message: 'must be the receipt POST /api/Cases answered for this case',
            },
          ],
        },
      }),
    ]);
    const document = await openApi();
    const refused = await read(kiosk, own.id);
    expect(mismatches(document, answerSchema(document, '/api/Cases/{id}', 'get', 403), refused.body)).toEqual([]);
    // A receipt in the query string is not one: it would end up in access logs.
    const inQuery = await call('GET', `/api/Cases/${own.id}?receipt=${own.receipt}`, {
      authorization: kiosk.authorization,
    });
    expect(inQuery.status).toBe(403);
  });
});

describe('service limits, as GraphQL has them', () => {
  it('a receipt opens its case whatever the kiosk’s limit, as caseChanged follows it', async () => {
    const elsewhere = await enqueued(kiosk, other.id);
    const answer = await read(limitedKiosk, elsewhere.id, elsewhere.receipt);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ CaseId: elsewhere.id, ServiceId: other.id, Status: 'WAITING' });
    expect(await followed(limitedKiosk, elsewhere.id, elsewhere.receipt)).toEqual(asCaseUpdate(answer.body));
  });

  it('a limited kiosk enqueues only into its services: another is an unknown service', async () => {
    const refused = await call(
      'POST',
      '/api/Cases',
      { authorization: limitedKiosk.authorization },
      `{"ServiceId": ${other.id}}`,
    );
    const missing = await call(
      'POST',
      '/api/Cases',
      { authorization: limitedKiosk.authorization },
      `{"ServiceId": ${MISSING}}`,
    );
    expect(refused.status).toBe(400);
    expect(refused.text.replaceAll(String(other.id), '<id>')).toBe(missing.text.replaceAll(String(MISSING), '<id>'));
  });
});

describe('other roles', () => {
  it('an agent reads the case whole, receipt or not, as before', async () => {
    const { id, receipt } = await enqueued(kiosk, mine.id);
    const whole = await read(agent, id);
    expect(whole.status).toBe(200);
    expect(whole.body).toMatchObject({ CaseId: id, Subject: PERSONAL[0], History: [expect.anything()] });
    expect((await read(agent, id, receipt)).text).toBe(whole.text);
    expect((await read(agent, id, 'nonsense')).text).toBe(whole.text);
  });

  it('a screen reads no case, receipt or not, as GraphQL refuses it case and caseChanged', async () => {
    const { id, receipt } = await enqueued(kiosk, mine.id);
    const refusal = {
      status: 403,
      body: { Message: 'This credential may not use GET /api/Cases/{id}', Code: 'FORBIDDEN' },
    };
    expect(await read(screen, id, receipt)).toMatchObject(refusal);
    expect(await read(screen, id)).toMatchObject(refusal);
    expect(await read(screen, MISSING)).toMatchObject(refusal);
    const overGraphql = await graphql(screen, `{ case(id: ${id}) { ticket } }`);
    expect(overGraphql).toMatchObject({ status: 403, body: { errors: [{ extensions: { code: 'FORBIDDEN' } }] } });
    await expect(followed(screen, id, receipt)).rejects.toThrow(/"code":"FORBIDDEN"/);
  });
});
