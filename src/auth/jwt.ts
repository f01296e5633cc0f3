// People's bearer tokens (JWT) from the organisation's identity provider.
// jose checks the signature against the provider's keys (fetched from its
// JWKS URL, or configured), the algorithm, issuer, audience and times; then
// role-claims.ts maps the claims onto a principal. A bad token is an answer
// (ok: false, with a reason for the operator's log), never an exception.
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwksCache,
  jwtVerify,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  type JWK,
  type JWKSCacheInput,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { ConfigError, type JwtConfig } from '../config.js';
import type { Principal } from './principal.js';
import { parseRoleMap, principalFromClaims, type ClaimMapping } from './role-claims.js';

export type JwtOutcome =
  { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string };

export interface JwtVerifier {
  /** Never throws: a bad token, or keys that cannot be had, is `ok: false` with a reason for the log. */
  verify(token: string): Promise<JwtOutcome>;
}

/** Timing of the JWKS URL; the defaults suit production, tests shorten them. */
export interface JwtVerifierOptions {
  /** A JWKS request taking longer fails (and so does the request waiting on it). Default 3 s. */
  readonly fetchTimeoutMs?: number;
  /** A token naming a key the set lacks refetches the set at most once per this. Default 30 s. */
  readonly refetchCooldownMs?: number;
  /** The key set is refetched when older than this. Default 10 min. */
  readonly cacheMaxAgeMs?: number;
  /** While the JWKS URL fails, the last set fetched is still used until this old. Default 1 h. */
  readonly staleMaxAgeMs?: number;
  /** After a failed fetch, requests do not wait on another one for this long. Default 5 s. */
  readonly retryAfterFailureMs?: number;
}

/** Longer tokens are refused unread (the HTTP edge allows 16 KB of headers in all). */
export const TOKEN_MAX_LENGTH = 16_384;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether a bearer credential is shaped like a JWT (three base64url segments), not an API key. Cheap; verifies nothing. */
export function looksLikeJwt(value: string): boolean {
  return value.length <= TOKEN_MAX_LENGTH && COMPACT_JWS.test(value);
}

/** Throws ConfigError when the configured keys, algorithms or role map cannot be used. */
export function createJwtVerifier(config: JwtConfig, options: JwtVerifierOptions = {}): JwtVerifier {
  const algorithms = checkedAlgorithms(config.algorithms);
  if (config.issuer === '' || config.audience === '')
    throw new ConfigError('AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE must both be set to accept tokens');
  const keys =
    config.jwksUrl !== undefined
      ? remoteKeys(config.jwksUrl, options)
      : config.publicKeys !== undefined
        ? localKeys(config.publicKeys, algorithms)
        : undefined;
  if (keys === undefined) throw new ConfigError('set AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEYS to accept tokens');
  const mapping = claimMappingOf(config);
  const verifyOptions: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [...algorithms],
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['exp', 'sub'],
  };
  return {
    async verify(token) {
      if (token.length > TOKEN_MAX_LENGTH)
        return { ok: false, reason: `token longer than ${TOKEN_MAX_LENGTH} characters` };
      if (!looksLikeJwt(token)) return { ok: false, reason: 'malformed token (not three base64url segments)' };
      let claims: JWTPayload;
      try {
        claims = await verifiedClaims(token, keys, verifyOptions);
      } catch (error) {
        return { ok: false, reason: reasonFor(error, token) };
      }
      const outcome = principalFromClaims(claims, mapping);
      // `exp` is required, so jose has checked it is a number.
      if (!outcome.ok || claims.exp === undefined) return outcome;
      const expiresAt = (claims.exp + config.clockToleranceSeconds) * 1000;
      return { ok: true, principal: { ...outcome.principal, expiresAt } };
    },
  };
}

/** Signature and claims, trying each key when several match the token's header (no `kid`, or a shared one). */
async function verifiedClaims(token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** The key set cannot be fetched, and no earlier one may stand in. */
class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
}

/**
 * What went wrong, for operators, in fixed words: nothing of the token is
 * quoted (not its header's `kid`, `alg` or `crit`, not a claim's value, not
 * jose's messages, which quote some of them), since whoever sent it chose
 * that text, and claims may be personal data.
 */
function reasonFor(error: unknown, token: string): string {
  if (error instanceof KeySetUnavailable) return `key set unavailable: ${error.message}`;
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = CHECKED_CLAIMS.has(error.claim) ? `"${error.claim}"` : 'a registered';
    if (error.reason === 'missing') return `missing ${claim} claim`;
    if (error.claim === 'iss') return 'wrong issuer';
    if (error.claim === 'aud') return 'wrong audience';
    if (error.claim === 'nbf') return 'not valid yet ("nbf" is in the future)';
    return `invalid ${claim} claim`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return `algorithm ${headerAlgorithm(token)} not allowed`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key in the key set matches the token (kid, alg)';
  if (error instanceof errors.JOSENotSupported)
    return 'unsupported header (an unknown "crit" extension, or an algorithm no key supports)';
  if (error instanceof errors.JWSInvalid) return 'malformed token (invalid JWS header or encoding)';
  if (error instanceof errors.JWTInvalid) return 'malformed token (invalid JWT claims set)';
  return 'not verifiable';
}

