// A stand-in for the organisation's identity provider: signing keys, their
// JWKS served over real HTTP on 127.0.0.1, and tokens minted with whatever
// claims a test needs (expired, another audience, roles, services, a name).
//
//   const idp = await startIdentityProvider();
//   const t = await startTestGateway({}, idp.env);
//   const token = await idp.mint({ roles: ['agent'], services: [serviceId] });
//   ...fetch with `authorization: Bearer ${token}`...
//   await idp.close();
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig, type JwtConfig } from '../../src/config.js';

export type TestAlgorithm = 'RS256' | 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly alg: TestAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public key as the JWKS lists it (kid, alg, use). */
  readonly publicJwk: JWK;
}

/** A fresh key pair; `kid` defaults to a random one. */
export async function signingKey(alg: TestAlgorithm = 'RS256', kid = `${alg}-${randomUUID()}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

/** The claims tokens carry unless a test says otherwise. */
export const TOKEN_DEFAULTS = {
  issuer: 'https://idp.test/realms/queue',
  audience: 'fifo-case-gateway',
  sub: 'user-alice',
  name: 'alice',
  roles: ['agent'],
} as const;

export interface MintOptions {
  /** The key that signs; default the provider's first. */
  readonly key?: SigningKey;
  /** The header's `kid`; default the signing key's; null leaves it out. */
  readonly kid?: string | null;
  /** null leaves the claim out. */
  readonly sub?: string | null;
  /** `preferred_username`; null leaves it out. */
  readonly name?: string | null;
  /** `roles`; null leaves it out. */
  readonly roles?: unknown;
  /** `services` (service ids); left out unless given. */
  readonly services?: unknown;
  readonly issuer?: string;
  readonly audience?: string | readonly string[];
  /** `exp` relative to now (negative: already expired); null leaves it out. Default 300. */
  readonly expiresInSeconds?: number | null;
  /** `nbf` relative to now; left out unless given. */
  readonly notBeforeSeconds?: number;
  /** More claims, or replacements for the ones above. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** `up` serves the JWKS; `error` answers 503; `hang` accepts requests and never answers. */
export type ProviderMode = 'up' | 'error' | 'hang';

export interface TestIdentityProvider {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  /** The keys the JWKS lists now. */
  readonly keys: readonly SigningKey[];
  /** AUTH_JWT_* settings for loadConfig or startTestGateway, matching the tokens `mint` makes. */
  readonly env: Readonly<Record<string, string>>;
  /** How many times the JWKS was asked for. */
  readonly fetches: number;
  /** The configuration `env` gives, for createJwtVerifier, with changes. */
  config(overrides?: Partial<JwtConfig>): JwtConfig;
  mint(options?: MintOptions): Promise<string>;
  /** Lists a key in the JWKS (key rotation). */
  publish(key: SigningKey): void;
  unpublish(kid: string): void;
  setMode(mode: ProviderMode): void;
  /** Stops serving: the JWKS URL then refuses connections. */
  close(): Promise<void>;
}

export interface ProviderOptions {
  /** The keys listed at start, one per algorithm; default RS256 and ES256. */
  readonly algorithms?: readonly TestAlgorithm[];
  readonly issuer?: string;
  readonly audience?: string;
}

export async function startIdentityProvider(options: ProviderOptions = {}): Promise<TestIdentityProvider> {
  const issuer = options.issuer ?? TOKEN_DEFAULTS.issuer;
  const audience = options.audience ?? TOKEN_DEFAULTS.audience;
  let keys: SigningKey[] = await Promise.all((options.algorithms ?? ['RS256', 'ES256']).map((alg) => signingKey(alg)));
  let mode: ProviderMode = 'up';
  let fetches = 0;
  const hanging = new Set<ServerResponse>();

  const server = createServer((request, response) => {
    if (request.url !== '/jwks.json') return response.writeHead(404).end();
    fetches += 1;
    if (mode === 'hang') return void hanging.add(response);
    if (mode === 'error') return response.writeHead(503).end();
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: keys.map((key) => key.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const jwksUrl = `http://127.0.0.1:${port}/jwks.json`;
  const env = {
    AUTH_JWT_ISSUER: issuer,
    AUTH_JWT_AUDIENCE: audience,
    AUTH_JWT_JWKS_URL: jwksUrl,
    AUTH_JWT_ALGORITHMS: 'RS256,ES256',
    AUTH_JWT_ROLES_CLAIM: 'roles',
    AUTH_JWT_NAME_CLAIM: 'preferred_username',
    AUTH_JWT_SERVICES_CLAIM: 'services',
    AUTH_JWT_CLOCK_TOLERANCE_S: '30',
  };

  return {
    issuer,
    audience,
    jwksUrl,
    env,
    get keys() {
      return keys;
    },
    get fetches() {
      return fetches;
    },
    config: (overrides = {}) => ({ ...loadConfig(env).auth.jwt!, ...overrides }),
    mint: (mintOptions = {}) => {
      const [first] = keys;
      const key = mintOptions.key ?? first;
      if (key === undefined) throw new Error('the provider publishes no key: pass one to mint');
      return mintToken(key, { issuer, audience, ...mintOptions });
    },
    publish: (key) => {
      keys = [...keys.filter((each) => each.kid !== key.kid), key];
    },
    unpublish: (kid) => {
      keys = keys.filter((each) => each.kid !== kid);
    },
    setMode: (next) => {
      mode = next;
    },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A token signed by `key` (no server needed: for configured keys, or a forger's key). */
export async function mintToken(key: SigningKey, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresInSeconds === undefined ? 300 : options.expiresInSeconds;
  const payload: Record<string, unknown> = {
    iss: options.issuer ?? TOKEN_DEFAULTS.issuer,
    aud: options.audience ?? TOKEN_DEFAULTS.audience,
    iat: now,
  };
  if (expiresIn !== null) payload['exp'] = now + expiresIn;
  if (options.notBeforeSeconds !== undefined) payload['nbf'] = now + options.notBeforeSeconds;
  const sub = options.sub === undefined ? TOKEN_DEFAULTS.sub : options.sub;
  if (sub !== null) payload['sub'] = sub;
  const name = options.name === undefined ? TOKEN_DEFAULTS.name : options.name;
  if (name !== null) payload['preferred_username'] = name;
  const roles = options.roles === undefined ? TOKEN_DEFAULTS.roles : options.roles;
  if (roles !== null) payload['roles'] = roles;
  if (options.services !== undefined) payload['services'] = options.services;
  Object.assign(payload, options.claims);
  const kid = options.kid === undefined ? key.kid : options.kid;
  return new SignJWT(payload)
    .setProtectedHeader(kid === null ? { alg: key.alg, typ: 'JWT' } : { alg: key.alg, typ: 'JWT', kid })
    .sign(key.privateKey);
}
