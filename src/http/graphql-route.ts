// POST and GET /graphql, handed to Apollo Server as a plain HTTP request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../graphql/context.js';
import { BodyTooLarge, readBody } from './body.js';
import { sendJson } from './respond.js';

function headerMap(request: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

async function parsedBody(request: IncomingMessage, headers: HeaderMap): Promise<unknown> {
  const text = await readBody(request);
  // Apollo wants JSON bodies parsed; anything else it judges itself (and
  // refuses, which is its protection against cross-site requests).
  if (!headers.get('content-type')?.includes('json')) return text;
  return text === '' ? {} : JSON.parse(text);
}

export function graphqlRoute(apollo: ApolloServer<GraphQLContext>, context: () => Promise<GraphQLContext>) {
  return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    const headers = headerMap(request);
    let body: unknown;
    try {
      body = await parsedBody(request, headers);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        sendJson(response, 413, {
          errors: [{ message: 'Request body is too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
        });
      } else {
        sendJson(response, 400, {
          errors: [{ message: 'Request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }],
        });
      }
      return;
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
      context,
    });
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