/** The claims jose checks, by name: only these are named in a reason. */
const CHECKED_CLAIMS = new Set(['iss', 'aud', 'sub', 'exp', 'nbf', 'iat', 'jti', 'typ']);

/** JWS algorithms registered with IANA (RFC 7518, RFC 8037), and `none`: the only names a reason repeats. */
const REGISTERED_ALGORITHMS = new Set([
  'none',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'ES256K',
  'EdDSA',
  'Ed25519',
  'Ed448',
]);

function headerAlgorithm(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    return typeof alg === 'string' && REGISTERED_ALGORITHMS.has(alg) ? `"${alg}"` : '(unregistered)';
  } catch {
    return '(unreadable)';
  }
}

// Only asymmetric algorithms: with an HMAC one, anyone holding the public
// key could sign (the key-confusion attack); `none` signs nothing.
const ASYMMETRIC = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

function checkedAlgorithms(algorithms: readonly string[]): readonly string[] {
  const refused = algorithms.filter((alg) => !ASYMMETRIC.has(alg));
  if (algorithms.length === 0 || refused.length > 0)
    throw new ConfigError(
      `AUTH_JWT_ALGORITHMS must list asymmetric algorithms only (${[...ASYMMETRIC].join(', ')}); refused: ${refused.join(', ') || '(empty list)'}`,
    );
  return algorithms;
}

function claimMappingOf(config: JwtConfig): ClaimMapping {
  const parsed = config.roleMap === undefined ? undefined : parseRoleMap(config.roleMap);
  if (parsed !== undefined && 'problem' in parsed) throw new ConfigError(`AUTH_JWT_ROLE_MAP ${parsed.problem}`);
  return {
    rolesClaim: config.rolesClaim,
    roleMap: parsed?.map ?? null,
    nameClaim: config.nameClaim,
    servicesClaim: config.servicesClaim,
  };
}

// --- Keys from the JWKS URL ---------------------------------------------------

/**
 * jose fetches the set when first needed, again when older than the cache
 * age, and when a token names an unknown `kid` (key rotation) unless it
 * fetched within the cooldown. Around it: while the URL fails, the last set
 * fetched still verifies tokens (up to `staleMaxAgeMs` old), and requests do
 * not queue up behind a new attempt more than once per `retryAfterFailureMs`.
 */
function remoteKeys(url: string, options: JwtVerifierOptions): JWTVerifyGetKey {
  const staleMaxAgeMs = options.staleMaxAgeMs ?? 3_600_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 5_000;
  // jose writes the set and its fetch time here after each successful fetch.
  const cache = emptyCache();
  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: options.fetchTimeoutMs ?? 3_000,
    cooldownDuration: options.refetchCooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    [jwksCache]: cache,
  });
  // For the log: no credentials or query string the URL might carry.
  const where = `${new URL(url).origin}${new URL(url).pathname}`;
  let failedAt = Number.NEGATIVE_INFINITY;
  let failure = '';
  let lastSet: { readonly fetchedAt: number; readonly keys: JWTVerifyGetKey } | undefined;

  const lastFetched = (): JWTVerifyGetKey => {
    if (!isFetched(cache) || Date.now() - cache.uat > staleMaxAgeMs)
      throw new KeySetUnavailable(`${failure} (from ${where})`);
    if (lastSet?.fetchedAt !== cache.uat) lastSet = { fetchedAt: cache.uat, keys: createLocalJWKSet(cache.jwks) };
    return lastSet.keys;
  };

  return async (header, token) => {
    if (Date.now() - failedAt < retryAfterFailureMs) return lastFetched()(header, token);
    try {
      return await remote(header, token);
    } catch (error) {
      if (isKeySelectionError(error)) throw error;
      failedAt = Date.now();
      failure = fetchFailure(error);
      return lastFetched()(header, token);
    }
  };
}

function emptyCache(): JWKSCacheInput {
  return {};
}

function isFetched(cache: JWKSCacheInput): cache is ExportedJWKSCache {
  return typeof cache.uat === 'number' && typeof cache.jwks === 'object';
}

/** Errors about the token's header against a set in hand, as opposed to getting the set. */
function isKeySelectionError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

function fetchFailure(error: unknown): string {
  if (!(error instanceof Error)) return 'fetch failed';
  const cause: unknown = error.cause;
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string'
      ? ` (${cause.code})`
      : '';
  return `${error.message}${code}`;
}

// --- Keys given in AUTH_JWT_PUBLIC_KEYS ---------------------------------------

