// People's bearer tokens: verified against a JWKS served over real HTTP (or
// configured keys), refused with a reason for every way a token can be bad,
// and their claims mapped onto roles, services and a name.
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { base64url, decodeJwt, exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier, looksLikeJwt, type JwtOutcome, type JwtVerifier } from '../../src/auth/jwt.js';
import type { Principal } from '../../src/auth/principal.js';
import { parseRoleMap, principalFromClaims, type ClaimMapping } from '../../src/auth/role-claims.js';
import { ConfigError, loadConfig, type JwtConfig } from '../../src/config.js';
import {
  mintToken,
  signingKey,
  startIdentityProvider,
  TOKEN_DEFAULTS,
  type SigningKey,
  type TestIdentityProvider,
} from '../helpers/tokens.js';

function principalOf(outcome: JwtOutcome): Principal {
  if (!outcome.ok) throw new Error(`expected a principal, got: ${outcome.reason}`);
  return outcome.principal;
}

function reasonOf(outcome: JwtOutcome): string {
  if (outcome.ok) throw new Error(`expected a refusal, got principal ${outcome.principal.id}`);
  return outcome.reason;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('looksLikeJwt', () => {
  it('tells a compact JWS from an API key and from junk', async () => {
    const key = await signingKey('ES256');
    expect(looksLikeJwt(await mintToken(key))).toBe(true);
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe(true);
    expect(looksLikeJwt('fcq_3b1f0c2d9e8a7b6c5d4e3f2a1b0c9d8e')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a b.c.d')).toBe(false);
    expect(looksLikeJwt('')).toBe(false);
    expect(looksLikeJwt(`${'a'.repeat(20_000)}.b.c`)).toBe(false);
  });
});

describe('tokens verified against a JWKS URL', () => {
  let idp: TestIdentityProvider;
  let verifier: JwtVerifier;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    verifier = createJwtVerifier(idp.config());
  });
  afterAll(() => idp.close());

  it('accepts a valid RS256 token as a user principal, until its expiry and the clock tolerance', async () => {
    const token = await idp.mint({ roles: ['agent', 'screen'] });
    const principal = principalOf(await verifier.verify(token));
    expect(principal).toEqual({
      id: `user:${TOKEN_DEFAULTS.sub}`,
      kind: 'user',
      name: TOKEN_DEFAULTS.name,
      agent: TOKEN_DEFAULTS.name,
      roles: new Set(['AGENT', 'SCREEN']),
      services: null,
      // `exp` plus AUTH_JWT_CLOCK_TOLERANCE_S (30 s here), in ms: when a WebSocket opened with it closes.
      expiresAt: ((decodeJwt(token).exp ?? 0) + 30) * 1000,
    });
  });

  it('accepts a valid ES256 token, with the services it is limited to', async () => {
    const es256 = idp.keys.find((key) => key.alg === 'ES256')!;
    const token = await idp.mint({ key: es256, sub: 'u-2', name: 'desk bob', roles: ['agent'], services: [3, '12'] });
    expect(principalOf(await verifier.verify(token))).toEqual({
      id: 'user:u-2',
      kind: 'user',
      name: 'desk bob',
      agent: 'desk bob',
      roles: new Set(['AGENT']),
      services: new Set([3, 12]),
      expiresAt: ((decodeJwt(token).exp ?? 0) + 30) * 1000,
    });
  });

  it('refuses an ADMIN limited to services: a limited ADMIN does not exist', async () => {
    for (const services of [[1], [], ['2', 3]])
      expect(reasonOf(await verifier.verify(await idp.mint({ roles: ['admin', 'agent'], services })))).toBe(
        'ADMIN cannot be limited to services',
      );
    expect(principalOf(await verifier.verify(await idp.mint({ roles: ['admin'] }))).services).toBeNull();
  });

  it('accepts an audience list that includes ours', async () => {
    const token = await idp.mint({ audience: ['account', TOKEN_DEFAULTS.audience] });
    expect((await verifier.verify(token)).ok).toBe(true);
  });

  it('refuses a token expired beyond the clock tolerance, and accepts one within it', async () => {
    expect(reasonOf(await verifier.verify(await idp.mint({ expiresInSeconds: -60 })))).toBe('expired');
    expect((await verifier.verify(await idp.mint({ expiresInSeconds: -10 }))).ok).toBe(true);
  });

  it('refuses a token not valid yet', async () => {
    expect(reasonOf(await verifier.verify(await idp.mint({ notBeforeSeconds: 120 })))).toBe(
      'not valid yet ("nbf" is in the future)',
    );
    expect((await verifier.verify(await idp.mint({ notBeforeSeconds: 10 }))).ok).toBe(true);
  });

  it('refuses a forged token: the right kid, signed by another key', async () => {
    const [real] = idp.keys;
    const forger = await signingKey('RS256', real!.kid);
    expect(reasonOf(await verifier.verify(await mintToken(forger)))).toBe('bad signature');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await idp.mint({ roles: ['agent'] })).split('.');
    const payload = base64url.encode(
      JSON.stringify({
        iss: idp.issuer,
        aud: idp.audience,
        sub: TOKEN_DEFAULTS.sub,
        exp: Math.floor(Date.now() / 1000) + 300,
        roles: ['admin'],
      }),
    );
    expect(reasonOf(await verifier.verify(`${header}.${payload}.${signature}`))).toBe('bad signature');
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    expect(reasonOf(await verifier.verify(await idp.mint({ audience: 'another-api' })))).toBe('wrong audience');
    expect(reasonOf(await verifier.verify(await idp.mint({ issuer: 'https://evil.test/' })))).toBe('wrong issuer');
    expect(reasonOf(await verifier.verify(await idp.mint({ claims: { aud: undefined } })))).toBe('missing "aud" claim');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const token = new UnsecuredJWT({ sub: 'x', iss: idp.issuer, aud: idp.audience, roles: ['admin'] })
      .setExpirationTime('5m')
      .encode();
    expect(reasonOf(await verifier.verify(token))).toBe('algorithm "none" not allowed');
  });

  it('refuses HS256 signed with the public key as the secret (key confusion)', async () => {
    const [rsa] = idp.keys;
    const spki = await exportSPKI(rsa!.publicKey);
    for (const secret of [spki, JSON.stringify(rsa!.publicJwk)]) {
      const token = await new SignJWT({ sub: 'x', iss: idp.issuer, aud: idp.audience, roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256', kid: rsa!.kid })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      expect(reasonOf(await verifier.verify(token))).toBe('algorithm "HS256" not allowed');
    }
  });

  it('refuses a token without sub or exp', async () => {
    expect(reasonOf(await verifier.verify(await idp.mint({ sub: null })))).toBe('missing "sub" claim');
    expect(reasonOf(await verifier.verify(await idp.mint({ expiresInSeconds: null })))).toBe('missing "exp" claim');
    expect(reasonOf(await verifier.verify(await idp.mint({ claims: { exp: 'tomorrow' } })))).toBe(
      'invalid "exp" claim',
    );
  });

  it('refuses a subject that is empty, too long or has control characters', async () => {
    for (const sub of ['', 'x'.repeat(191), 'ab\ncd', 'a\u0000b']) {
      expect(reasonOf(await verifier.verify(await idp.mint({ sub })))).toMatch(/"sub" claim is not/);
    }
    expect(reasonOf(await verifier.verify(await idp.mint({ claims: { sub: 42 } })))).toMatch(/"sub" claim is not/);
    expect(principalOf(await verifier.verify(await idp.mint({ sub: 's'.repeat(190) }))).id).toBe(
      `user:${'s'.repeat(190)}`,
    );
  });

  it('refuses a token naming a kid the key set lacks', async () => {
    const stranger = await signingKey('RS256');
    expect(reasonOf(await verifier.verify(await mintToken(stranger)))).toBe(
      'no key in the key set matches the token (kid, alg)',
    );
  });

  it('never throws on junk', async () => {
    const junk = [
      '',
      'fcq_abc',
      'a.b.c',
      'e30.e30.',
      `${base64url.encode('{"alg":"RS256"}')}.${base64url.encode('[1,2]')}.AAAA`,
      `${base64url.encode('{"alg":"RS256","crit":["x"]}')}.e30.AAAA`,
      `${base64url.encode('not json')}.e30.AAAA`,
      'x'.repeat(40_000),
    ];
    for (const token of junk) expect(reasonOf(await verifier.verify(token))).not.toBe('');
  });

  it('quotes nothing of the token in a reason: not its crit, kid or alg, nor a claim value', async () => {
    const planted = 'Jane_Doe_SSN_123456789';
    const [real] = idp.keys;
    const claims = { sub: 'x', iss: idp.issuer, aud: idp.audience, exp: 4_000_000_000 };
    /** A header of the attacker's choosing, with a signature that is never reached. */
    const unsigned = (header: Record<string, unknown>) =>
      `${base64url.encode(JSON.stringify({ alg: real!.alg, kid: real!.kid, ...header }))}.${base64url.encode(JSON.stringify(claims))}.AAAA`;
    /** Signed by the provider's key (as if it had been tricked into it), so every check is reached. */
    const signed = (header: Record<string, unknown>, critical: Record<string, boolean> = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: real!.alg, kid: real!.kid, ...header })
        .sign(real!.privateKey, { crit: critical });
    const tokens = [
      await signed({ crit: [`${planted}\ninjected`], [`${planted}\ninjected`]: 1 }, { [`${planted}\ninjected`]: true }),
      unsigned({ crit: [`${planted}\ninjected`] }),
      unsigned({ crit: ['b64'] }),
      unsigned({ alg: planted }),
      unsigned({ alg: `RS256${planted}` }),
      unsigned({ kid: planted }),
      unsigned({ b64: planted, crit: ['b64'] }),
      `${base64url.encode(`{"alg":"${planted}`)}.e30.AAAA`,
      ...(await Promise.all(
        [{ exp: planted }, { nbf: planted }, { iat: planted }, { iss: planted }, { aud: planted }].map((replaced) =>
          idp.mint({ claims: replaced }),
        ),
      )),
      await idp.mint({ claims: { [planted]: planted, jti: planted, typ: planted }, roles: [planted], name: planted }),
    ];
    for (const token of tokens) {
      const outcome = await verifier.verify(token);
      const said = outcome.ok ? `accepted as ${outcome.principal.id}` : outcome.reason;
      expect(said, token).not.toMatch(/Jane|SSN|injected|\n/);
    }
    // Still useful to an operator: the kind of problem, in fixed words.
    expect(reasonOf(await verifier.verify(tokens[0]!))).toBe(
      'unsupported header (an unknown "crit" extension, or an algorithm no key supports)',
    );
    expect(reasonOf(await verifier.verify(tokens[3]!))).toBe('algorithm (unregistered) not allowed');
    expect(reasonOf(await verifier.verify(tokens[8]!))).toBe('invalid "exp" claim');
  });

  it('fetches the key set once for many tokens at once', async () => {
    const fresh = await startIdentityProvider({ algorithms: ['ES256'] });
    try {
      const concurrent = createJwtVerifier(fresh.config());
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, index) => fresh.mint({ sub: `u${index}` })));
      const outcomes = await Promise.all(tokens.map((token) => concurrent.verify(token)));
      expect(outcomes.map((outcome) => principalOf(outcome).id)).toEqual(tokens.map((_, index) => `user:u${index}`));
      expect(fresh.fetches).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});

describe('the JWKS URL over time', () => {
  it('refetches the set for an unknown kid (key rotation), at most once per cooldown', async () => {
    const idp = await startIdentityProvider({ algorithms: ['RS256'] });
    try {
      const verifier = createJwtVerifier(idp.config(), { refetchCooldownMs: 1_000 });
      const next = await signingKey('ES256');
      const rotated = await mintToken(next, { sub: 'rotated' });
      expect((await verifier.verify(await idp.mint())).ok).toBe(true);
      expect(idp.fetches).toBe(1);

      idp.publish(next);
      // Within the cooldown an unknown kid does not refetch: forged kids cannot hammer the provider.
      expect(reasonOf(await verifier.verify(rotated))).toBe('no key in the key set matches the token (kid, alg)');
      expect(idp.fetches).toBe(1);

      await sleep(1_050);
      expect(principalOf(await verifier.verify(rotated)).id).toBe('user:rotated');
      expect(idp.fetches).toBe(2);
    } finally {
      await idp.close();
    }
  });

  it('stops accepting a key once it leaves the set and the set is refetched', async () => {
    const idp = await startIdentityProvider({ algorithms: ['RS256', 'ES256'] });
    try {
      const verifier = createJwtVerifier(idp.config(), { cacheMaxAgeMs: 200 });
      const retired = idp.keys[0]!;
      const token = await idp.mint({ key: retired });
      expect((await verifier.verify(token)).ok).toBe(true);
      idp.unpublish(retired.kid);
      await sleep(250);
      expect(reasonOf(await verifier.verify(token))).toBe('no key in the key set matches the token (kid, alg)');
      expect(idp.fetches).toBe(2);
    } finally {
      await idp.close();
    }
  });

  it('refuses at once when the JWKS URL refuses connections', async () => {
    const idp = await startIdentityProvider({ algorithms: ['RS256'] });
    const token = await idp.mint();
    await idp.close();
    const verifier = createJwtVerifier(idp.config());
    const started = performance.now();
    const outcome = await verifier.verify(token);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(reasonOf(outcome)).toMatch(
      /^key set unavailable: fetch failed \(ECONNREFUSED\) \(from http:\/\/127\.0\.0\.1:/,
    );
  });

  it('gives up on a JWKS URL that does not answer within the timeout, and does not wait again at once', async () => {
    const idp = await startIdentityProvider({ algorithms: ['RS256'] });
    try {
      idp.setMode('hang');
      const verifier = createJwtVerifier(idp.config(), { fetchTimeoutMs: 1_000, retryAfterFailureMs: 2_000 });
      const token = await idp.mint();
      let started = performance.now();
      expect(reasonOf(await verifier.verify(token))).toMatch(/^key set unavailable: request timed out/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(performance.now() - started).toBeLessThan(3_000);

      // Within the retry pause, requests do not queue behind another attempt.
      started = performance.now();
      expect(reasonOf(await verifier.verify(token))).toMatch(/^key set unavailable: request timed out/);
      expect(performance.now() - started).toBeLessThan(500);
      expect(idp.fetches).toBe(1);

      // Once the provider answers again, so does the verifier (after the pause).
      idp.setMode('up');
      await sleep(2_050);
      expect((await verifier.verify(token)).ok).toBe(true);
    } finally {
      await idp.close();
    }
  });

  it('refuses when the JWKS URL answers with an error status', async () => {
    const idp = await startIdentityProvider({ algorithms: ['RS256'] });
    try {
      idp.setMode('error');
      const verifier = createJwtVerifier(idp.config());
      expect(reasonOf(await verifier.verify(await idp.mint()))).toMatch(
        /^key set unavailable: Expected 200 OK from the JSON Web Key Set HTTP response/,
      );
    } finally {
      await idp.close();
    }
  });

  it('keeps verifying with the last set fetched while the URL fails, for a bounded time', async () => {
    const idp = await startIdentityProvider({ algorithms: ['ES256'] });
    try {
      const verifier = createJwtVerifier(idp.config(), {
        cacheMaxAgeMs: 100,
        staleMaxAgeMs: 1_500,
        retryAfterFailureMs: 50,
      });
      const token = await idp.mint();
      expect((await verifier.verify(token)).ok).toBe(true);
      idp.setMode('error');
      await sleep(150);
      // The set is past its age and cannot be refetched: the one in hand still verifies...
      expect((await verifier.verify(token)).ok).toBe(true);
      expect(idp.fetches).toBe(2);
      // ...but a forged token still fails against it.
      const forger = await signingKey('ES256', idp.keys[0]!.kid);
      expect(reasonOf(await verifier.verify(await mintToken(forger)))).toBe('bad signature');
      await sleep(1_500);
      expect(reasonOf(await verifier.verify(token))).toMatch(/^key set unavailable: Expected 200 OK/);
    } finally {
      await idp.close();
    }
  });
});

describe('tokens verified against configured keys', () => {
  const base = (publicKeys: string, overrides: Partial<JwtConfig> = {}): JwtConfig => ({
    ...loadConfig({
      AUTH_JWT_ISSUER: TOKEN_DEFAULTS.issuer,
      AUTH_JWT_AUDIENCE: TOKEN_DEFAULTS.audience,
      AUTH_JWT_PUBLIC_KEYS: publicKeys,
      AUTH_JWT_ALGORITHMS: 'RS256,ES256,EdDSA',
      AUTH_JWT_CLOCK_TOLERANCE_S: '0',
    }).auth.jwt!,
    ...overrides,
  });
  let rsa: SigningKey;
  let ec: SigningKey;

  beforeAll(async () => {
    [rsa, ec] = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1')]);
  });

  it('takes a JWKS and picks keys by kid', async () => {
    const verifier = createJwtVerifier(base(JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk] })));
    expect(principalOf(await verifier.verify(await mintToken(rsa))).roles).toEqual(new Set(['AGENT']));
    expect((await verifier.verify(await mintToken(ec))).ok).toBe(true);
    const stranger = await signingKey('RS256', 'rsa-2');
    expect(reasonOf(await verifier.verify(await mintToken(stranger)))).toBe(
      'no key in the key set matches the token (kid, alg)',
    );
    expect(reasonOf(await verifier.verify(await mintToken(rsa, { expiresInSeconds: -1 })))).toBe('expired');
  });

  it('tries every key a kid-less token could be signed with', async () => {
    const other = await signingKey('RS256', 'rsa-other');
    const { kid: _a, ...first } = rsa.publicJwk;
    const { kid: _b, ...second } = other.publicJwk;
    const verifier = createJwtVerifier(base(JSON.stringify({ keys: [second, first] })));
    expect((await verifier.verify(await mintToken(rsa, { kid: null }))).ok).toBe(true);
    expect((await verifier.verify(await mintToken(other, { kid: null }))).ok).toBe(true);
    const forger = await signingKey('RS256');
    expect(reasonOf(await verifier.verify(await mintToken(forger, { kid: null })))).toBe('bad signature');
  });

  it('takes PEM public keys, whatever kid the token names', async () => {
    const pem = `${await exportSPKI(rsa.publicKey)}\n${await exportSPKI(ec.publicKey)}`;
    const verifier = createJwtVerifier(base(pem));
    expect((await verifier.verify(await mintToken(rsa))).ok).toBe(true);
    expect((await verifier.verify(await mintToken(ec, { kid: 'anything' }))).ok).toBe(true);
    expect((await verifier.verify(await mintToken(ec, { kid: null }))).ok).toBe(true);
    const forger = await signingKey('ES256', ec.kid);
    expect(reasonOf(await verifier.verify(await mintToken(forger)))).toBe('bad signature');
  });

  it('takes a PKCS#1 RSA PUBLIC KEY block', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const verifier = createJwtVerifier(base(publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()));
    const token = await new SignJWT({ sub: 'pkcs1', preferred_username: 'pk', roles: ['kiosk'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'ignored' })
      .setIssuer(TOKEN_DEFAULTS.issuer)
      .setAudience(TOKEN_DEFAULTS.audience)
      .setExpirationTime('1m')
      .sign(privateKey);
    expect(principalOf(await verifier.verify(token)).roles).toEqual(new Set(['KIOSK']));
  });

  it('takes a PEM written on one line with \\n escapes, as environment files carry it', async () => {
    const oneLine = (await exportSPKI(ec.publicKey)).trim().replaceAll('\n', '\\n');
    const verifier = createJwtVerifier(base(oneLine));
    expect((await verifier.verify(await mintToken(ec))).ok).toBe(true);
  });

  it('takes an Ed25519 PEM key for EdDSA tokens', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const verifier = createJwtVerifier(base(pem));
    const token = await new SignJWT({ sub: 'ed', preferred_username: 'ed', roles: 'screen' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(TOKEN_DEFAULTS.issuer)
      .setAudience(TOKEN_DEFAULTS.audience)
      .setExpirationTime('1m')
      .sign(privateKey);
    expect(principalOf(await verifier.verify(token)).roles).toEqual(new Set(['SCREEN']));
  });

  it('refuses key material it cannot use, at creation', async () => {
    const privateJwk = { ...rsa.publicJwk, d: 'AQAB' };
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
    const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const cases: [string, RegExp][] = [
      ['{"keys": [', /is not JSON/],
      ['{"keys": []}', /at least one key/],
      ['{"kty":"RSA"}', /at least one key/],
      [JSON.stringify({ keys: ['x'] }), /key 1 is not a JWK object/],
      [JSON.stringify({ keys: [privateJwk] }), /private or symmetric key material/],
      [JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }), /private or symmetric key material/],
      [JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB' }] }), /key 1 is not a public key/],
      ['not a key', /must be a JWKS .* or PEM blocks/],
      [`${await exportSPKI(rsa.publicKey)}\ntrailing words`, /and nothing else/],
      [privatePem, /PEM block 1 is a private key/],
      ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', /PEM block 1 is not a usable public key/],
      [weak.toString(), /RSA key of 1024 bits/],
      [
        '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
        /PEM block 1 is a certificate: give its public key/,
      ],
      ['-----BEGIN DH PARAMETERS-----\nAAAA\n-----END DH PARAMETERS-----', /is "DH PARAMETERS", not a PUBLIC KEY/],
    ];
    for (const [material, message] of cases) {
      expect(() => createJwtVerifier(base(material)), material.slice(0, 40)).toThrow(ConfigError);
      expect(() => createJwtVerifier(base(material))).toThrow(message);
    }
  });

  it('refuses keys that fit none of the algorithms, and symmetric algorithms', async () => {
    const ecPem = await exportSPKI(ec.publicKey);
    expect(() => createJwtVerifier(base(ecPem, { algorithms: ['RS256', 'PS256'] }))).toThrow(
      /none of the keys in AUTH_JWT_PUBLIC_KEYS fits AUTH_JWT_ALGORITHMS/,
    );
    for (const algorithms of [['HS256'], ['RS256', 'none'], []]) {
      expect(() => createJwtVerifier(base(ecPem, { algorithms }))).toThrow(/asymmetric algorithms only/);
    }
    expect(() => createJwtVerifier(base(ecPem, { roleMap: '{"x":"root"}' }))).toThrow(ConfigError);
  });

  it('refuses an RS256 token when only ES256 is allowed, even with a matching key', async () => {
    const verifier = createJwtVerifier(
      base(JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk] }), { algorithms: ['ES256'] }),
    );
    expect(reasonOf(await verifier.verify(await mintToken(rsa)))).toBe('algorithm "RS256" not allowed');
  });

  it('refuses an HMAC token whose secret is the configured PEM (key confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const verifier = createJwtVerifier(base(pem));
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({
        sub: 'x',
        iss: TOKEN_DEFAULTS.issuer,
        aud: TOKEN_DEFAULTS.audience,
        exp: Math.floor(Date.now() / 1000) + 60,
      }),
    );
    const signature = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
    expect(reasonOf(await verifier.verify(`${header}.${payload}.${signature}`))).toBe('algorithm "HS256" not allowed');
    // The same key as a KeyObject is what an unguarded verifier would use.
    expect(createPublicKey(pem).asymmetricKeyType).toBe('rsa');
  });
});

