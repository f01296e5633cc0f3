// One GraphQL operation over HTTP with fetch, typed by its generated document.
import { z } from 'zod';
import { graphqlErrors, KioskError, refusal } from './errors.js';
import { httpUrl } from './gateway-url.js';
import type { TypedDocumentString } from './gql/graphql.js';

/** A GraphQL response as the kiosk reads it; other keys are ignored. */
const graphqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: graphqlErrors.optional(),
});

export async function httpRequest<TData, TVariables>(
  url: string,
  document: TypedDocumentString<TData, TVariables>,
  variables: TVariables,
): Promise<TData> {
  const endpoint = httpUrl(url);
  let response: Response;
  let text: string;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
    text = await response.text();
  } catch (error) {
    throw new KioskError('UNREACHABLE', `Cannot reach the gateway at ${url}`, undefined, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KioskError('BAD_RESPONSE', `The gateway at ${url} answered HTTP ${response.status} without JSON`);
  }
  const parsed = graphqlResponse.safeParse(json);
  if (!parsed.success)
    throw new KioskError('BAD_RESPONSE', `The gateway at ${url} answered HTTP ${response.status}, not GraphQL`);
  const { data, errors } = parsed.data;
  if (errors !== undefined && errors.length > 0) throw refusal(errors);
  if (data == null) throw new KioskError('BAD_RESPONSE', `The gateway at ${url} answered with no data`);
  // The gateway executed this very document against its schema, so `data` has the document's shape.
  return data as TData;
}
