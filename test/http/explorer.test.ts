// The API explorer over plain HTTP: the page a browser gets at /graphql, its
// files (types, caching, validators, gzip), refused paths, the switches that
// turn the explorer and introspection off, the example tabs run as-is in the
// order shown, and the README's example data and round, as written.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildSchema, Kind, parse, validate, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCHEMA_FILE } from '../../src/config.js';
import { EXAMPLE_DATA, EXAMPLE_DATA_TAB, EXAMPLE_TABS, type ExampleTab } from '../../src/http/explorer-examples.js';
import { issueKey, type TestKey } from '../helpers/credentials.js';
import { liveClient } from '../helpers/live-client.js';
import { parseResponse, rawExchange, rawRequest } from '../helpers/raw-http.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** What Chromium sends when a person opens a URL. */
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';

const manifestPath = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
const graphiqlVersion = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string }).version;
const dist = join(dirname(manifestPath), 'dist');
const FILES = [
  'yoga-graphiql.umd.js',
  'graphiql.css',
  'monacoeditorwork/editor.worker.bundle.js',
  'monacoeditorwork/json.worker.bundle.js',
  'monacoeditorwork/graphql.worker..bundle.js',
] as const;

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** As sent: not decompressed. */
  readonly body: Buffer;
}

/** A request with exactly these headers (fetch would add Accept-Encoding and decompress). */
function send(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(new URL(path, base), { method, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () =>
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }),
      );
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** `authorization`: the Authorization header, as GraphiQL sends its Headers pane. */
async function graphql(
  url: string,
  query: string,
  variables: unknown = {},
  operationName?: string,
  authorization?: string,
): Promise<{ data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: JSON.stringify({ query, variables, operationName }),
  });
  return (await response.json()) as Awaited<ReturnType<typeof graphql>>;
}

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

const asset = (file: string) => `/explorer/${graphiqlVersion}/${file}`;

