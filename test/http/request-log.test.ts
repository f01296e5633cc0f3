// The request log over a real run: one JSON line per HTTP request with its id,
// operation (a name the project knows), root fields, principal, outcome and
// duration, and no personal data anywhere in the log. Every personal field of the run carries a marker (a random string);
// the whole log is searched for each one.
import { randomBytes } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, Kind, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CallCaseDocument,
  CreateCustomerDocument,
  EnqueueCaseDocument,
  FollowCaseDocument,
  UpdateCustomerDocument,
} from '../../src/generated/operations/graphql.js';
import { REQUEST_MESSAGE } from '../../src/http/request-log.js';
import { createLogger } from '../../src/log.js';
import * as given from '../helpers/given.js';
import { liveClient } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** Everything the gateway logged, as written. */
const written: string[] = [];
const log = createLogger({ level: 'info', destination: { write: (line: string) => void written.push(line) } });

const markers: string[] = [];
/** A string found nowhere else: its random part is what the log is searched for. */
function marker(): string {
  const value = `mk${randomBytes(8).toString('hex')}`;
  markers.push(value);
  return value;
}

const requestLine = z.strictObject({
  level: z.literal('info'),
  time: z.iso.datetime(),
  pid: z.number(),
  hostname: z.string(),
  msg: z.literal(REQUEST_MESSAGE),
  requestId: z.string(),
  method: z.string(),
  route: z.string(),
  status: z.number().int(),
  operation: z.string().nullable(),
  fields: z.string().nullable(),
  outcome: z.string(),
  principal: z.string(),
  durationMs: z.number().nonnegative(),
  aborted: z.boolean(),
});
type RequestLine = z.infer<typeof requestLine>;

const lines = (): unknown[] => written.map((line) => JSON.parse(line) as unknown);
const requestLines = (): RequestLine[] =>
  lines()
    .filter((line) => z.object({ msg: z.literal(REQUEST_MESSAGE) }).safeParse(line).success)
    .map((line) => requestLine.parse(line));

/** What a request should have been logged as; `status` is what the client saw. */
interface Expected {
  readonly requestId: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly operation: string | null;
  readonly fields: string | null;
  readonly outcome: string;
}
const expected: Expected[] = [];

interface Answer {
  readonly status: number;
  readonly requestId: string | null;
  readonly body: unknown;
}

let t: TestGateway;
let origin: string;
let sent = 0;

/** Sends a request with an `x-request-id` of its own (unless `requestId` says otherwise). */
async function send(
  path: string,
  body: string,
  { requestId = `req-${(sent += 1)}`, contentType = 'application/json' } = {},
): Promise<Answer> {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-request-id': requestId },
    body,
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as text.
  }
  return { status: response.status, requestId: response.headers.get('x-request-id'), body: parsed };
}

const graphqlAnswer = z.object({
  data: z.unknown().optional(),
  errors: z.array(z.object({ extensions: z.object({ code: z.string() }) })).optional(),
});

/** A GraphQL request; records what its log line must say. */
async function graphql<TData, TVariables>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  outcome: string,
): Promise<{ data: TData }> {
  const definition = getOperationAST(document);
  const operation = definition?.name?.value;
  // The generated documents select their root fields plainly (no alias, no fragment).
  const fields = definition?.selectionSet.selections.flatMap((each) =>
    each.kind === Kind.FIELD ? [each.name.value] : [],
  );
  const answer = await send('/graphql', JSON.stringify({ query: print(document), variables }));
  const { data, errors } = graphqlAnswer.parse(answer.body);
  expect(errors?.[0]?.extensions.code ?? 'OK').toBe(outcome);
  expect(answer.requestId).toMatch(/^req-\d+$/);
  expected.push({
    requestId: answer.requestId ?? '',
    method: 'POST',
    route: '/graphql',
    status: answer.status,
    operation: operation ?? null,
    fields: fields?.join(',') ?? null,
    outcome,
  });
  return { data: data as TData };
}

/** A REST enqueue; records what its log line must say. */
async function restEnqueue(body: string, outcome: string, status: number): Promise<Answer> {
  const answer = await send('/api/Cases', body);
  expect(answer.status).toBe(status);
  expected.push({
    requestId: answer.requestId ?? '',
    method: 'POST',
    route: '/api/Cases',
    status,
    operation: null,
    fields: null,
    outcome,
  });
  return answer;
}

/** Waits (briefly) for a request line to be written: it is written once the answer is, maybe just after. */
async function lineOf(requestId: string): Promise<RequestLine> {
  await expect.poll(() => requestLines().some((line) => line.requestId === requestId)).toBe(true);
  const [line] = requestLines().filter((each) => each.requestId === requestId);
  if (!line) throw new Error(`no request line for ${requestId}`);
  return line;
}