function localKeys(text: string, algorithms: readonly string[]): JWTVerifyGetKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return jwksKeys(trimmed, algorithms);
  return pemKeys(trimmed, algorithms);
}

/** A JWKS as the provider publishes it: keys are chosen by `kid` and `alg`, as with the URL. */
function jwksKeys(text: string, algorithms: readonly string[]): JWTVerifyGetKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('AUTH_JWT_PUBLIC_KEYS starts with `{` but is not JSON (a JWKS, {"keys":[...]})');
  }
  const keys: unknown = typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ConfigError('AUTH_JWT_PUBLIC_KEYS as JSON must be a JWKS with at least one key: {"keys":[...]}');
  const checked = keys.map((jwk: unknown, index) => publicJwk(jwk, `AUTH_JWT_PUBLIC_KEYS key ${index + 1}`));
  requireUsableKey(
    checked.map((each) => each.key),
    algorithms,
  );
  const set: JSONWebKeySet = { keys: checked.map((each) => each.jwk) };
  try {
    return createLocalJWKSet(set);
  } catch (error) {
    throw new ConfigError(`AUTH_JWT_PUBLIC_KEYS is not a usable JWKS: ${error instanceof Error ? error.message : ''}`);
  }
}

function publicJwk(jwk: unknown, label: string): { readonly jwk: JWK; readonly key: KeyObject } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new ConfigError(`${label} is not a JWK object`);
  if ('d' in jwk || 'p' in jwk || 'k' in jwk)
    throw new ConfigError(`${label} holds private or symmetric key material: give the provider's public keys only`);
  const entries = Object.entries(jwk);
  const parsedJwk: JWK = Object.fromEntries(entries);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: parsedJwk, format: 'jwk' });
  } catch (error) {
    throw new ConfigError(`${label} is not a public key: ${error instanceof Error ? error.message : ''}`);
  }
  checkStrength(key, label);
  return { jwk: parsedJwk, key };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[A-Za-z0-9+/=\s]*?-----END \1-----/g;

/**
 * One or more PEM public keys (`PUBLIC KEY`, or `RSA PUBLIC KEY`). PEM has no
 * `kid`, so a token's `kid` is ignored and every key fitting its `alg` is tried.
 */
function pemKeys(text: string, algorithms: readonly string[]): JWTVerifyGetKey {
  // Environment files often carry a PEM on one line with literal `\n`s.
  const pem = text.includes('\n') ? text : text.replaceAll('\\n', '\n');
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  const rest = pem.replace(PEM_BLOCK, '').trim();
  if (blocks.length === 0 || rest !== '')
    throw new ConfigError(
      'AUTH_JWT_PUBLIC_KEYS must be a JWKS ({"keys":[...]}) or PEM blocks (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----) and nothing else',
    );
  const keys = blocks.map((block, index) =>
    pemKey(block[0], block[1] ?? '', `AUTH_JWT_PUBLIC_KEYS PEM block ${index + 1}`),
  );
  requireUsableKey(keys, algorithms);
  const set = createLocalJWKSet({ keys: keys.map((key) => key.export({ format: 'jwk' })) });
  return (header) => set({ alg: header.alg });
}

function pemKey(block: string, label: string, where: string): KeyObject {
  if (label.includes('PRIVATE'))
    throw new ConfigError(`${where} is a private key: give the identity provider's public key only`);
  if (label === 'CERTIFICATE')
    throw new ConfigError(
      `${where} is a certificate: give its public key (openssl x509 -pubkey -noout -in cert.pem), or use the provider's JWKS`,
    );
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY')
    throw new ConfigError(`${where} is "${label}", not a PUBLIC KEY`);
  let key: KeyObject;
  try {
    key = createPublicKey(block);
  } catch (error) {
    throw new ConfigError(`${where} is not a usable public key: ${error instanceof Error ? error.message : ''}`);
  }
  checkStrength(key, where);
  return key;
}

function checkStrength(key: KeyObject, where: string): void {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== undefined && bits < 2048)
    throw new ConfigError(`${where} is an RSA key of ${bits} bits; at least 2048 are required`);
}

/** At least one key must fit one of the algorithms, or no token could ever be accepted. */
function requireUsableKey(keys: readonly KeyObject[], algorithms: readonly string[]): void {
  if (keys.some((key) => algorithmsFor(key).some((alg) => algorithms.includes(alg)))) return;
  throw new ConfigError(
    `none of the keys in AUTH_JWT_PUBLIC_KEYS fits AUTH_JWT_ALGORITHMS (${algorithms.join(', ')}): RSA keys fit RS*/PS*, EC keys ES256/384/512 by curve, Ed25519 keys EdDSA`,
  );
}

function algorithmsFor(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1'
        ? ['ES256']
        : curve === 'secp384r1'
          ? ['ES384']
          : curve === 'secp521r1'
            ? ['ES512']
            : [];
    }
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}
