// The REST compatibility routes over HTTP: POST /api/Cases takes the seed's
// request verbatim and answers its shape, GET /api/Cases/{id} reads a case,
// errors are coded and name the field as the client spells it, and the
// OpenAPI document is valid and describes the real answers.
import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import type { Logger } from '../../src/log.js';
import { MAX_BODY_BYTES } from '../../src/http/body.js';
import {
  JsonSyntaxError,
  MAX_JSON_DEPTH,
  parseJson,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from '../../src/rest/ordered-json.js';
import { RestError, restErrorBody, restErrorOf } from '../../src/rest/rest-errors.js';
import * as given from '../helpers/given.js';
import { post as graphqlPost } from '../helpers/credentials.js';
import { expectData } from '../helpers/graphql-client.js';
import { whileHolding } from '../helpers/locks.js';
import { answerSchema, isSchema, mismatches, schemaAt, type Schema } from '../helpers/openapi-answers.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

// The seed's sample request, verbatim (/work/shared/seeds/POST-Cases-CaseEnqueue.txt).
const SEED_REQUEST = `{
"CaseId": 1,
"ServiceId": 2,
"ServiceIdExtRef": "sample string 3",
"CustomerId": 4,
"ExtRef": "sample string 5",
"Notes": "sample string 6",
"Subject": "sample string 7",
"ClassificationCode": "sample string 8",
"AutoClose": true,
"CustomProperties": {
"sample string 1": "sample string 2",
"sample string 3": "sample string 4"
},
"ProcedureExtRef": "sample string 10",
"ProcedureOptionExtRef": "sample string 11"
}`;

const SEED_FIELDS = [
  'CaseId',
  'ServiceId',
  'ServiceIdExtRef',
  'CustomerId',
  'ExtRef',
  'Notes',
  'Subject',
  'ClassificationCode',
  'AutoClose',
  'CustomProperties',
  'ProcedureExtRef',
  'ProcedureOptionExtRef',
];
/** POST's answer: the seed's, then what a kiosk shows (1.1). */
const ENQUEUE_FIELDS = [...SEED_FIELDS, 'Ticket', 'Position', 'EstimatedWaitSeconds', 'EstimatedWaitRange', 'Receipt'];
const CASE_FIELDS = [
  ...SEED_FIELDS,
  'Ticket',
  'Status',
  'LastAction',
  'LastAgent',
  'Position',
  'EstimatedWaitSeconds',
  'EstimatedWaitRange',
  'EnqueuedAt',
  'QueuedAt',
  'CalledAt',
  'ClosedAt',
  'UpdatedAt',
  'History',
];
const HOLD_SERVICE = 'SELECT 1 FROM services WHERE id = $1 FOR NO KEY UPDATE';

type Body = Record<string, unknown>;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Body;
}

let t: TestGateway;
let origin: string;

