// The per-request path kept cheap (issue 19) answers as before: a body that
// came whole with its headers is read at once, one that trickles in is read
// as it comes, and either way the connection stays usable; each answer goes
// out with the same headers; the answer-size walk is skipped only for
// operations whose answer is small by their types alone.
import { setTimeout as sleep } from 'node:timers/promises';
import { Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchema } from '../../src/graphql/schema.js';
import { answerBound, MAX_RESPONSE_BYTES } from '../../src/graphql/response-size.js';
import { parseResponse, rawConnect, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let port: number;

beforeAll(async () => {
  t = await startTestGateway();
  port = Number(new URL(t.gateway.url).port);
});

afterAll(async () => {
  await t.stop();
});

const query = JSON.stringify({ query: '{ __typename }' });
const head = (extra: readonly string[] = []) => [
  'POST /graphql HTTP/1.1',
  'Host: localhost',
  'Content-Type: application/json',
  ...extra,
];

/** Every response in `received`, in order (each has a Content-Length). */
function responses(received: Buffer): RawResponse[] {
  const found: RawResponse[] = [];
  let rest = received;
  while (rest.length > 0) {
    const response = parseResponse(rest);
    found.push(response);
    const headEnd = rest.indexOf('\r\n\r\n');
    rest = rest.subarray(headEnd + 4 + Number(response.headers.get('content-length')));
  }
  return found;
}

describe('request bodies', () => {
  it('answers a body sent with its headers, one sent in pieces, and a second request on the same connection alike', async () => {
    const whole = rawRequest(head(), query);
    const split = rawRequest(head(['Connection: close']), query);
    const cut = split.length - 10;
    const connection = await rawConnect(port, whole, 5_000);
    // The second request's body trickles in after its headers.
    await sleep(100);
    connection.socket.write(split.subarray(0, cut));
    await sleep(100);
    connection.socket.write(split.subarray(cut));
    const ending = await connection.ended;
    expect(ending.closedAfterMs).toBeDefined();
    const [first, second] = responses(ending.received);
    for (const response of [first, second]) {
      expect(response?.status).toBe(200);
      expect(JSON.parse(response?.body ?? '')).toEqual({ data: { __typename: 'Query' } });
      expect(response?.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(response?.headers.get('content-length')).toBe(String(Buffer.byteLength(response?.body ?? '')));
      expect(response?.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(first?.headers.get('x-request-id')).not.toBe(second?.headers.get('x-request-id'));
  });

  it('echoes a well-formed x-request-id and refuses a body that is not UTF-8 when it came whole', async () => {
    const connection = await rawConnect(
      port,
      Buffer.concat([
        rawRequest(head(['x-request-id: kiosk-7.42']), query),
        rawRequest(head(['Connection: close']), Buffer.from([0x7b, 0xff, 0x7d])),
      ]),
      5_000,
    );
    const [echoed, refused] = responses((await connection.ended).received);
    expect(echoed?.status).toBe(200);
    expect(echoed?.headers.get('x-request-id')).toBe('kiosk-7.42');
    expect(refused?.status).toBe(400);
    expect(JSON.parse(refused?.body ?? '')).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });
});

describe('answerBound', () => {
  const { schema } = createSchema();
  const bound = (text: string): number => {
    const document = parse(text);
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    if (operation?.kind !== Kind.OPERATION_DEFINITION) throw new Error('no operation');
    return answerBound(schema, document, operation);
  };

  it('bounds answers of type names, numbers, booleans and enum values, through fragments', () => {
    const typename = bound('{ __typename }');
    expect(typename).toBeLessThan(200);
    expect(bound('{ a: __typename b: __typename }')).toBeGreaterThan(typename);
    expect(bound('{ ... on Query { __typename } }')).toBeLessThan(MAX_RESPONSE_BYTES / 2);
    expect(bound('query Q { ...F } fragment F on Query { __typename }')).toBeLessThan(MAX_RESPONSE_BYTES / 2);
  });

  it('does not bound an answer with a list or a text', () => {
    expect(bound('{ services { id } }')).toBe(Infinity);
    expect(bound('{ __schema { types { name } } }')).toBe(Infinity);
  });
});
