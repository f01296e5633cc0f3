// API keys for tests, made straight in the database (as `npm run keys` does),
// so that gateways requiring credentials can be called in every role.
import { createApiKeyStore } from '../../src/auth/api-keys.js';
import type { Role } from '../../src/auth/principal.js';
import type { Database } from '../../src/db/prisma-client.js';

const TEST_ACTOR = { id: 'test', agent: null, services: null } as const;

export interface TestKey {
  readonly id: string;
  readonly secret: string;
  /** The `Authorization` header value. */
  readonly authorization: string;
}

export async function issueKey(db: Database, role: Role, serviceIds?: readonly number[]): Promise<TestKey> {
  const store = createApiKeyStore(db, { cacheMs: 0 });
  const { key, secret } = await store.create(
    { name: `${role.toLowerCase()} key`, role, serviceIds: serviceIds ?? null },
    TEST_ACTOR,
  );
  return { id: key.id, secret, authorization: `Bearer ${secret}` };
}

/** POSTs a raw GraphQL document (the role tests try documents no client would write). */
export async function post(
  url: string,
  query: string,
  { authorization, variables }: { authorization?: string; variables?: Record<string, unknown> } = {},
): Promise<{ status: number; headers: Headers; body: RawGraphQLBody }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as RawGraphQLBody };
}

export interface RawGraphQLBody {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}