describe('the page at /graphql', () => {
  it('is GraphiQL for a browser, loading its files from this gateway under a strict policy', async () => {
    const page = await send(t.gateway.url, '/graphql', { accept: BROWSER_ACCEPT });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers.vary).toBe('Accept, Origin');
    const html = page.body.toString('utf8');
    expect(html).toContain(`<link rel="stylesheet" href="${asset('graphiql.css')}" />`);
    expect(html).toContain(`<script src="${asset('yoga-graphiql.umd.js')}"></script>`);
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL(');
    expect(html).toContain('"subscriptionsProtocol":"WS"');
    // Every URL in the page is this origin's (a path) or data.
    const urls = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1] ?? '');
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const url of urls) expect(url).toMatch(/^(\/explorer\/|data:)/);
    expect(html).not.toMatch(/https?:\/\//);

    const csp = String(page.headers['content-security-policy']);
    const directives = new Map(
      csp.split(';').map((directive) => {
        const [name = '', ...values] = directive.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('worker-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    // No remote origin, no eval, anywhere in the policy.
    expect(csp).not.toMatch(/https?:|wss?:|\*|unsafe-eval/);
    // The one inline script is allowed by its hash, not by 'unsafe-inline'.
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
    expect(inline).toHaveLength(1);
    const hash = createHash('sha256')
      .update(inline[0] ?? '')
      .digest('base64');
    expect(directives.get('script-src')).toEqual(["'self'", `'sha256-${hash}'`]);
  });

  it('opens with the example tabs, the first in the editor', async () => {
    const html = (await send(t.gateway.url, '/graphql', { accept: BROWSER_ACCEPT })).body.toString('utf8');
    const options = /var options = (\{.*\});/.exec(html)?.[1];
    const parsed = JSON.parse(options ?? 'null') as { defaultTabs: ExampleTab[]; initialQuery: string };
    expect(parsed.defaultTabs).toEqual(EXAMPLE_TABS);
    expect(parsed.initialQuery).toBe(EXAMPLE_TABS[0]?.query);
    expect(parsed.defaultTabs.map((tab) => tab.query)).toContainEqual(expect.stringContaining('enqueueCase('));
  });

  it.each([
    ['a GraphQL client', { accept: 'application/graphql-response+json, application/json' }, ''],
    ['curl', { accept: '*/*' }, ''],
    ['no Accept header', {}, ''],
    ['a browser sending an operation', { accept: BROWSER_ACCEPT }, '?query=%7B__typename%7D'],
  ])('is not the page for %s', async (_who, headers, search) => {
    const response = await send(t.gateway.url, `/graphql${search}`, headers);
    expect(response.headers['content-type']).not.toMatch(/html/);
    const body = JSON.parse(response.body.toString('utf8')) as { data?: unknown; errors?: unknown };
    expect(body.data ?? body.errors).toBeDefined();
  });
});

describe('the explorer files', () => {
  it.each(FILES)('serves %s with its type, a year of caching and a validator', async (file) => {
    const bytes = readFileSync(join(dist, file));
    const response = await send(t.gateway.url, asset(file), { 'accept-encoding': 'identity' });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(
      file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
    );
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers.vary).toBe('Accept-Encoding, Origin');
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers['content-length']).toBe(String(bytes.length));
    expect(response.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(response.body.equals(bytes)).toBe(true);
  });

  it('gzips for clients that accept it, with a validator of its own', async () => {
    const file = 'yoga-graphiql.umd.js';
    const plain = await send(t.gateway.url, asset(file), {});
    const gzipped = await send(t.gateway.url, asset(file), { 'accept-encoding': 'gzip, deflate, br' });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 3);
    expect(gunzipSync(gzipped.body).equals(plain.body)).toBe(true);
    expect(gzipped.headers.etag).toBeDefined();
    expect(gzipped.headers.etag).not.toBe(plain.headers.etag);
    // Compressed once: a second answer is the same bytes.
    const again = await send(t.gateway.url, asset(file), { 'accept-encoding': 'gzip' });
    expect(again.body.equals(gzipped.body)).toBe(true);
    // `gzip;q=0` refuses it.
    const refused = await send(t.gateway.url, asset(file), { 'accept-encoding': 'gzip;q=0, identity' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('answers 304 to a client that has the file', async () => {
    const file = 'monacoeditorwork/json.worker.bundle.js';
    for (const encoding of ['identity', 'gzip']) {
      const first = await send(t.gateway.url, asset(file), { 'accept-encoding': encoding });
      const etag = String(first.headers.etag);
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`]) {
        const again = await send(t.gateway.url, asset(file), {
          'accept-encoding': encoding,
          'if-none-match': ifNoneMatch,
        });
        expect(again.status).toBe(304);
        expect(again.body.length).toBe(0);
        expect(again.headers.etag).toBe(etag);
        expect(again.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      }
      const stale = await send(t.gateway.url, asset(file), { 'accept-encoding': encoding, 'if-none-match': '"old"' });
      expect(stale.status).toBe(200);
    }
  });

  it('answers HEAD with the headers only, and refuses other methods', async () => {
    const head = await send(t.gateway.url, asset('graphiql.css'), { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body.length).toBe(0);
    const post = await send(t.gateway.url, asset('graphiql.css'), {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('serves no other version', async () => {
    const response = await send(t.gateway.url, '/explorer/0.0.1/graphiql.css');
    expect(response.status).toBe(404);
    expect(response.body.toString('utf8')).toContain(`GraphiQL ${graphiqlVersion}`);
  });

  // Sent as raw bytes: an HTTP client would normalize the paths first.
  const outside = join(dirname(manifestPath), '..', '..', 'graphql', 'index.js');
  it.each([
    `/explorer/${graphiqlVersion}/../../graphql/index.js`,
    `/explorer/${graphiqlVersion}/..%2f..%2f..%2fgraphql%2findex.js`,
    `/explorer/${graphiqlVersion}/%2e%2e/%2e%2e/%2e%2e/graphql/index.js`,
    `/explorer/${graphiqlVersion}/%2e%2e%2f%2e%2e%2f%2e%2e%2fgraphql%2findex.js`,
    `/explorer/${graphiqlVersion}/monacoeditorwork/..%2f..%2f..%2f..%2fgraphql%2findex.js`,
    `/explorer/${graphiqlVersion}/..%5c..%5c..%5cgraphql%5cindex.js`,
    `/explorer/${graphiqlVersion}/%252e%252e%252f%252e%252e%252f%252e%252e%252fgraphql%252findex.js`,
    `/explorer/${graphiqlVersion}/${encodeURIComponent(outside)}`,
    `/explorer/${graphiqlVersion}/graphiql.css%00.js`,
    `/explorer/${graphiqlVersion}/%E0%A4%A`,
    `/explorer/${graphiqlVersion}/`,
    `/explorer/${graphiqlVersion}/monacoeditorwork`,
    `/explorer/${graphiqlVersion}/../package.json`,
  ])('refuses %s', async (path) => {
    const { port } = new URL(t.gateway.url);
    const ending = await rawExchange(
      Number(port),
      rawRequest([`GET ${path} HTTP/1.1`, 'Host: localhost', 'Connection: close']),
    );
    const response = parseResponse(ending.received);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.body)).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
  });
});

describe('the example tabs', () => {
  const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
  const operations = (tab: ExampleTab) =>
    parse(tab.query).definitions.filter(
      (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
    );

  it('are valid operations of the schema', () => {
    for (const tab of EXAMPLE_TABS) {
      expect(validate(schema, parse(tab.query))).toEqual([]);
      expect(operations(tab).length).toBeGreaterThan(0);
      if (tab.variables !== '') expect(JSON.parse(tab.variables)).toBeTypeOf('object');
    }
    expect(EXAMPLE_TABS.flatMap((tab) => operations(tab).map((operation) => operation.operation))).toEqual(
      expect.arrayContaining(['mutation', 'subscription']),
    );
  });

  it('open on the tab that creates the example data, then go in the order a new user runs them', () => {
    expect(EXAMPLE_TABS[0]).toBe(EXAMPLE_DATA_TAB);
    expect(EXAMPLE_TABS.map((tab) => operations(tab).map((operation) => operation.name?.value))).toEqual([
      ['CreateExampleData'],
      ['EnqueueCase'],
      ['FollowCase'],
      ['CallNext', 'CompleteCase'],
      ['Viewer'],
    ]);
    // Services by external reference, never by id, in every tab's variables.
    for (const tab of EXAMPLE_TABS) expect(tab.variables).not.toMatch(/"serviceIds?"/);
    expect(EXAMPLE_TABS.map((tab) => tab.variables).join()).toContain(`"${EXAMPLE_DATA.serviceExtRef}"`);
  });

  it('run as they are, in the order shown, on a new gateway; the first again is a CONFLICT that writes nothing', async () => {
    const [exampleData, enqueue, follow, round, viewer] = EXAMPLE_TABS;
    const run = (tab: ExampleTab | undefined, operationName?: string) => runTab(t.gateway.url, tab, operationName);
    const created = await run(exampleData);
    expect(created['createService']).toMatchObject({
      name: EXAMPLE_DATA.serviceName,
      extRef: EXAMPLE_DATA.serviceExtRef,
      queueCode: EXAMPLE_DATA.queueCode,
    });
    const enqueued = await run(enqueue);
    expect(enqueued['enqueueCase']).toMatchObject({
      caseId: EXAMPLE_DATA.caseId,
      serviceIdExtRef: EXAMPLE_DATA.serviceExtRef,
      status: 'WAITING',
      position: 1,
      ticket: `${EXAMPLE_DATA.queueCode}001`,
      classificationCode: EXAMPLE_DATA.classificationCode,
      procedureOptionExtRef: EXAMPLE_DATA.procedureOptionExtRef,
    });
    // The kiosk tab, as the page sends it: its first message is the case's state.
    const live = liveClient(t.gateway.url);
    try {
      const followed = live.subscribe(liveDocument(follow), tabVariables(follow));
      const first = await followed.next();
      expect(first.errors).toBeUndefined();
      expect(first.data?.['caseChanged']).toMatchObject({
        caseId: EXAMPLE_DATA.caseId,
        status: 'WAITING',
        position: 1,
      });
      const called = await run(round, 'CallNext');
      expect(called['callNext']).toMatchObject({
        id: EXAMPLE_DATA.caseId,
        status: 'IN_SERVICE',
        service: { extRef: EXAMPLE_DATA.serviceExtRef },
      });
      await followed.until(
        (data) => (data['caseChanged'] as { status?: unknown } | undefined)?.status === 'IN_SERVICE',
      );
      const completed = await run(round, 'CompleteCase');
      expect(completed['completeCase']).toMatchObject({ id: EXAMPLE_DATA.caseId, status: 'COMPLETED' });
      await followed.completed;
    } finally {
      await live.close();
    }
    expect((await run(viewer))['viewer']).toMatchObject({ id: 'open', serviceIds: null });

    // Run again, the example data tab is refused, as its comment says, and writes nothing.
    const counts = 'SELECT (SELECT count(*) FROM services)::int AS s, (SELECT count(*) FROM classifications)::int AS c';
    const before = (await t.sql.query(counts)).rows;
    const again = await graphql(t.gateway.url, exampleData?.query ?? '', tabVariables(exampleData));
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'extRef' });
    expect(again.errors?.[0]?.message).toBe(
      `extRef: a service with the external reference "${EXAMPLE_DATA.serviceExtRef}" already exists`,
    );
    expect(exampleData?.query).toContain(`external reference "${EXAMPLE_DATA.serviceExtRef}" already exists`);
    expect((await t.sql.query(counts)).rows).toEqual(before);
  });
});

/** A subscription tab's document, for the live client (its comments dropped). */
function liveDocument(
  tab: ExampleTab | undefined,
): TypedDocumentNode<Record<string, unknown>, Record<string, unknown>> {
  return parse(tab?.query ?? '');
}

const tabVariables = (tab: ExampleTab | undefined): Record<string, unknown> =>
  tab?.variables ? (JSON.parse(tab.variables) as Record<string, unknown>) : {};

describe("the README's example data", () => {
  /** The `-d '...'` bodies of the curl commands in the README's "## Try it", in order. */
  const tryItBodies = (): { query: string }[] => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Try it\n'), readme.indexOf("### An agent's round"));
    return [...section.matchAll(/ -d '([^']*)'/g)].map((match) => JSON.parse(match[1] ?? '') as { query: string });
  };
  /** The operations of the README's "An agent's round", then its Screen query, as written. */
  const roundDocuments = (): string[] => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf("### An agent's round"), readme.indexOf('### Errors'));
    return [...section.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  };

  it('are created by "Try it" as by the first tab, and its round and screen run after it as written', async () => {
    const fresh = await startTestGateway();
    try {
      const bodies = tryItBodies();
      expect(bodies).toHaveLength(4);
      for (const body of bodies) expect((await graphql(fresh.gateway.url, body.query)).errors).toBeUndefined();
      // The same rows as the tab's: the tab, run now, finds them there.
      const tab = await graphql(fresh.gateway.url, EXAMPLE_DATA_TAB.query, tabVariables(EXAMPLE_DATA_TAB));
      expect(tab.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'extRef' });
      const { data } = await graphql(
        fresh.gateway.url,
        `
          query ($extRef: String!) {
            service(extRef: $extRef) {
              name
              queueCode
            }
            classifications {
              code
              name
            }
            procedures {
              extRef
              name
              options {
                extRef
                name
              }
            }
          }
        `,
        { extRef: EXAMPLE_DATA.serviceExtRef },
      );
      expect(data).toEqual({
        service: { name: EXAMPLE_DATA.serviceName, queueCode: EXAMPLE_DATA.queueCode },
        classifications: [{ code: EXAMPLE_DATA.classificationCode, name: EXAMPLE_DATA.classificationName }],
        procedures: [
          {
            extRef: EXAMPLE_DATA.procedureExtRef,
            name: EXAMPLE_DATA.procedureName,
            options: [{ extRef: EXAMPLE_DATA.procedureOptionExtRef, name: EXAMPLE_DATA.procedureOptionName }],
          },
        ],
      });
      // An agent's round (Enqueue, CallNext, Complete), then the Screen query, pasted in order.
      const [round, screen] = roundDocuments();
      const names = parse(round ?? '').definitions.flatMap((definition) =>
        definition.kind === Kind.OPERATION_DEFINITION ? [definition.name?.value ?? ''] : [],
      );
      expect(names).toEqual(['Enqueue', 'CallNext', 'Complete']);
      for (const name of names) {
        const answer = await graphql(fresh.gateway.url, round ?? '', {}, name);
        expect(answer.errors, name).toBeUndefined();
      }
      const shown = await graphql(fresh.gateway.url, screen ?? '');
      expect(shown.errors).toBeUndefined();
      expect(shown.data?.['service']).toMatchObject({ name: EXAMPLE_DATA.serviceName, queue: { totalCount: 1 } });
    } finally {
      await fresh.stop();
    }
  });
});

/** Runs a tab's operation with its variables as they are, with a credential when given; its data, asserting no errors. */
async function runTab(
  url: string,
  tab: ExampleTab | undefined,
  operationName?: string,
  credential?: TestKey,
): Promise<Record<string, unknown>> {
  const answer = await graphql(
    url,
    tab?.query ?? '',
    tab?.variables ? (JSON.parse(tab.variables) as unknown) : {},
    operationName,
    credential?.authorization,
  );
  expect(answer.errors ?? []).toEqual([]);
  return answer.data ?? {};
}

describe('the example tabs on a gateway that requires credentials', () => {
  let locked: TestGateway;

  beforeAll(async () => {
    locked = await startTestGateway({}, { AUTH_MODE: 'required' });
  });

  afterAll(async () => {
    await locked.stop();
  });

  it('run as they are with the role each names, sent as the Headers pane sends it; without one, 401', async () => {
    const [exampleData, enqueue, follow, round, viewer] = EXAMPLE_TABS;
    const [admin, agent, kiosk] = [
      await issueKey(locked.db, 'ADMIN'),
      await issueKey(locked.db, 'AGENT'),
      await issueKey(locked.db, 'KIOSK'),
    ];
    const run = (tab: ExampleTab | undefined, credential: TestKey, operationName?: string) =>
      runTab(locked.gateway.url, tab, operationName, credential);

    expect((await run(exampleData, admin))['createService']).toMatchObject({ extRef: EXAMPLE_DATA.serviceExtRef });
    const enqueued = await run(enqueue, kiosk);
    expect(enqueued['enqueueCase']).toMatchObject({ caseId: EXAMPLE_DATA.caseId });
    expect(enqueued['enqueueCase']).toHaveProperty('receipt', expect.stringMatching(/^[\w-]{22}$/));
    // The kiosk tab with an agent's key (a kiosk's would add the receipt), in connection_init.
    const live = liveClient(locked.gateway.url, { authorization: agent.authorization });
    try {
      const first = await live.subscribe(liveDocument(follow), tabVariables(follow)).next();
      expect(first.errors).toBeUndefined();
      expect(first.data?.['caseChanged']).toMatchObject({ caseId: EXAMPLE_DATA.caseId, status: 'WAITING' });
    } finally {
      await live.close();
    }
    expect((await run(round, agent, 'CallNext'))['callNext']).toMatchObject({ status: 'IN_SERVICE' });
    expect((await run(round, agent, 'CompleteCase'))['completeCase']).toMatchObject({ status: 'COMPLETED' });
    expect((await run(viewer, kiosk))['viewer']).toMatchObject({ id: `key:${kiosk.id}`, roles: ['KIOSK'] });

    const anonymous = await graphql(locked.gateway.url, viewer?.query ?? '');
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const kioskAsAdmin = await graphql(
      locked.gateway.url,
      exampleData?.query ?? '',
      tabVariables(exampleData),
      undefined,
      kiosk.authorization,
    );
    expect(kioskAsAdmin.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('with the explorer and introspection turned off', () => {
  let off: TestGateway;

  beforeAll(async () => {
    off = await startTestGateway({}, { EXPLORER_ENABLED: 'false', INTROSPECTION_ENABLED: 'false' });
  });

  afterAll(async () => {
    await off.stop();
  });

  it('answers a browser at /graphql with a short coded 404, and serves no explorer file', async () => {
    const page = await send(off.gateway.url, '/graphql', { accept: BROWSER_ACCEPT });
    expect(page.status).toBe(404);
    expect(page.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(page.body.toString('utf8')) as { errors: { message: string; extensions: unknown }[] };
    expect(body.errors[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
    expect(body.errors[0]?.message).toContain('EXPLORER_ENABLED=false');
    for (const file of FILES) expect((await send(off.gateway.url, asset(file))).status).toBe(404);
  });

  it('refuses __schema and __type over HTTP, and still answers queries', async () => {
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Case") { name } }']) {
      const refused = await graphql(off.gateway.url, query);
      expect(refused.data ?? undefined).toBeUndefined();
      expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
      // The same request is answered where introspection is on.
      expect((await graphql(t.gateway.url, query)).errors).toBeUndefined();
    }
    expect(await graphql(off.gateway.url, '{ services { id } }')).toEqual({ data: { services: [] } });
  });
});
