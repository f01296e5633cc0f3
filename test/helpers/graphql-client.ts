// Typed GraphQL requests over real HTTP, using the operations codegen typed
// from operations/*.graphql.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { expect } from 'vitest';
import { z } from 'zod';

export interface GraphQLResponse<TData> {
  readonly status: number;
  readonly data?: TData | null;
  readonly errors?: readonly GraphQLFormattedError[];
}

/** What the gateway puts in an error's extensions; other keys are kept as they came. */
const errorExtensions = z.looseObject({
  code: z.string().optional(),
  field: z.string().optional(),
  rule: z.string().optional(),
});
export type ErrorExtensions = Readonly<z.infer<typeof errorExtensions>>;

export type Client = <TData, TVariables>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
) => Promise<GraphQLResponse<TData>>;

/** `authorization`: the Authorization header every request sends (`Bearer <API key or token>`). */
export function graphqlClient(url: string, { authorization }: { authorization?: string } = {}): Client {
  return async (document, variables) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse<never>, 'status'>;
    return { status: response.status, ...body };
  };
}

/** The response's data, after asserting there were no errors. */
export function expectData<TData>(response: GraphQLResponse<TData>): TData {
  expect(response.errors ?? []).toEqual([]);
  expect(response.data).toBeTruthy();
  return response.data as TData;
}

/** The single error of a response, with its extensions typed. */
export function expectError(response: GraphQLResponse<unknown>): { message: string; extensions: ErrorExtensions } {
  expect(response.status).toBe(200);
  expect(response.errors).toHaveLength(1);
  const [error] = response.errors ?? [];
  return { message: error?.message ?? '', extensions: errorExtensions.parse(error?.extensions ?? {}) };
}
