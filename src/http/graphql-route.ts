// POST and GET /graphql, handed to Apollo Server as a plain HTTP request.
// What Apollo would not answer with a coded JSON 4xx (other methods, a body
// on GET, bodies that are too large, not UTF-8 or not JSON) is answered here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { ContextFactory, GraphQLContext } from '../graphql/context.js';
import type { Admission } from './admission.js';
import { BodyAborted, BodyNotUtf8, BodyTooLarge, MAX_BODY_BYTES, readBody } from './body.js';
import { wantsExplorer } from './explorer-route.js';
import { recordOutcome, type Outcome } from './request-report.js';
import { sendError } from './respond.js';

export const ALLOWED_METHODS = 'GET, POST, OPTIONS';

function headerMap(request: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** `application/json`, or a structured `+json` type such as `application/graphql-response+json`. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const essence = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return essence === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(essence);
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
  if (!isJsonMediaType(headers.get('content-type'))) return text;
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

/**
 * `explorer` answers a browser that opens the endpoint (a GET that prefers
 * HTML and carries no operation; see explorer-route.ts): the page is static,
 * so it needs no credential; the operations it sends do.
 */
export function graphqlRoute(
  apollo: ApolloServer<GraphQLContext>,
  context: ContextFactory,
  explorer: (response: ServerResponse) => void,
  admission: Admission,
) {
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
    const outcome: Outcome = {};
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      context: async () => ({ ...(await context(principal)), outcome }),
    });
    recordOutcome(response, outcome);
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
