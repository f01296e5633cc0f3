// One GraphQL operation over HTTP with fetch, typed by its generated document.
import { z } from 'zod';
import { apiKeyOf, bearer, type Credentials } from './credentials.js';
import { graphqlErrors, KioskError, refusal, unauthenticated } from './errors.js';
import { httpUrl } from './gateway-url.js';
import type { TypedDocumentString } from './gql/graphql.js';

/** A GraphQL response as the kiosk reads it; other keys are ignored. */
const graphqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: graphqlErrors.optional(),
});

/** Sends the operation with the credential, if one is given; a refusal of it is thrown as its own code. */
export async function httpRequest<TData, TVariables>(
  url: string,
  document: TypedDocumentString<TData, TVariables>,
  variables: TVariables,
  credentials: Credentials = {},
): Promise<TData> {
  const endpoint = httpUrl(url);
  const apiKey = apiKeyOf(credentials);
  let response: Response;
  let text: string;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(apiKey === undefined ? {} : { authorization: bearer(apiKey) }),
      },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
    text = await response.text();
  } catch (error) {
    throw new KioskError('UNREACHABLE', `Cannot reach the gateway at ${url}`, undefined, { cause: error });
  }
  // A 401 is about the credential whatever the body says (a proxy in front may answer it too).
  if (response.status === 401) throw unauthenticated(url, apiKey, 'UNAUTHENTICATED');
  const parsed = graphqlResponse.safeParse(parseJson(text));
  if (!parsed.success) {
    if (response.status === 403)
      throw new KioskError('FORBIDDEN', `The gateway at ${url} answered HTTP 403: the kiosk key may not do this`);
    throw new KioskError('BAD_RESPONSE', `The gateway at ${url} answered HTTP ${response.status}, not GraphQL`);
  }
  const { data, errors } = parsed.data;
  if (errors !== undefined && errors.length > 0) throw refusal(errors);
  if (data == null) throw new KioskError('BAD_RESPONSE', `The gateway at ${url} answered with no data`);
  // The gateway executed this very document against its schema, so `data` has the document's shape.
  return data as TData;
}

/** The text as JSON; undefined when it is not JSON (a proxy's error page), which the schema then refuses. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
