// Raw requests no well-behaved client sends: broken JSON, wrong methods and
// content types, invalid UTF-8, forbidden operation kinds, bad persisted
// queries, nesting and alias bombs. Each must get a coded 4xx or a coded
// GraphQL error, never a 5xx or INTERNAL_SERVER_ERROR.

export interface RawPlan {
  readonly kind: 'raw';
  readonly label: string;
  readonly method: string;
  readonly contentType: string | null;
  /** The URL's query string, without `?`. */
  readonly search: string;
  /**
   * The body; `@@SERVICE@@` becomes a known service's id and `@@BAD@@` the
   * bytes FF FE C3 (invalid UTF-8) when the request is sent.
   */
  readonly body: string | null;
  readonly headers?: Readonly<Record<string, string>>;
}

const JSON_TYPE = 'application/json';
const SERVICES = '{ services { id } }';

const raw = (
  label: string,
  body: string | null,
  rest: Partial<Omit<RawPlan, 'kind' | 'label' | 'body'>> = {},
): RawPlan => ({
  kind: 'raw',
  label,
  method: 'POST',
  contentType: JSON_TYPE,
  search: '',
  body,
  ...rest,
});

const query = (text: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ query: text, ...extra });

const enqueueWith = (subject: string): string =>
  `{"query":"mutation($i: CaseEnqueueInput!) { enqueueCase(input: $i) { caseId } }","variables":{"i":{"serviceId":@@SERVICE@@,"subject":"${subject}"}}}`;

const aliases = (count: number, field: string): string =>
  `{ ${Array.from({ length: count }, (_, index) => `a${index}: ${field}`).join(' ')} }`;

const nested = (levels: number): string => `${'{ a '.repeat(levels)}${'}'.repeat(levels)}`;

export const RAW_PLANS: readonly RawPlan[] = [
  raw('truncated JSON', '{"query":'),
  raw('a lone brace', '{'),
  raw('JSON null', 'null'),
  raw('JSON array, empty', '[]'),
  raw('JSON number', '123'),
  raw('JSON string', '"{ services { id } }"'),
  raw('empty object', '{}'),
  raw('empty body', ''),
  raw('query is a number', '{"query":5}'),
  raw('query is null', '{"query":null}'),
  raw('variables is a string', query(SERVICES, { variables: 'x' })),
  raw('variables is an array', query(SERVICES, { variables: [1] })),
  raw('operationName is a number', query(SERVICES, { operationName: 5 })),
  raw('extensions is a number', query(SERVICES, { extensions: 5 })),
  raw('a batch of two operations', `[${query(SERVICES)},${query(SERVICES)}]`),
  raw('NUL inside the JSON text', '{"query":"{ services { id } }\u0000"}'),
  raw('BOM before the JSON', `\uFEFF${query(SERVICES)}`),
  raw('text/plain (a cross-site request)', query(SERVICES), { contentType: 'text/plain' }),
  raw('no content type', query(SERVICES), { contentType: null }),
  raw('JSON with a latin1 charset', query(SERVICES), { contentType: 'application/json; charset=latin1' }),
  raw('application/graphql', SERVICES, { contentType: 'application/graphql' }),
  raw('GET without a preflight header', null, {
    method: 'GET',
    contentType: null,
    search: `query=${encodeURIComponent(SERVICES)}`,
  }),
  raw('GET of a mutation', null, {
    method: 'GET',
    contentType: null,
    search: `query=${encodeURIComponent('mutation { callNext(input: { serviceIds: [1], agent: "x" }) { id } }')}`,
    headers: { 'apollo-require-preflight': 'true' },
  }),
  raw('GET with no query', null, { method: 'GET', contentType: null, headers: { 'apollo-require-preflight': 'true' } }),
  raw('GET with broken variables', null, {
    method: 'GET',
    contentType: null,
    search: `query=${encodeURIComponent(SERVICES)}&variables=%7B`,
    headers: { 'apollo-require-preflight': 'true' },
  }),
  raw('PUT', query(SERVICES), { method: 'PUT' }),
  raw('DELETE', null, { method: 'DELETE', contentType: null }),
  raw('PATCH', query(SERVICES), { method: 'PATCH' }),
  raw('invalid UTF-8 in a stored string', enqueueWith('a@@BAD@@b')),
  raw('invalid UTF-8 in the query text', `{"query":"{ services { id } }@@BAD@@"}`),
  raw('invalid UTF-8 as a JSON key', `{"query":"{ services { id } }","@@BAD@@":1}`),
  raw('a subscription over HTTP', query('subscription { services { id } }')),
  raw('a persisted query with a bad hash', '{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"zz"}}}'),
  raw(
    'a persisted query whose hash does not match',
    query(SERVICES, { extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
  ),
  raw('a persisted query of version 2', '{"extensions":{"persistedQuery":{"version":2,"sha256Hash":"00"}}}'),
  raw('a cyclic fragment', query('query { ...A } fragment A on Query { ...A }')),
  raw('an unknown fragment', query('query { ...Nope }')),
  raw('two operations, no operationName', query('query A { services { id } } query B { services { id } }')),
  raw('an operationName that is not there', query(SERVICES, { operationName: 'Nope' })),
  raw('an undeclared variable', query('{ case(id: $nope) { id } }')),
  raw('@skip without its argument', query('{ services @skip { id } }')),
  raw('an unknown directive', query('{ services @nope { id } }')),
  raw('an unknown field', query('{ nope }')),
  raw('a syntax error', query('{ services { id }')),
  raw('nesting 200 deep', query(nested(200))),
  raw('5000 open braces', query('{'.repeat(5000))),
  raw(
    'nesting past the depth limit',
    query(
      '{ services { queue { edges { node { service { queue { edges { node { service { queue { edges { node { id } } } } } } } } } } } } }',
    ),
  ),
  raw('1000 aliased __typename', query(aliases(1000, '__typename'))),
  raw('40 aliased __schema', query(aliases(40, '__schema { types { name fields { name args { name } } } }'))),
  raw('200 aliased __type', query(aliases(200, '__type(name: "Case") { name fields { name } }'))),
  raw(
    'a 100 KB string in an Int variable',
    query('query($id: Int!) { case(id: $id) { id } }', { variables: { id: 'x'.repeat(100_000) } }),
  ),
  raw(
    'more than 50 variable errors (graphql-js stops at 50)',
    query('mutation($i: CallNextInput!) { callNext(input: $i) { id } }', {
      variables: { i: { serviceIds: Array.from({ length: 51 }, () => 'x'), agent: 'a' } },
    }),
  ),
  raw('an 8 KB operationName', query(SERVICES, { operationName: 'N'.repeat(8192) })),
  raw('a body over 1 MiB', query(SERVICES, { variables: { pad: 'x'.repeat(1_100_000) } })),
  raw(
    'a cursor before year 1',
    query(`{ services { queue(after: "${Buffer.from('-62198755200000:1').toString('base64url')}") { totalCount } } }`),
  ),
];
