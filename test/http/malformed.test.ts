// Malformed HTTP: every request the gateway cannot take gets a 4xx with a
// coded JSON body (never a 500, an empty body or a crash), bodies must be
// UTF-8, and errors quote input only up to a small bound.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quote, QUOTE_LIMIT } from '../../src/http/respond.js';
import * as given from '../helpers/given.js';
import { parseResponse, rawExchange, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let port: number;
let serviceId: number;

beforeAll(async () => {
  t = await startTestGateway();
  port = Number(new URL(t.gateway.url).port);
  serviceId = (await given.service(t.db)).id;
});

afterAll(async () => {
  await t.stop();
});

const host = 'Host: localhost';
const json = 'Content-Type: application/json';
const close = 'Connection: close';
const query = JSON.stringify({ query: '{ __typename }' });

async function send(request: string | Buffer): Promise<RawResponse> {
  const ending = await rawExchange(port, request);
  return parseResponse(ending.received);
}

/** A 4xx with a JSON body whose first error has `code`. */
function expectRefused(response: RawResponse, status: number, code: string): string {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = JSON.parse(response.body) as { errors: { message: string; extensions: { code: string } }[] };
  expect(body.errors[0]?.extensions.code).toBe(code);
  return body.errors[0]?.message ?? '';
}

describe('quote', () => {
  it('keeps short input and cuts long input to the limit with an ellipsis, whole characters only', () => {
    expect(quote('/nowhere')).toBe('/nowhere');
    expect(quote('x'.repeat(QUOTE_LIMIT))).toBe('x'.repeat(QUOTE_LIMIT));
    expect(quote('x'.repeat(QUOTE_LIMIT + 1))).toBe(`${'x'.repeat(QUOTE_LIMIT)}…`);
    expect(quote('🎫'.repeat(5_000))).toBe(`${'🎫'.repeat(QUOTE_LIMIT)}…`);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (input) => {
        const quoted = quote(input);
        expect(Array.from(quoted).length).toBeLessThanOrEqual(QUOTE_LIMIT + 1);
        expect(input.startsWith(quoted.endsWith('…') ? quoted.slice(0, -1) : quoted)).toBe(true);
      }),
    );
  });
});

describe('HTTP-level errors quote input up to a bound', () => {
  it('answers an 8 KB unknown path with a short 404', async () => {
    const path = `/${'a'.repeat(8 * 1024)}`;
    const response = await send(rawRequest([`GET ${path} HTTP/1.1`, host, close]));
    const message = expectRefused(response, 404, 'NOT_FOUND');
    expect(message).toContain('/graphql');
    expect(message).toContain(`${'a'.repeat(QUOTE_LIMIT - 1)}…`);
    expect(response.body.length).toBeLessThan(400);
  });
});

describe('bodies must be UTF-8', () => {
  const enqueue = (subject: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from(`{"query":"mutation($id: Int!) { enqueueCase(input: { serviceId: $id, subject: \\"`, 'utf8'),
      subject,
      Buffer.from(`\\" }) { caseId } }","variables":{"id":${serviceId}}}`, 'utf8'),
    ]);

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a byte UTF-8 never uses', [0xff]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a sequence cut short', [0xe2, 0x82]],
  ])('refuses %s with 400 and stores nothing', async (_name, bytes) => {
    const before = await rowCounts(t.sql);
    const body = enqueue(Buffer.concat([Buffer.from('Tran'), Buffer.from(bytes), Buffer.from('script')]));
    const message = expectRefused(
      await send(rawRequest(['POST /graphql HTTP/1.1', host, json, close], body)),
      400,
      'BAD_REQUEST',
    );
    expect(message).toBe('Request body is not valid UTF-8');
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('stores valid multi-byte UTF-8 exactly as sent', async () => {
    const subject = 'Café ✓ Привет 🎫';
    const response = await send(
      rawRequest(['POST /graphql HTTP/1.1', host, json, close], enqueue(Buffer.from(subject))),
    );
    expect(response.status).toBe(200);
    const { data } = JSON.parse(response.body) as { data: { enqueueCase: { caseId: number } } };
    const { rows } = await t.sql.query<{ subject: string }>('SELECT subject FROM cases WHERE id = $1', [
      data.enqueueCase.caseId,
    ]);
    expect(rows[0]?.subject).toBe(subject);
  });

  it('refuses a body exactly when it is not UTF-8, whatever the bytes', async () => {
    // Letters and bytes 0x80-0xff inside a JSON string: valid JSON whenever valid UTF-8.
    const byte = fc.oneof(fc.integer({ min: 0x41, max: 0x5a }), fc.integer({ min: 0x80, max: 0xff }));
    await fc.assert(
      fc.asyncProperty(fc.array(byte, { minLength: 1, maxLength: 12 }), async (bytes) => {
        const padding = Buffer.from(bytes);
        const body = Buffer.concat([
          Buffer.from('{"query":"{ __typename }","extensions":{"x":"'),
          padding,
          Buffer.from('"}}'),
        ]);
        const response = await send(rawRequest(['POST /graphql HTTP/1.1', host, json, close], body));
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(padding);
        } catch {
          valid = false;
        }
        if (valid) expect(response.status).toBe(200);
        else expect(expectRefused(response, 400, 'BAD_REQUEST')).toBe('Request body is not valid UTF-8');
      }),
      { numRuns: 60 },
    );
  });
});