describe('claims mapped onto a principal', () => {
  const mapping = (overrides: Partial<ClaimMapping> = {}): ClaimMapping => ({
    rolesClaim: 'roles',
    roleMap: null,
    nameClaim: 'preferred_username',
    servicesClaim: undefined,
    ...overrides,
  });
  const mapped = (claims: Record<string, unknown>, overrides: Partial<ClaimMapping> = {}) =>
    principalFromClaims({ sub: 'u1', ...claims }, mapping(overrides));
  const rolesOf = (claims: Record<string, unknown>, overrides: Partial<ClaimMapping> = {}) => {
    const outcome = mapped(claims, overrides);
    if (!outcome.ok) throw new Error(outcome.reason);
    return [...outcome.principal.roles].sort();
  };

  it('maps role names in any ASCII case by default, ignoring everything else', () => {
    expect(rolesOf({ roles: ['Agent', 'ADMIN', 'admin', 'kiosk', 'admın', 'superuser', 7, null] })).toEqual([
      'ADMIN',
      'AGENT',
      'KIOSK',
    ]);
    expect(rolesOf({ roles: 'agent screen,admin' })).toEqual(['ADMIN', 'AGENT', 'SCREEN']);
  });

  it('reads roles at a nested path, and at a claim name holding dots', () => {
    const keycloak = { realm_access: { roles: ['agent', 'offline_access', 'uma_authorization'] } };
    expect(rolesOf(keycloak, { rolesClaim: 'realm_access.roles' })).toEqual(['AGENT']);
    const auth0 = { 'https://queue.example.org/roles': ['screen'] };
    expect(rolesOf(auth0, { rolesClaim: 'https://queue.example.org/roles' })).toEqual(['SCREEN']);
    const client = { resource_access: { 'queue.example.org': { roles: ['admin'] }, account: { roles: ['agent'] } } };
    expect(rolesOf(client, { rolesClaim: 'resource_access.queue.example.org.roles' })).toEqual(['ADMIN']);
    expect(rolesOf({ realm_access: ['agent'] }, { rolesClaim: 'realm_access.roles' })).toEqual([]);
  });

  it('maps claim values through AUTH_JWT_ROLE_MAP only, when one is given', () => {
    const env = {
      AUTH_JWT_ISSUER: 'https://idp.test/',
      AUTH_JWT_AUDIENCE: 'gw',
      AUTH_JWT_JWKS_URL: 'https://idp.test/jwks',
      AUTH_JWT_ROLE_MAP: '{"queue-agents":"AGENT","queue-admins":"admin","Desk Staff":"Agent"}',
    };
    expect(createJwtVerifier(loadConfig(env).auth.jwt!)).toBeDefined();
    const parsed = parseRoleMap(env.AUTH_JWT_ROLE_MAP);
    if (!('map' in parsed)) throw new Error(parsed.problem);
    const roleMap = parsed.map;
    expect(roleMap).toEqual(
      new Map([
        ['queue-agents', 'AGENT'],
        ['queue-admins', 'ADMIN'],
        ['Desk Staff', 'AGENT'],
      ]),
    );
    expect(rolesOf({ groups: ['queue-agents', 'AGENT', 'admin', 'other'] }, { rolesClaim: 'groups', roleMap })).toEqual(
      ['AGENT'],
    );
    expect(rolesOf({ groups: ['QUEUE-ADMINS', 'queue-admins'] }, { rolesClaim: 'groups', roleMap })).toEqual(['ADMIN']);
  });

  it('gives an authenticated person without roles an empty role set', () => {
    expect(rolesOf({})).toEqual([]);
    expect(rolesOf({ roles: { agent: true } })).toEqual([]);
    expect(rolesOf({ roles: ['nothing-we-know'] })).toEqual([]);
  });

  it('reads the services claim as a set of ids; absent means every service', () => {
    const services = (claims: Record<string, unknown>) => {
      const outcome = mapped(claims, { servicesClaim: 'queue.services' });
      return outcome.ok ? outcome.principal.services : outcome.reason;
    };
    expect(services({})).toBeNull();
    expect(services({ queue: { services: [3, '4', 3] } })).toEqual(new Set([3, 4]));
    expect(services({ queue: { services: [] } })).toEqual(new Set());
    expect(services({ queue: { services: [2147483647] } })).toEqual(new Set([2147483647]));
    for (const bad of ['3', 3, [0], [-1], [1.5], ['01'], ['1e3'], [2147483648], [null], [{}], { a: 1 }]) {
      expect(services({ queue: { services: bad } })).toBe(
        '"queue.services" claim is not a list of service ids (positive integers)',
      );
    }
    expect(mapped({ services: 'junk' }).ok).toBe(true);
  });

  it('refuses ADMIN with a services claim, whatever claim value maps to it', () => {
    const reason = (claims: Record<string, unknown>, overrides: Partial<ClaimMapping> = {}) => {
      const outcome = mapped(claims, { servicesClaim: 'services', ...overrides });
      return outcome.ok ? [...outcome.principal.roles] : outcome.reason;
    };
    expect(reason({ roles: ['ADMIN'], services: [1] })).toBe('ADMIN cannot be limited to services');
    expect(reason({ roles: 'agent admin', services: [] })).toBe('ADMIN cannot be limited to services');
    const roleMap = new Map([['queue-admins', 'ADMIN' as const]]);
    expect(reason({ roles: ['queue-admins'], services: ['2'] }, { roleMap })).toBe(
      'ADMIN cannot be limited to services',
    );
    // Without the claim, or without ADMIN, nothing changes.
    expect(reason({ roles: ['ADMIN'] })).toEqual(['ADMIN']);
    expect(reason({ roles: ['AGENT'], services: [1] })).toEqual(['AGENT']);
    expect(reason({ roles: ['ADMIN'], services: [1] }, { servicesClaim: undefined })).toEqual(['ADMIN']);
  });

  it('names the person by the name claim, else by sub, else refuses', () => {
    const named = (claims: Record<string, unknown>, overrides: Partial<ClaimMapping> = {}) => {
      const outcome = principalFromClaims(claims, mapping(overrides));
      return outcome.ok ? [outcome.principal.name, outcome.principal.agent] : outcome.reason;
    };
    expect(named({ sub: 'u1', preferred_username: 'alice' })).toEqual(['alice', 'alice']);
    expect(named({ sub: 'u1', profile: { login: 'bob' } }, { nameClaim: 'profile.login' })).toEqual(['bob', 'bob']);
    for (const unusable of [undefined, '', ' alice', 'al\u200bice', '\u202e', 'x'.repeat(101), 42]) {
      expect(named({ sub: 'auth0|abc', preferred_username: unusable })).toEqual(['auth0|abc', 'auth0|abc']);
    }
    expect(named({ sub: 'x'.repeat(150), preferred_username: 'carol' })).toEqual(['carol', 'carol']);
    expect(named({ sub: 'x'.repeat(150) })).toBe(
      'no usable name: neither "preferred_username" nor "sub" can name an agent',
    );
    expect(named({ sub: ' padded', preferred_username: '\u200b' })).toMatch(/^no usable name/);
  });

  it('an end-to-end token with a nested role claim and a role map', async () => {
    const idp = await startIdentityProvider({ algorithms: ['RS256'] });
    try {
      const verifier = createJwtVerifier(
        idp.config({ rolesClaim: 'realm_access.roles', roleMap: '{"queue-desk":"AGENT","queue-screen":"SCREEN"}' }),
      );
      const token = await idp.mint({
        roles: null,
        claims: { realm_access: { roles: ['queue-desk', 'queue-screen', 'admin'] } },
      });
      expect(principalOf(await verifier.verify(token)).roles).toEqual(new Set(['AGENT', 'SCREEN']));
    } finally {
      await idp.close();
    }
  });
});

