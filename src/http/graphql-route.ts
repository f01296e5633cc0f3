// POST and GET /graphql: admitted (credential, rate limit), then prepared
// (prepare-operation.ts: limits, validation, channel, @auth) and refused
// here, or handed to Apollo Server, which runs the prepared document. What
// Apollo would not answer with a coded JSON 4xx (other methods, a body on
// GET, bodies that are too large, not UTF-8 or not JSON) is answered here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { ContextFactory, GraphQLContext } from '../graphql/context.js';
import type { OperationPreparer, Prepared, Refused } from '../graphql/prepare-operation.js';
import { rootFieldsOf } from '../graphql/root-fields.js';
import type { Admission } from './admission.js';
import { BodyAborted, BodyNotUtf8, BodyTooLarge, MAX_BODY_BYTES, readBody } from './body.js';
import { wantsExplorer } from './explorer-route.js';
import { ANONYMOUS_OPERATION, outcomeRecord, recordOutcome, type Outcome } from './request-report.js';
import { sendError } from './respond.js';

export const ALLOWED_METHODS = 'GET, POST, OPTIONS';

function headerMap(request: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  const given = request.headers;
  for (const name in given) {
    const value = given[name];
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** `application/json`, or a structured `+json` type such as `application/graphql-response+json`. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const essence = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(essence);
}

/** `isJsonMediaType`, remembering the last answer: clients send the same Content-Type again and again. */
let lastContentType: string | undefined;
let lastIsJson = false;
function isJson(contentType: string | undefined): boolean {
  if (contentType !== lastContentType || contentType === undefined) {
    lastIsJson = isJsonMediaType(contentType);
    lastContentType = contentType;
  }
  return lastIsJson;
}

class BodyOnGet extends Error {
  override readonly name = 'BodyOnGet';
}

async function parsedBody(request: IncomingMessage, headers: HeaderMap): Promise<unknown> {
  // Read even a GET's body (bounded), so the connection stays usable.
  const text = await readBody(request);
  if (request.method === 'GET') {
    if (text !== '') throw new BodyOnGet();
    return undefined;
  }
  // Apollo wants JSON bodies parsed; anything else it judges itself (and
  // refuses, which is its protection against cross-site requests).
  if (!isJson(headers.get('content-type'))) return text;
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

function refuseBody(response: ServerResponse, error: unknown): void {
  if (error instanceof BodyTooLarge) {
    sendError(response, 413, 'PAYLOAD_TOO_LARGE', `Request body is too large: the limit is ${MAX_BODY_BYTES} bytes`);
  } else if (error instanceof BodyNotUtf8) {
    sendError(response, 400, 'BAD_REQUEST', 'Request body is not valid UTF-8');
  } else if (error instanceof BodyOnGet) {
    sendError(
      response,
      400,
      'BAD_REQUEST',
      'A GET request must not have a body: send the operation in the query string, or POST it as JSON',
    );
  } else if (error instanceof SyntaxError) {
    sendError(response, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
  } else {
    throw error;
  }
}

/** The operation text and name of a request, read as Apollo reads them; undefined when Apollo would refuse the request for lacking one. */
function operationOf(method: string, body: unknown, url: URL): { query: string; operationName?: string } | undefined {
  let query: unknown;
  let operationName: unknown;
  if (method === 'GET') {
    const params = new URLSearchParams(url.search);
    const once = (name: string): string | undefined => {
      const values = params.getAll(name);
      return values.length === 1 ? values[0] : undefined;
    };
    query = once('query');
    operationName = once('operationName');
  } else if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    query = Reflect.get(body, 'query');
    operationName = Reflect.get(body, 'operationName');
  }
  if (typeof query !== 'string' || query === '') return undefined;
  return typeof operationName === 'string' ? { query, operationName } : { query };
}

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';

/** The media type Apollo would answer in: the GraphQL response type when the client names it before plain JSON. */
function answerType(accept: string | undefined): string {
  const json = accept?.indexOf('application/json') ?? -1;
  const graphql = accept?.indexOf('application/graphql-response+json') ?? -1;
  return graphql >= 0 && (json < 0 || graphql < json) ? GRAPHQL_RESPONSE_TYPE : JSON_TYPE;
}

export interface GraphqlRouteOptions {
  readonly apollo: ApolloServer<GraphQLContext>;
  readonly context: ContextFactory;
  /** Answers a browser that opens the endpoint (see explorer-route.ts). */
  readonly explorer: (response: ServerResponse) => void;
  readonly admission: Admission;
  readonly preparer: OperationPreparer;
  /** How errors look to clients (errors.ts), as Apollo formats its own. */
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

/**
 * `explorer` answers a browser that opens the endpoint (a GET that prefers
 * HTML and carries no operation; see explorer-route.ts): the page is static,
 * so it needs no credential; the operations it sends do.
 */
export function graphqlRoute({ apollo, context, explorer, admission, preparer, formatError }: GraphqlRouteOptions) {
  /** Answers a refused operation as Apollo answered its own refusals: the errors, formatted, with the status. */
  const refuse = (request: IncomingMessage, response: ServerResponse, refused: Refused): void => {
    const errors = refused.errors.map((error) => formatError(error.toJSON(), error));
    const code = errors[0]?.extensions?.['code'];
    const { operation, document } = refused;
    recordOutcome(response, {
      operation: operation ? (operation.name?.value ?? ANONYMOUS_OPERATION) : null,
      fields: operation && document ? rootFieldsOf(preparer.schema, document, operation) : null,
      outcome: typeof code === 'string' ? code : 'ERROR',
    });
    const text = JSON.stringify({ errors });
    response.writeHead(refused.status, {
      ...refused.headers,
      'content-type': answerType(request.headers.accept),
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  };

  return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') {
      response.writeHead(204, { allow: ALLOWED_METHODS });
      response.end();
      return;
    }
    if (method !== 'GET' && method !== 'POST') {
      sendError(response, 405, 'METHOD_NOT_ALLOWED', `Method not allowed: use ${ALLOWED_METHODS}`, {
        allow: ALLOWED_METHODS,
      });
      return;
    }
    // The explorer page is static and needs no credential; anything else is
    // admitted before its body is read, so nobody unknown gets a 1 MiB body parsed.
    const page = wantsExplorer(request, url);
    const principal = page ? undefined : await admission.admit(request, response);
    if (!page && !principal) return;
    const headers = headerMap(request);
    let body: unknown;
    try {
      body = await parsedBody(request, headers);
    } catch (error) {
      // The socket is gone (the client left, or its request timed out and
      // the server has answered 408): there is nobody to answer.
      if (error instanceof BodyAborted) return;
      refuseBody(response, error);
      return;
    }
    if (!principal) {
      explorer(response);
      return;
    }
    // Without an operation text Apollo refuses the request itself (and runs nothing unprepared: apollo.ts).
    const operation = operationOf(method, body, url);
    let prepared: Prepared | undefined;
    if (operation) {
      const verdict = preparer.prepare(
        operation.query,
        operation.operationName,
        principal,
        method === 'GET' ? 'http-get' : 'http-post',
      );
      if (!verdict.ok) {
        refuse(request, response, verdict);
        return;
      }
      prepared = verdict;
    }
    // Filled by Apollo's plugin (outcome-plugin.ts) as the request's record itself.
    const outcome: Outcome = outcomeRecord(response);
    // The prepared document stays in Apollo's document store while Apollo looks it up.
    const release = prepared ? preparer.hold(prepared) : undefined;
    let result: Awaited<ReturnType<typeof apollo.executeHTTPGraphQLRequest>>;
    try {
      result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method, headers, search: url.search, body },
        // The operation's kind says where it reads (context.ts: queries may read on a standby).
        context: () => context(principal, prepared?.operation.operation, outcome),
      });
    } finally {
      release?.();
    }
    for (const [name, value] of result.headers) response.setHeader(name, value);
    response.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      response.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };
}