describe('malformed requests get a coded JSON 4xx', () => {
  const post = (contentType: string, body: string) =>
    rawRequest(['POST /graphql HTTP/1.1', host, `Content-Type: ${contentType}`, close], body);

  it.each<[string, string | Buffer, number, string]>([
    ['PUT', rawRequest(['PUT /graphql HTTP/1.1', host, json, close], query), 405, 'METHOD_NOT_ALLOWED'],
    ['DELETE', rawRequest(['DELETE /graphql HTTP/1.1', host, close]), 405, 'METHOD_NOT_ALLOWED'],
    ['PATCH', rawRequest(['PATCH /graphql HTTP/1.1', host, json, close], query), 405, 'METHOD_NOT_ALLOWED'],
    [
      'a body on GET',
      rawRequest(['GET /graphql?query=%7B__typename%7D HTTP/1.1', host, json, close], query),
      400,
      'BAD_REQUEST',
    ],
    ['an XML body', post('application/xml', '<query/>'), 400, 'BAD_REQUEST'],
    ['a content type that only contains "json"', post('application/jsonx', query), 400, 'BAD_REQUEST'],
    [
      'a form (cross-site request protection)',
      post('application/x-www-form-urlencoded', 'query=x'),
      400,
      'BAD_REQUEST',
    ],
    ['JSON cut short', post('application/json', '{"query": '), 400, 'BAD_REQUEST'],
    ['a JSON array (no batching)', post('application/json', `[${query}]`), 400, 'BAD_REQUEST'],
    ['a JSON string', post('application/json', '"{ __typename }"'), 400, 'BAD_REQUEST'],
    ['a target that is not a URL', rawRequest(['GET http://[ HTTP/1.1', host, close]), 400, 'BAD_REQUEST'],
    ['no Host header', rawRequest(['GET /graphql HTTP/1.1', close]), 400, 'BAD_REQUEST'],
    [
      'headers over 16 KB',
      rawRequest(['GET /graphql HTTP/1.1', host, `X-Big: ${'b'.repeat(20_000)}`]),
      431,
      'REQUEST_HEADER_FIELDS_TOO_LARGE',
    ],
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'BAD_REQUEST'],
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'BAD_REQUEST'],
    [
      'a Content-Length that is not a number',
      rawRequest(['POST /graphql HTTP/1.1', host, json, 'Content-Length: abc']),
      400,
      'BAD_REQUEST',
    ],
    [
      'both Content-Length and chunks',
      rawRequest(['POST /graphql HTTP/1.1', host, json, 'Content-Length: 5', 'Transfer-Encoding: chunked']),
      400,
      'BAD_REQUEST',
    ],
    [
      'a chunk size that is not hex',
      `${rawRequest(['POST /graphql HTTP/1.1', host, json, 'Transfer-Encoding: chunked']).toString()}zz\r\nabc\r\n0\r\n\r\n`,
      400,
      'BAD_REQUEST',
    ],
    [
      'CONNECT (not a proxy)',
      rawRequest(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443']),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    [
      'an Expect other than 100-continue',
      post('application/json', query).toString().replace(close, `Expect: bogus\r\n${close}`),
      417,
      'EXPECTATION_FAILED',
    ],
    [
      'a control character in a header',
      rawRequest(['GET /graphql HTTP/1.1', host, 'X-Bad: a\u0001b', close]),
      400,
      'BAD_REQUEST',
    ],
  ])('%s', async (_name, request, status, code) => {
    expectRefused(await send(request), status, code);
  });

  it('says which methods /graphql allows, on OPTIONS and with every 405', async () => {
    const options = await send(rawRequest(['OPTIONS /graphql HTTP/1.1', host, close]));
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, POST, OPTIONS');
    const head = await send(rawRequest(['HEAD /graphql HTTP/1.1', host, close]));
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET, POST, OPTIONS');
    const put = await send(rawRequest(['PUT /graphql HTTP/1.1', host, json, close], query));
    expect(put.headers.get('allow')).toBe('GET, POST, OPTIONS');
  });

  it('keeps serving after a target that is not a URL (it used to throw out of the request handler)', async () => {
    await send(rawRequest(['GET http://[ HTTP/1.1', host, close]));
    const response = await send(rawRequest(['POST /graphql HTTP/1.1', host, json, close], query));
    expect(response.status).toBe(200);
  });

  it('still runs GET queries and JSON POSTs with parameters', async () => {
    const get = await send(
      rawRequest(['GET /graphql?query=%7B__typename%7D HTTP/1.1', host, 'Apollo-Require-Preflight: 1', close]),
    );
    expect(JSON.parse(get.body)).toEqual({ data: { __typename: 'Query' } });
    const withCharset = await send(post('Application/JSON; charset=utf-8', query));
    expect(JSON.parse(withCharset.body)).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('many bad variables at once', () => {
  it('answers 51 or more variable errors as bad input, never as an internal error', async () => {
    // graphql-js gives up after 50 variable errors with an error of its own, which had no code.
    const response = await fetch(t.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($i: CallNextInput!) { callNext(input: $i) { id } }',
        variables: { i: { serviceIds: Array.from({ length: 51 }, () => 'x'), agent: 'a' } },
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors.length).toBeGreaterThan(50);
    expect(body.errors.map((error) => error.extensions.code)).not.toContain('INTERNAL_SERVER_ERROR');
    expect(body.errors.at(-1)?.message).toMatch(/^Too many errors processing variables/);
    expect(body.errors.at(-1)?.extensions.code).toBe('BAD_USER_INPUT');
  });
});