describe('configuration of the identity provider', () => {
  const provider = {
    AUTH_JWT_ISSUER: 'https://idp.test/realms/queue',
    AUTH_JWT_AUDIENCE: 'fifo-case-gateway',
    AUTH_JWT_JWKS_URL: 'https://idp.test/realms/queue/protocol/openid-connect/certs',
  };
  const problem = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return 'accepted';
  };

  it('reads a whole provider configuration', () => {
    expect(loadConfig({ ...provider, AUTH_JWT_ROLE_MAP: '{"queue-agents":"agent"}' }).auth.jwt).toMatchObject({
      issuer: provider.AUTH_JWT_ISSUER,
      audience: provider.AUTH_JWT_AUDIENCE,
      jwksUrl: provider.AUTH_JWT_JWKS_URL,
      publicKeys: undefined,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      rolesClaim: 'roles',
      roleMap: '{"queue-agents":"agent"}',
      nameClaim: 'preferred_username',
      servicesClaim: undefined,
      clockToleranceSeconds: 30,
    });
    expect(loadConfig({}).auth.jwt).toBeUndefined();
  });

  it.each([
    ['not JSON', '{queue-agents: AGENT}', /AUTH_JWT_ROLE_MAP: must be a JSON object .* \(it is not JSON\)/],
    ['an array', '["AGENT"]', /AUTH_JWT_ROLE_MAP: must be a JSON object/],
    ['a string', '"AGENT"', /AUTH_JWT_ROLE_MAP: must be a JSON object/],
    ['an unknown role', '{"queue-agents":"SUPERVISOR"}', /maps "queue-agents" to "SUPERVISOR", which is not one of/],
    ['a non-string role', '{"queue-agents":["AGENT"]}', /maps "queue-agents" to \["AGENT"\]/],
    ['nothing', '{}', /AUTH_JWT_ROLE_MAP: maps nothing/],
  ])('refuses an AUTH_JWT_ROLE_MAP that is %s', (_what, roleMap, message) => {
    expect(problem({ ...provider, AUTH_JWT_ROLE_MAP: roleMap })).toMatch(message);
  });

  it('refuses half a provider configuration', () => {
    const noKeys = /AUTH_JWT_JWKS_URL: .*set AUTH_JWT_JWKS_URL or AUTH_JWT_PUBLIC_KEYS too/;
    expect(problem({ AUTH_JWT_ISSUER: provider.AUTH_JWT_ISSUER })).toMatch(noKeys);
    expect(problem({ AUTH_JWT_AUDIENCE: provider.AUTH_JWT_AUDIENCE })).toMatch(noKeys);
    expect(problem({ AUTH_JWT_ISSUER: 'a', AUTH_JWT_AUDIENCE: 'b' })).toMatch(noKeys);
    expect(problem({ AUTH_JWT_ROLE_MAP: '{"g":"AGENT"}' })).toMatch(noKeys);
    expect(problem({ AUTH_JWT_SERVICES_CLAIM: 'services' })).toMatch(noKeys);
    const noIssuer = /AUTH_JWT_ISSUER: tokens are only accepted with AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE both set/;
    expect(problem({ AUTH_JWT_JWKS_URL: provider.AUTH_JWT_JWKS_URL })).toMatch(noIssuer);
    expect(problem({ ...provider, AUTH_JWT_AUDIENCE: '' })).toMatch(noIssuer);
    expect(problem({ ...provider, AUTH_JWT_PUBLIC_KEYS: '{"keys":[]}' })).toMatch(/not both/);
    expect(problem({ ...provider, AUTH_JWT_JWKS_URL: 'ftp://idp.test/keys' })).toMatch(/must be an http\(s\) URL/);
    expect(problem({ ...provider, AUTH_JWT_ALGORITHMS: 'RS256,HS256' })).toMatch(/asymmetric JWS algorithms/);
    expect(problem({ ...provider, AUTH_JWT_ALGORITHMS: 'none' })).toMatch(/asymmetric JWS algorithms/);
  });
});