// A database that refuses cases whose subject starts with "boom", quoting the
// subject and the notes, as PostgreSQL quotes refused values: an unexpected
// error from the database, with personal data in its message and detail.
const REFUSING_TRIGGER = `
  CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.subject LIKE 'boom%' THEN
      RAISE EXCEPTION 'refused subject "%"', NEW.subject USING DETAIL = 'notes: ' || coalesce(NEW.notes, '');
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER refuse_boom BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION refuse_boom();
`;

beforeAll(async () => {
  t = await startTestGateway({}, {}, log);
  origin = new URL(t.gateway.url).origin;
  await t.sql.query(REFUSING_TRIGGER);
});

afterAll(async () => {
  await t.stop();
});

describe('the request log', () => {
  it('has one line per request with its fields, and no personal data anywhere in the log', async () => {
    const service = await given.service(t.db, { extRef: `svc-${randomBytes(4).toString('hex')}` });

    // Every personal field of an enqueue, then a case followed over a WebSocket while it changes.
    const enqueued = await graphql(
      EnqueueCaseDocument,
      {
        input: {
          serviceId: service.id,
          subject: marker(),
          notes: marker(),
          extRef: marker(),
          customProperties: [
            { key: marker(), value: marker() },
            { key: 'plain', value: marker() },
          ],
        },
      },
      'OK',
    );
    const caseId = enqueued.data.enqueueCase.caseId;
    const live = liveClient(t.gateway.url);
    try {
      const following = live.subscribe(FollowCaseDocument, { caseId });
      await following.next();
      await graphql(CallCaseDocument, { input: { caseId, agent: 'desk-1' } }, 'OK');
      await following.until((data) => data.caseChanged.status === 'IN_SERVICE');
      // A variable of the wrong type, quoted back in the error the subscriber gets.
      const wrong = parse('subscription FollowWrong($caseId: Int!) { caseChanged(caseId: $caseId) { caseId } }');
      const refused = live.subscribe<unknown, Record<string, unknown>>(wrong, { caseId: marker() });
      expect((await refused.next()).errors).toHaveLength(1);
    } finally {
      await live.close();
    }

    // A customer's details, made and changed.
    const customer = await graphql(CreateCustomerDocument, { input: { name: marker(), extRef: marker() } }, 'OK');
    await graphql(
      UpdateCustomerDocument,
      { id: customer.data.createCustomer.id, input: { name: marker(), extRef: marker() } },
      'OK',
    );

    // Refusals that quote the input: an unknown service, a subject too long, a variable of the wrong type.
    await graphql(EnqueueCaseDocument, { input: { serviceIdExtRef: marker(), subject: marker() } }, 'NOT_FOUND');
    const tooLong = marker().repeat(8);
    await graphql(EnqueueCaseDocument, { input: { serviceId: service.id, subject: tooLong } }, 'BAD_USER_INPUT');
    const badVariable = await send(
      '/graphql',
      JSON.stringify({ query: 'query CaseById($id: Int!) { case(id: $id) { id } }', variables: { id: marker() } }),
    );
    expect(badVariable.status).toBe(400);
    expected.push({
      requestId: badVariable.requestId ?? '',
      method: 'POST',
      route: '/graphql',
      status: 400,
      // A name the project does not know (not in operations/): only the field says what it was.
      operation: 'other',
      fields: 'case',
      outcome: 'BAD_USER_INPUT',
    });

    // The REST API: an enqueue with every personal field, one too long, one that is not JSON.
    const rest = JSON.stringify({
      ServiceId: service.id,
      Subject: marker(),
      Notes: marker(),
      ExtRef: marker(),
      CustomProperties: { [marker()]: marker() },
    });
    await restEnqueue(rest, 'OK', 200);
    await restEnqueue(JSON.stringify({ ServiceId: service.id, Subject: marker().repeat(8) }), 'BAD_USER_INPUT', 400);
    await restEnqueue(`{"Subject": "${marker()}`, 'BAD_USER_INPUT', 400);
    const notJson = await send('/graphql', `{"query": "${marker()}`);
    expect(notJson.status).toBe(400);
    expected.push({
      requestId: notJson.requestId ?? '',
      method: 'POST',
      route: '/graphql',
      status: 400,
      operation: null,
      fields: null,
      outcome: 'BAD_REQUEST',
    });

    // Unexpected errors whose messages quote the subject and the notes (the trigger above).
    await graphql(
      EnqueueCaseDocument,
      { input: { serviceId: service.id, subject: `boom${marker()}`, notes: marker() } },
      'INTERNAL_SERVER_ERROR',
    );
    await restEnqueue(
      JSON.stringify({ ServiceId: service.id, Subject: `boom${marker()}`, Notes: marker() }),
      'INTERNAL_SERVER_ERROR',
      500,
    );

    // Each request has exactly one line, saying what the client was told.
    for (const each of expected) {
      const line = await lineOf(each.requestId);
      // The test gateway runs open: every request is the principal `open`.
      expect(line).toMatchObject({ ...each, principal: 'open', aborted: false });
      // Rounded to a tenth of a millisecond.
      expect(Math.round(line.durationMs * 10) / 10).toBe(line.durationMs);
    }
    const ids = requestLines().map((line) => line.requestId);
    expect(ids.toSorted()).toEqual(expected.map((each) => each.requestId).toSorted());

    // The unexpected errors were logged, with what says where, but none of the input.
    const errorLine = z.object({
      level: z.literal('error'),
      msg: z.string(),
      err: z.object({ type: z.string(), code: z.string().optional(), sqlState: z.string().optional() }),
    });
    const errors = lines().flatMap((line) => {
      const parsed = errorLine.safeParse(line);
      return parsed.success ? [parsed.data] : [];
    });
    expect(errors.map((each) => each.msg)).toEqual(
      expect.arrayContaining(['unexpected error while resolving', 'unexpected error in the REST API']),
    );
    expect(errors.map((each) => each.err.sqlState)).toContain('P0001');

    const log = written.join('');
    expect(markers.length).toBeGreaterThan(25);
    for (const each of markers) expect(log).not.toContain(each.slice(2, 12));
  });

  it('logs and echoes the request id a client sends, and replaces one that is not well-formed', async () => {
    const own = `client-${randomBytes(4).toString('hex')}`;
    const kept = await send('/graphql', JSON.stringify({ query: '{ __typename }' }), { requestId: own });
    expect(kept.requestId).toBe(own);
    expect(await lineOf(own)).toMatchObject({
      route: '/graphql',
      operation: 'anonymous',
      fields: '__typename',
      outcome: 'OK',
      status: 200,
    });

    const malformed = `bad id ${marker()} <script>`;
    const replaced = await send('/graphql', JSON.stringify({ query: '{ __typename }' }), { requestId: malformed });
    expect(replaced.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await lineOf(replaced.requestId ?? '')).outcome).toBe('OK');
    expect(written.join('')).not.toContain(markers.at(-1)?.slice(2, 12));
  });

  it("names the root fields an anonymous operation ran, by the schema's names, not its aliases", async () => {
    const service = await given.service(t.db);
    const enqueue = `mutation {
      first: enqueueCase(input: { serviceId: ${service.id}, subject: "${marker()}" }) { caseId }
      ... on Mutation { second: enqueueCase(input: { serviceId: ${service.id}, subject: "${marker()}" }) { caseId } }
    }`;
    const answer = await send('/graphql', JSON.stringify({ query: enqueue }));
    expect(answer.status).toBe(200);
    expect(await lineOf(answer.requestId ?? '')).toMatchObject({
      operation: 'anonymous',
      fields: 'enqueueCase',
      outcome: 'OK',
    });

    const fragment = `query { ...Both } fragment Both on Query { s: services(first: 1) { id } __typename hidden: case(id: 1) @skip(if: true) { id } }`;
    const read = await send('/graphql', JSON.stringify({ query: fragment }));
    expect(read.status).toBe(200);
    expect(await lineOf(read.requestId ?? '')).toMatchObject({ operation: 'anonymous', fields: 'services,__typename' });
    expect(written.join('')).not.toMatch(/"(first|second|s|hidden)"/);
  });

  it('writes an operation name only when the project knows it: any other is "other"', async () => {
    const service = await given.service(t.db);
    const personal = `Jane_Doe_SSN_${randomBytes(5).toString('hex')}`;
    const named = `mutation ${personal} { enqueueCase(input: { serviceId: ${service.id}, subject: "${marker()}" }) { caseId } }`;
    const unknown = await send('/graphql', JSON.stringify({ query: named, operationName: personal }));
    expect(unknown.status).toBe(200);
    expect(await lineOf(unknown.requestId ?? '')).toMatchObject({
      operation: 'other',
      fields: 'enqueueCase',
      outcome: 'OK',
    });
    // A name of operations/ is written as it is.
    const known = await send('/graphql', JSON.stringify({ query: 'query Services { __typename }' }));
    expect(await lineOf(known.requestId ?? '')).toMatchObject({ operation: 'Services', fields: '__typename' });
    expect(written.join('')).not.toContain(personal.slice(-10));
    expect(written.join('')).not.toContain('Jane_Doe');
  });
});