async function call(origin: string, method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${origin}${path}`, { ...init, method });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text === '' ? {} : (JSON.parse(text) as Body),
  };
}

const post = (body: string, headers: Record<string, string> = {}, path = '/api/Cases'): Promise<Answer> =>
  call(origin, 'POST', path, { body, headers: { 'content-type': 'application/json', ...headers } });

const get = (path: string): Promise<Answer> => call(origin, 'GET', path);

beforeAll(async () => {
  t = await startTestGateway();
  origin = new URL(t.gateway.url).origin;
  // The rows the sample names, at the ids it names; the sequences then move
  // past them, so rows made later by given.* never collide.
  await given.service(t.db, { id: 1 });
  await given.service(t.db, { id: 2, extRef: 'sample string 3', queueCode: 'S' });
  await given.customer(t.db, { id: 4 });
  await t.sql.query(`SELECT setval(pg_get_serial_sequence('services', 'id'), (SELECT max(id) FROM services)),
                            setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers))`);
  await given.classification(t.db, { code: 'sample string 8' });
  await given.procedure(t.db, {
    extRef: 'sample string 10',
    options: { create: [{ extRef: 'sample string 11', name: 'Option 11' }] },
  });
  // Case 1 exists, so the sample's "CaseId": 1 can only be ignored or clobber it.
  const first = await given.waitingCase(t.db, { serviceId: 1, subject: 'the first case' });
  if (first.id !== 1) throw new Error(`the first case has the id ${first.id}`);
});

afterAll(async () => {
  await t.stop();
});

interface CaseRow {
  readonly service_id: number;
  readonly customer_id: number | null;
  readonly ext_ref: string | null;
  readonly notes: string | null;
  readonly subject: string | null;
  readonly classification_code: string | null;
  readonly auto_close: boolean;
  readonly procedure_ext_ref: string | null;
  readonly procedure_option_ext_ref: string | null;
  readonly status: string;
  readonly last_action: string;
  readonly last_agent: string | null;
  readonly ticket: string;
  readonly idempotency_key: string | null;
  readonly enqueued_at: Date;
  readonly queued_at: Date;
  readonly called_at: Date | null;
  readonly closed_at: Date | null;
  readonly updated_at: Date;
}

async function storedCase(id: number): Promise<CaseRow | undefined> {
  const { rows } = await t.sql.query<CaseRow>(
    `SELECT service_id, customer_id, ext_ref, notes, subject, classification_code, auto_close, procedure_ext_ref,
            procedure_option_ext_ref, status::text, last_action::text, last_agent, ticket, idempotency_key,
            enqueued_at, queued_at, called_at, closed_at, updated_at
       FROM cases WHERE id = $1`,
    [id],
  );
  return rows[0];
}

async function storedProperties(id: number): Promise<{ key: string; value: string; position: number }[]> {
  const { rows } = await t.sql.query<{ key: string; value: string; position: number }>(
    'SELECT key, value, position FROM case_properties WHERE case_id = $1 ORDER BY position',
    [id],
  );
  return rows;
}

/** The case's history as stored, in the answer's shape. */
async function storedHistory(id: number): Promise<Body[]> {
  const { rows } = await t.sql.query<{
    action: string;
    at: Date;
    agent: string | null;
    reason: string | null;
    from_status: string | null;
    to_status: string;
  }>(
    `SELECT action::text, at, agent, reason, from_status::text, to_status::text
       FROM case_events WHERE case_id = $1 ORDER BY id`,
    [id],
  );
  return rows.map((row) => ({
    Action: row.action,
    At: row.at.toISOString(),
    Agent: row.agent,
    Reason: row.reason,
    FromStatus: row.from_status,
    ToStatus: row.to_status,
  }));
}

const caseIdOf = (answer: Answer): number => {
  const id = answer.body['CaseId'];
  if (typeof id !== 'number') throw new Error(`no CaseId in ${answer.text}`);
  return id;
};

/** A fresh service of its own, so that positions in it are known. */
const freshService = async (): Promise<number> => (await given.service(t.db, { queueCode: 'F' })).id;

describe('POST /api/Cases', () => {
  it('takes the seed sample verbatim and answers every field as stored, ignoring its CaseId', async () => {
    const before = await rowCounts(t.sql);

    const answer = await post(SEED_REQUEST);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const caseId = caseIdOf(answer);
    expect(caseId).toBeGreaterThan(1);
    expect(answer.headers.get('location')).toBe(`/api/Cases/${caseId}`);
    expect(Object.keys(answer.body)).toEqual(ENQUEUE_FIELDS);
    const stored = await storedCase(caseId);
    expect(answer.body).toEqual({
      ...(JSON.parse(SEED_REQUEST) as Body),
      CaseId: caseId,
      Ticket: stored?.ticket,
      // AutoClose: closed at once, so no place in the queue.
      Position: null,
      EstimatedWaitSeconds: null,
      EstimatedWaitRange: null,
      Receipt: answer.body['Receipt'],
    });
    // 128 bits in base64url.
    expect(answer.body['Receipt']).toMatch(/^[\w-]{22}$/);

    expect(stored).toMatchObject({
      service_id: 2,
      customer_id: 4,
      ext_ref: 'sample string 5',
      notes: 'sample string 6',
      subject: 'sample string 7',
      classification_code: 'sample string 8',
      auto_close: true,
      procedure_ext_ref: 'sample string 10',
      procedure_option_ext_ref: 'sample string 11',
      // AutoClose: enqueued and closed at once.
      status: 'COMPLETED',
      last_action: 'AUTO_CLOSE',
      idempotency_key: null,
    });
    expect(await storedProperties(caseId)).toEqual([
      { key: 'sample string 1', value: 'sample string 2', position: 1 },
      { key: 'sample string 3', value: 'sample string 4', position: 2 },
    ]);
    expect(await rowCounts(t.sql)).toEqual({ cases: before.cases + 1, properties: before.properties + 2 });
    expect(await storedCase(1)).toMatchObject({ service_id: 1, subject: 'the first case', status: 'WAITING' });
  });

  it('matches names case-insensitively, ignores unknown ones, takes text/json and keeps CustomProperties in order', async () => {
    const serviceId = await freshService();
    const body = `{"serviceid": ${serviceId}, "SUBJECT": "first spelling", "subject": "last one wins",
      "Unknown": {"deep": [1, {"x": null}]}, "IdempotencyKey": "not a header",
      "customProperties": {"b": "1", "10": "2", "2": "3", "a": "4"}}`;

    const answer = await post(body, { 'content-type': 'text/json; charset=utf-8' });

    expect(answer.status).toBe(200);
    const caseId = caseIdOf(answer);
    expect(answer.body).toMatchObject({ ServiceId: serviceId, Subject: 'last one wins', AutoClose: false });
    // JSON.parse would reorder integer-like keys; the raw text shows the order sent.
    expect(answer.text).toContain('"CustomProperties":{"b":"1","10":"2","2":"3","a":"4"}');
    expect((await storedProperties(caseId)).map((property) => property.key)).toEqual(['b', '10', '2', 'a']);
    expect(await storedCase(caseId)).toMatchObject({ subject: 'last one wins', idempotency_key: null });
    // And read back in that order.
    expect((await get(`/api/Cases/${caseId}`)).text).toContain('"CustomProperties":{"b":"1","10":"2","2":"3","a":"4"}');
  });

  it('answers absent fields as null, no properties as {}, and takes a service by ExtRef alone', async () => {
    const answer = await post('{"ServiceIdExtRef": "sample string 3"}');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      CaseId: caseIdOf(answer),
      ServiceId: 2,
      ServiceIdExtRef: 'sample string 3',
      CustomerId: null,
      ExtRef: null,
      Notes: null,
      Subject: null,
      ClassificationCode: null,
      AutoClose: false,
      CustomProperties: {},
      ProcedureExtRef: null,
      ProcedureOptionExtRef: null,
      Ticket: answer.body['Ticket'],
      Position: answer.body['Position'],
      EstimatedWaitSeconds: null,
      EstimatedWaitRange: null,
      Receipt: answer.body['Receipt'],
    });
    expect(answer.body['Ticket']).toMatch(/^S\d{3,}$/);
    expect(answer.body['Position']).toBeGreaterThanOrEqual(1);
    expect(answer.body['Receipt']).toMatch(/^[\w-]{22}$/);
  });

  it('answers the ticket, place in the queue, estimate and receipt GraphQL answers for the same case', async () => {
    const { id: serviceId } = await given.service(t.db, { queueCode: 'R' });
    const first = await post(`{"ServiceId": ${serviceId}}`);
    const key = randomUUID();
    const second = await post(`{"ServiceId": ${serviceId}, "Subject": "second"}`, { 'idempotency-key': key });
    expect([first.body['Ticket'], first.body['Position']]).toEqual(['R001', 1]);
    expect([second.body['Ticket'], second.body['Position']]).toEqual(['R002', 2]);
    // The service was never served: no estimate yet.
    expect([first.body['EstimatedWaitSeconds'], second.body['EstimatedWaitSeconds']]).toEqual([null, null]);
    expect(first.body['Receipt']).not.toEqual(second.body['Receipt']);

    // The same request through GraphQL (the same key) is the same case, answered alike.
    const again = await graphqlPost(
      t.gateway.url,
      `mutation ($input: CaseEnqueueInput!) {
        enqueueCase(input: $input) { caseId ticket position estimatedWaitSeconds receipt }
      }`,
      { variables: { input: { serviceId, subject: 'second', idempotencyKey: key } } },
    );
    expect(again.body).toEqual({
      data: {
        enqueueCase: {
          caseId: caseIdOf(second),
          ticket: second.body['Ticket'],
          position: second.body['Position'],
          estimatedWaitSeconds: second.body['EstimatedWaitSeconds'],
          receipt: second.body['Receipt'],
        },
      },
    });
    // And the next case, enqueued over GraphQL, draws the next ticket of the same rule.
    const next = await graphqlPost(
      t.gateway.url,
      `mutation { enqueueCase(input: { serviceId: ${serviceId} }) { ticket position } }`,
    );
    expect(next.body).toEqual({ data: { enqueueCase: { ticket: 'R003', position: 3 } } });
  });

  it('is also at /api/Cases/, as ASP.NET routing has it', async () => {
    const serviceId = await freshService();
    const answer = await post(`{"ServiceId": ${serviceId}}`, {}, '/api/Cases/');
    expect(answer.status).toBe(200);
    expect((await storedCase(caseIdOf(answer)))?.service_id).toBe(serviceId);
  });
});

describe('GET /api/Cases/{id}', () => {
  it('answers the seed fields, where the case stands and its history, as stored and as GraphQL reads it', async () => {
    const posted = await post(SEED_REQUEST);
    const caseId = caseIdOf(posted);

    const answer = await get(`/api/Cases/${caseId}`);

    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(CASE_FIELDS);
    const stored = await storedCase(caseId);
    if (!stored) throw new Error('the case was not stored');
    expect(answer.body).toEqual({
      ...Object.fromEntries(SEED_FIELDS.map((field) => [field, posted.body[field]])),
      Ticket: posted.body['Ticket'],
      Status: 'COMPLETED',
      LastAction: 'AUTO_CLOSE',
      LastAgent: null,
      Position: null,
      EstimatedWaitSeconds: null,
      EstimatedWaitRange: null,
      EnqueuedAt: stored.enqueued_at.toISOString(),
      QueuedAt: stored.queued_at.toISOString(),
      CalledAt: null,
      ClosedAt: stored.closed_at?.toISOString(),
      UpdatedAt: stored.updated_at.toISOString(),
      History: await storedHistory(caseId),
    });
    expect(stored.ticket).toMatch(/^S\d{3}$/);
    expect(answer.body['Ticket']).toBe(stored.ticket);
    expect(answer.body['History']).toEqual([
      expect.objectContaining({ Action: 'AUTO_CLOSE', FromStatus: null, ToStatus: 'COMPLETED' }),
    ]);

    const { case: read } = expectData(await t.request(CaseDocument, { id: caseId }));
    expect(read).toMatchObject({
      ticket: answer.body['Ticket'],
      status: answer.body['Status'],
      enqueuedAt: answer.body['EnqueuedAt'],
      closedAt: answer.body['ClosedAt'],
    });
    expect(
      read?.history.map((event) => ({
        Action: event.action,
        At: event.at,
        Agent: event.agent,
        Reason: event.reason,
        FromStatus: event.fromStatus,
        ToStatus: event.toStatus,
      })),
    ).toEqual(answer.body['History']);
  });

  it('answers a waiting case with its position, and a served one with every step of its history', async () => {
    const serviceId = await freshService();
    await post(`{"ServiceId": ${serviceId}}`);
    const second = caseIdOf(await post(`{"ServiceId": ${serviceId}, "Subject": "second"}`));
    const waiting = await get(`/api/Cases/${second}`);
    expect(waiting.body).toMatchObject({
      Status: 'WAITING',
      LastAction: 'ENQUEUE',
      Position: 2,
      CalledAt: null,
      ClosedAt: null,
      History: [
        {
          Action: 'ENQUEUE',
          At: waiting.body['EnqueuedAt'],
          Agent: null,
          Reason: null,
          FromStatus: null,
          ToStatus: 'WAITING',
        },
      ],
    });
    // The service was never served: no estimate.
    expect(waiting.body['EstimatedWaitSeconds']).toBeNull();

    const served = await given.caseIn(t.db, 'COMPLETED', { serviceId }, 'desk-7');
    const answer = await get(`/api/Cases/${served.id}`);
    expect(answer.body).toMatchObject({
      Status: 'COMPLETED',
      LastAction: 'COMPLETE',
      LastAgent: 'desk-7',
      Position: null,
    });
    expect(answer.body['CalledAt']).toEqual(expect.any(String));
    const history = await storedHistory(served.id);
    expect(history.map((event) => event['Action'])).toEqual(['ENQUEUE', 'CALL_CASE', 'COMPLETE']);
    expect(answer.body['History']).toEqual(history);
  });

  it('answers 404 naming the id for a missing case, and 400 for an id that is not a positive 32-bit integer', async () => {
    const missing = await get('/api/Cases/2147483647');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ Code: 'NOT_FOUND', Field: 'id', Rule: 'exists' });
    for (const id of ['abc', '0', '-1', '2147483648', '1.5', '%31', '99999999999']) {
      const answer = await get(`/api/Cases/${id}`);
      expect(answer.status, id).toBe(400);
      expect(answer.body, id).toMatchObject({ Code: 'BAD_USER_INPUT', Field: 'id', Rule: 'type' });
    }
    const deeper = await get('/api/Cases/1/history');
    expect(deeper.status).toBe(404);
    expect(deeper.body).toMatchObject({ Code: 'NOT_FOUND' });
  });

  it('answers HEAD like GET without a body', async () => {
    const path = `/api/Cases/${caseIdOf(await post('{"ServiceId": 2}'))}`;
    const head = await call(origin, 'HEAD', path);
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength((await get(path)).text));
  });
});

describe('bad input', () => {
  interface BadCase {
    readonly name: string;
    readonly body: string;
    readonly field: string;
    readonly rule: string;
    readonly code: string;
  }
  const bad = (name: string, body: string, field: string, rule: string, code = 'BAD_USER_INPUT'): BadCase => ({
    name,
    body,
    field,
    rule,
    code,
  });
  const cases: readonly BadCase[] = [
    bad('a Subject too long', `{"ServiceId": 2, "Subject": "${'x'.repeat(101)}"}`, 'Subject', 'maxLength'),
    bad('a Subject of the wrong type', '{"ServiceId": 2, "Subject": 5}', 'Subject', 'type'),
    bad('a ServiceId as a string', '{"ServiceId": "2"}', 'ServiceId', 'type'),
    bad('a ServiceId beyond 32 bits', '{"ServiceId": 2147483648}', 'ServiceId', 'type'),
    bad('a ServiceId that is not whole', '{"ServiceId": 2.5}', 'ServiceId', 'type'),
    bad('a CaseId of the wrong type', '{"ServiceId": 2, "caseid": "one"}', 'CaseId', 'type'),
    bad('AutoClose as a string', '{"ServiceId": 2, "AutoClose": "true"}', 'AutoClose', 'type'),
    bad(
      'CustomProperties as a list',
      '{"ServiceId": 2, "CustomProperties": [{"Key": "k"}]}',
      'CustomProperties',
      'type',
    ),
    bad(
      'a property value not a string',
      '{"ServiceId": 2, "CustomProperties": {"k": 1}}',
      'CustomProperties["k"]',
      'type',
    ),
    bad(
      'a property value too long',
      `{"ServiceId": 2, "CustomProperties": {"a": "", "k": "${'v'.repeat(1001)}"}}`,
      'CustomProperties["k"]',
      'maxLength',
    ),
    bad(
      'an empty property key',
      '{"ServiceId": 2, "CustomProperties": {"": "v"}}',
      'CustomProperties[""].Key',
      'minLength',
    ),
    bad('no service', '{"Subject": "where to?"}', 'ServiceId', 'required'),
    bad('a ServiceId of 0', '{"ServiceId": 0}', 'ServiceId', 'positive'),
    bad('an unknown service', '{"ServiceId": 999999}', 'ServiceId', 'exists', 'NOT_FOUND'),
    bad('an unknown service ExtRef', '{"ServiceIdExtRef": "nowhere"}', 'ServiceIdExtRef', 'exists', 'NOT_FOUND'),
    bad('an unknown customer', '{"ServiceId": 2, "CustomerId": 999999}', 'CustomerId', 'exists', 'NOT_FOUND'),
    bad(
      'an unknown classification',
      '{"ServiceId": 2, "ClassificationCode": "no"}',
      'ClassificationCode',
      'exists',
      'NOT_FOUND',
    ),
    bad(
      'an option of another procedure',
      '{"ServiceId": 2, "ProcedureExtRef": "sample string 10", "ProcedureOptionExtRef": "nope"}',
      'ProcedureOptionExtRef',
      'belongsToProcedure',
    ),
    bad('an array body', '[{"ServiceId": 2}]', '$', 'type'),
    bad('a string body', '"ServiceId"', '$', 'type'),
    bad('a null body', 'null', '$', 'type'),
    bad('broken JSON', '{"ServiceId": 2,}', '$', 'json'),
    bad('a raw line break in a JSON string', '{"ServiceId": 2, "Subject": "two\r\nlines"}', '$', 'json'),
    bad('an empty body', '', '$', 'required'),
  ];

  // Every bad request is the client's to fix: 400, whatever the code.
  it.each(cases)('$name: 400 $code $field $rule, nothing written', async ({ body, code, field, rule }) => {
    const before = await rowCounts(t.sql);
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ Code: code, Field: field, Rule: rule });
    expect(answer.body['Message']).toEqual(expect.stringContaining(field));
    expect(answer.body['Issues']).toEqual(
      expect.arrayContaining([expect.objectContaining({ Field: field, Rule: rule })]),
    );
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('lists every field at fault, and names fields in messages as the client spells them', async () => {
    const answer = await post(`{"Subject": "${'s'.repeat(101)}", "Notes": 7, "ServiceId": "x"}`);
    expect(answer.status).toBe(400);
    expect(answer.body['Issues']).toEqual([
      { Field: 'ServiceId', Rule: 'type', Message: 'must be a 32-bit integer' },
      { Field: 'Notes', Rule: 'type', Message: 'must be a string' },
    ]);
    const missing = await post('{"ProcedureOptionExtRef": "sample string 11", "ServiceId": 2}');
    expect(missing.body).toMatchObject({ Field: 'ProcedureExtRef', Rule: 'required' });
    expect(missing.body['Message']).toBe('ProcedureExtRef: is required when ProcedureOptionExtRef is given');
  });

  it('cuts a long key in the field name', async () => {
    const key = 'k'.repeat(150);
    const answer = await post(`{"ServiceId": 2, "CustomProperties": {"${key}": "v"}}`);
    expect(answer.body).toMatchObject({ Field: `CustomProperties["${'k'.repeat(100)}…"].Key`, Rule: 'maxLength' });
  });
});

describe('Idempotency-Key', () => {
  const body = (subject: string) =>
    JSON.stringify({ ServiceId: 2, Subject: subject, CustomProperties: { b: '1', a: '2' } });

  it('answers a retry with the first case, writing nothing, and shares keys with the GraphQL mutation', async () => {
    const key = randomUUID();
    const first = await post(body('retry me'), { 'idempotency-key': key });
    expect(first.status).toBe(200);
    const before = await rowCounts(t.sql);
    const again = await post(body('retry me'), { 'Idempotency-Key': key });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(await rowCounts(t.sql)).toEqual(before);
    expect((await storedCase(caseIdOf(first)))?.idempotency_key).toBe(key);

    // The same request through GraphQL is the same request: the same case.
    const { enqueueCase } = expectData(
      await t.request(EnqueueCaseDocument, {
        input: {
          serviceId: 2,
          subject: 'retry me',
          customProperties: [
            { key: 'b', value: '1' },
            { key: 'a', value: '2' },
          ],
          idempotencyKey: key,
        },
      }),
    );
    expect(enqueueCase.caseId).toBe(caseIdOf(first));
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('answers 409 for the key reused with another body, writing nothing', async () => {
    const key = randomUUID();
    expect((await post(body('one thing'), { 'idempotency-key': key })).status).toBe(200);
    const before = await rowCounts(t.sql);
    const answer = await post(body('another thing'), { 'idempotency-key': key });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ Code: 'CONFLICT', Field: 'Idempotency-Key', Rule: 'unique' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('answers a retry with the first case after the classification and procedure it named were deactivated', async () => {
    const classification = await given.classification(t.db);
    const procedure = await given.procedure(t.db, { options: { create: [{ extRef: 'opt', name: 'Option' }] } });
    const named = JSON.stringify({
      ServiceId: 2,
      Subject: 'named references',
      ClassificationCode: classification.code,
      ProcedureExtRef: procedure.extRef,
      ProcedureOptionExtRef: 'opt',
    });
    const key = randomUUID();
    const first = await post(named, { 'idempotency-key': key });
    expect(first.status).toBe(200);
    await t.db.classification.update({ where: { id: classification.id }, data: { active: false } });
    await t.db.procedure.update({ where: { id: procedure.id }, data: { active: false } });
    const before = await rowCounts(t.sql);
    const again = await post(named, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    // A new request naming them is refused by the rule, as before.
    const fresh = await post(named, { 'idempotency-key': randomUUID() });
    expect(fresh.status).toBe(400);
    expect(fresh.body).toMatchObject({ Code: 'BAD_USER_INPUT', Field: 'ClassificationCode', Rule: 'active' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('checks the key by the domain rules, naming the header', async () => {
    const before = await rowCounts(t.sql);
    const answer = await post(body('long key'), { 'idempotency-key': 'k'.repeat(101) });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ Code: 'BAD_USER_INPUT', Field: 'Idempotency-Key', Rule: 'maxLength' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });
});

describe('HTTP statuses', () => {
  it('answers 405 with Allow for other methods, and 204 with Allow to OPTIONS', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await call(origin, method, '/api/Cases', method === 'GET' ? {} : { body: '{}' });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('POST, OPTIONS');
      expect(answer.body).toMatchObject({ Code: 'METHOD_NOT_ALLOWED' });
    }
    const onCase = await call(origin, 'POST', '/api/Cases/1', { body: '{}' });
    expect(onCase.status).toBe(405);
    expect(onCase.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    const options = await call(origin, 'OPTIONS', '/api/Cases');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('answers 415 to a body that is not JSON in UTF-8, writing nothing', async () => {
    const before = await rowCounts(t.sql);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=iso-8859-1']) {
      const answer = await post('{"ServiceId": 2}', { 'content-type': type });
      expect(answer.status, type).toBe(415);
      expect(answer.body).toMatchObject({ Code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    const untyped = await call(origin, 'POST', '/api/Cases', { body: new Blob(['{"ServiceId": 2}']) });
    expect(untyped.status).toBe(415);
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('answers 413 to a body over 1 MiB, and 400 to one that is not UTF-8', async () => {
    const large = await post(`{"ServiceId": 2, "Notes": "${'n'.repeat(1024 * 1024)}"}`);
    expect(large.status).toBe(413);
    expect(large.body).toMatchObject({ Code: 'PAYLOAD_TOO_LARGE' });
    const latin1 = await call(origin, 'POST', '/api/Cases', {
      body: Buffer.from('{"ServiceId": 2, "Subject": "caf\u00e9"}', 'latin1'),
      headers: { 'content-type': 'application/json' },
    });
    expect(latin1.status).toBe(400);
    expect(latin1.body).toMatchObject({ Field: '$', Rule: 'utf8' });
  });

  it('answers 503 with Retry-After when the database does not answer in time, writing nothing', async () => {
    const slow = await startTestGateway(
      {},
      { DATABASE_STATEMENT_TIMEOUT_MS: '300', DATABASE_LOCK_TIMEOUT_MS: '60000' },
    );
    try {
      const service = await given.service(slow.db);
      const before = await rowCounts(slow.sql);
      const answer = await whileHolding(slow.sql, HOLD_SERVICE, [service.id], () =>
        call(new URL(slow.gateway.url).origin, 'POST', '/api/Cases', {
          body: JSON.stringify({ ServiceId: service.id }),
          headers: { 'content-type': 'application/json' },
        }),
      );
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(answer.body).toEqual({
        Message: 'The database is unavailable or did not answer in time; try again later',
        Code: 'DATABASE_UNAVAILABLE',
      });
      expect(await rowCounts(slow.sql)).toEqual(before);
    } finally {
      await slow.stop();
    }
  });

  it('answers an unexpected error 500 without details, and logs it', () => {
    const logged: unknown[] = [];
    const log: Logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (message, error) => logged.push(message, error),
    };
    const failure = new Error('relation "secret_table" does not exist');
    const error = restErrorOf(failure, log, () => undefined);
    expect(error).toBeInstanceOf(RestError);
    expect(error.status).toBe(500);
    expect(restErrorBody(error)).toEqual({ Message: 'Internal server error', Code: 'INTERNAL_SERVER_ERROR' });
    expect(logged).toContain(failure);
  });
});

describe('GET /api/openapi.json', () => {
  it('serves a valid OpenAPI document that describes the real answers', async () => {
    const served = await get('/api/openapi.json');
    expect(served.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(served.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\.1/);
    const document = served.body;
    const schema = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

    // The property names, exactly, in the order of the document.
    const components = schemaAt(document, { $ref: '#/components/schemas' });
    const propertyNames = (name: string): string[] => {
      const properties = schemaAt(document, schema(name))['properties'];
      return isSchema(properties) ? Object.keys(properties) : [];
    };
    expect(Object.keys(components)).toEqual(
      expect.arrayContaining(['CaseEnqueue', 'CaseEnqueueResult', 'Case', 'CaseState', 'Error']),
    );
    expect(propertyNames('CaseEnqueue')).toEqual(SEED_FIELDS);
    expect(propertyNames('CaseEnqueueResult')).toEqual(ENQUEUE_FIELDS);
    expect(propertyNames('Case')).toEqual(CASE_FIELDS);
    // Answers may gain properties: the document says clients ignore the ones they do not know.
    expect(JSON.stringify(document['info'])).toContain('clients must ignore properties they do not know');

    // Real answers, checked against the schemas the document gives their statuses.
    const posted = await post(SEED_REQUEST);
    const waitingId = caseIdOf(await post('{"ServiceId": 2, "CustomProperties": {"k": "v"}}'));
    const answers: [string, string, Answer][] = [
      ['/api/Cases', 'post', posted],
      ['/api/Cases', 'post', await post('{"Subject": 1}')],
      ['/api/Cases', 'post', await post('{"ServiceId": 999999}')],
      ['/api/Cases', 'post', await post('{}', { 'content-type': 'text/plain' })],
      ['/api/Cases', 'post', await call(origin, 'DELETE', '/api/Cases')],
      ['/api/Cases/{id}', 'get', await get(`/api/Cases/${caseIdOf(posted)}`)],
      ['/api/Cases/{id}', 'get', await get(`/api/Cases/${waitingId}`)],
      ['/api/Cases/{id}', 'get', await get('/api/Cases/2147483647')],
      ['/api/Cases/{id}', 'get', await get('/api/Cases/x')],
    ];
    for (const [pathKey, method, answer] of answers) {
      expect(
        mismatches(document, answerSchema(document, pathKey, method, answer.status), answer.body),
        answer.text,
      ).toEqual([]);
    }
    // The checker itself catches a drift.
    expect(mismatches(document, schema('Case'), { ...answers[5]![2].body, Extra: 1 })).toEqual([
      '.Extra: not in the document',
    ]);
    expect(mismatches(document, schema('CaseEnqueueResult'), { ...posted.body, AutoClose: 'yes' })).toEqual([
      '.AutoClose: string where the document says "boolean"',
    ]);
  });
});

const isList = (value: JsonValue): value is readonly JsonValue[] => Array.isArray(value);
const isObject = (value: JsonValue): value is JsonObject => value instanceof Map;

/** A parsed value with its Maps as plain objects, to compare with JSON.parse. */
function plain(value: JsonValue): unknown {
  if (isObject(value)) return Object.fromEntries([...value].map(([key, member]) => [key, plain(member)]));
  if (isList(value)) return value.map(plain);
  return value;
}

describe('ordered JSON', () => {
  it('parses exactly what JSON.parse parses, to the same values, and refuses what it refuses', () => {
    const accepts = (parse: () => unknown): boolean => {
      try {
        parse();
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(fc.json({ depthSize: 'small' }), (text) => {
        expect(plain(parseJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
    // Valid JSON with a character replaced, removed or inserted, and arbitrary text. Raw
    // control characters are whitespace between tokens (or not) and never allowed in strings.
    const edited = fc
      .tuple(
        fc.json({ depthSize: 'small' }),
        fc.nat(),
        fc.constantFrom('', ' ', '"', '\\', ',', ':', '}', ']', '0', '-', '.', 'e', '/', '\u0001', '\t', '\n', '\r\n'),
        fc.boolean(),
      )
      .map(([text, at, insert, replace]) => {
        const where = at % (text.length + 1);
        return text.slice(0, where) + insert + text.slice(replace ? where + 1 : where);
      });
    fc.assert(
      fc.property(fc.oneof(edited, fc.string()), (text) => {
        expect(accepts(() => parseJson(text))).toBe(accepts(() => JSON.parse(text)));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses comments, trailing commas, NaN, single quotes and raw control characters in strings', () => {
    for (const text of [
      '{"a": 1} // note',
      '/* note */ {"a": 1}',
      '{"a": 1,}',
      '[1, 2,]',
      '{"a": NaN}',
      '[Infinity]',
      "{'a': 1}",
      '{a: 1}',
      '"tab\tinside"',
      '"CR LF\r\ninside"',
      '"\u0000"',
      '\ufeff{}',
    ]) {
      expect(() => JSON.parse(text) as unknown, text).toThrow(SyntaxError);
      expect(() => parseJson(text), text).toThrow(JsonSyntaxError);
    }
    // Messages say where (counted in characters from 1).
    expect(() => parseJson('{"a": 1,\n "b": [true,]}')).toThrow('unexpected character at character 22');
    expect(() => parseJson('{"a": 1,\r\n "b": "x\ny"}')).toThrow(/control character.* at character 19/);
  });

  it('keeps members in the order given, integer-like keys included, through parse and stringify', () => {
    const text = '{"b":"1","10":"2","2":"3","a":{"z":null,"0":[true,false,-1500.5]}}';
    expect(stringifyJson(parseJson(text))).toBe(text);
    expect(JSON.stringify(JSON.parse(text))).not.toBe(text);
  });

  it('takes the last of duplicate names, in the place of the first, as JSON.parse does', () => {
    const text = '{"10":"a","b":"b","10":"c","2":"d","b":"e"}';
    const parsed = parseJson(text);
    expect(isObject(parsed) ? [...parsed] : parsed).toEqual([
      ['10', 'c'],
      ['b', 'e'],
      ['2', 'd'],
    ]);
    expect(plain(parsed)).toEqual(JSON.parse(text));
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels before the parser recurses into it`, () => {
    const arrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect(() => parseJson(arrays(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => parseJson(arrays(MAX_JSON_DEPTH + 1))).toThrow(`nesting deeper than ${MAX_JSON_DEPTH}`);
    expect(() => parseJson(objects(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => parseJson(objects(MAX_JSON_DEPTH + 1))).toThrow(`nesting deeper than ${MAX_JSON_DEPTH}`);
    // As deep as the body limit allows, unclosed or closed: refused, not a stack overflow (a RangeError).
    for (const text of [
      '['.repeat(MAX_BODY_BYTES),
      arrays(MAX_BODY_BYTES / 2),
      objects(Math.floor(MAX_BODY_BYTES / 6)),
    ]) {
      expect(() => parseJson(text)).toThrow(`nesting deeper than ${MAX_JSON_DEPTH} levels at character`);
    }
    // Brackets in strings, escaped quotes included, are text.
    const brackets = `["\\"${'['.repeat(1000)}", "{\\"", 1]`;
    expect(plain(parseJson(brackets))).toEqual(JSON.parse(brackets));
  });

  it('answers a body nested as deep as the body limit allows with a 400 that says why, and keeps serving', async () => {
    const before = await rowCounts(t.sql);
    const answer = await post('['.repeat(MAX_BODY_BYTES));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      Code: 'BAD_USER_INPUT',
      Field: '$',
      Rule: 'json',
      Message: `$: is not valid JSON: nesting deeper than ${MAX_JSON_DEPTH} levels at character ${MAX_JSON_DEPTH + 1}`,
    });
    expect(await rowCounts(t.sql)).toEqual(before);
    expect((await get('/api/Cases/1')).status).toBe(200);
  });
});
