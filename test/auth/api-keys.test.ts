// API keys: created, listed, rotated and revoked over GraphQL and with
// `npm run keys`, verified by the store the HTTP edge uses, cached per
// process for AUTH_KEY_CACHE_MS (a revocation or rotation is announced to
// every process, which forgets the key within a second), managed only by
// credentials of every service, and audited. The gateway runs open here, so
// every change is made by the actor `open`.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createApiKeyStore, type ApiKeyStore } from '../../src/auth/api-keys.js';
import type { Role } from '../../src/auth/principal.js';
import { loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { KEY_CHANGES_CHANNEL } from '../../src/db/change-listener.js';
import { createDatabaseClient, type Database } from '../../src/db/prisma-client.js';
import { startGateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { post } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

interface KeyFields {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly serviceIds: number[] | null;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly rotatedAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
}
interface IssuedFields {
  readonly key: KeyFields;
  readonly secret: string;
}
interface CreateInput {
  readonly name: string;
  readonly role: Role;
  readonly serviceIds?: number[] | null;
}

const KEY = 'id name role serviceIds createdAt createdBy rotatedAt revokedAt lastUsedAt';
const CreateApiKey: TypedDocumentNode<{ createApiKey: IssuedFields }, { input: CreateInput }> = parse(
  `mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret key { ${KEY} } } }`,
);
const RotateApiKey: TypedDocumentNode<{ rotateApiKey: IssuedFields }, { id: string }> = parse(
  `mutation RotateApiKey($id: String!) { rotateApiKey(id: $id) { secret key { ${KEY} } } }`,
);
const RevokeApiKey: TypedDocumentNode<{ revokeApiKey: KeyFields }, { id: string }> = parse(
  `mutation RevokeApiKey($id: String!) { revokeApiKey(id: $id) { ${KEY} } }`,
);
const ApiKeys: TypedDocumentNode<{ apiKeys: KeyFields[] }, { first?: number; after?: string }> = parse(
  `query ApiKeys($first: Int, $after: String) { apiKeys(first: $first, after: $after) { ${KEY} } }`,
);

const SECRET_SHAPE = /^fcq_([a-km-np-z2-9]{12})_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

let t: TestGateway;
/** A store of its own on the gateway's database, as another gateway process would have. */
let other: { db: Database; keys: ApiKeyStore; queries: () => number };

/** A store on its own connection pool, counting the statements it sends. */
function storeOnTheSide(cacheMs: number, maxCachedKeys?: number): typeof other {
  let count = 0;
  const db = createDatabaseClient(t.gateway.databaseUrl, 2, { onQuery: () => (count += 1) });
  const keys = createApiKeyStore(db, { cacheMs, ...(maxCachedKeys === undefined ? {} : { maxCachedKeys }) });
  return { db, keys, queries: () => count };
}

const sideStores: Database[] = [];
function sideStore(cacheMs: number, maxCachedKeys?: number): typeof other {
  const store = storeOnTheSide(cacheMs, maxCachedKeys);
  sideStores.push(store.db);
  return store;
}

beforeAll(async () => {
  t = await startTestGateway();
  other = sideStore(0);
});

afterAll(async () => {
  await Promise.all(sideStores.map((db) => db.$disconnect()));
  await t.stop();
});

async function create(input: CreateInput): Promise<IssuedFields> {
  return expectData(await t.request(CreateApiKey, { input })).createApiKey;
}

async function auditOf(id: string) {
  const { rows } = await t.sql.query<{
    actor: string;
    action: string;
    entity: string;
    changes: { field: string; before: string | null; after: string | null }[];
  }>(`SELECT actor, action, entity, changes FROM audit_log WHERE entity = 'apiKey' AND entity_id = $1 ORDER BY id`, [
    id,
  ]);
  return rows;
}

const keyCount = async (): Promise<number> =>
  (await t.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]?.n ?? -1;

describe('creating a key', () => {
  it('answers the secret once; only its SHA-256 is stored, and neither the row nor the audit log holds it', async () => {
    const [first, second] = [await given.service(t.db), await given.service(t.db)];
    const { key, secret } = await create({ name: 'Kiosks, hall B', role: 'KIOSK', serviceIds: [first.id, second.id] });

    expect(secret).toMatch(SECRET_SHAPE);
    expect(SECRET_SHAPE.exec(secret)?.[1]).toBe(key.id);
    expect(key).toMatchObject({
      name: 'Kiosks, hall B',
      role: 'KIOSK',
      serviceIds: [first.id, second.id],
      createdBy: 'open',
      rotatedAt: null,
      revokedAt: null,
      lastUsedAt: null,
    });

    const { rows } = await t.sql.query<{ hash: string; row: string }>(
      `SELECT encode(secret_hash, 'hex') AS hash, row_to_json(k)::text AS row FROM api_keys k WHERE id = $1`,
      [key.id],
    );
    expect(rows[0]?.hash).toBe(sha256(secret));
    const randomPart = secret.slice(`fcq_${key.id}_`.length);
    expect(rows[0]?.row).not.toContain(randomPart);

    const audit = await auditOf(key.id);
    expect(audit).toEqual([
      {
        actor: 'open',
        action: 'apiKey.create',
        entity: 'apiKey',
        changes: [
          { field: 'name', before: null, after: '"Kiosks, hall B"' },
          { field: 'role', before: null, after: '"KIOSK"' },
          { field: 'serviceIds', before: null, after: JSON.stringify([first.id, second.id]) },
        ],
      },
    ]);
    const auditText = JSON.stringify(audit);
    for (const leak of [randomPart, sha256(secret), Buffer.from(sha256(secret), 'hex').toString('base64')])
      expect(auditText).not.toContain(leak);

    // Listed, newest first, without any secret.
    const listed = await t.request(ApiKeys, {});
    expect(expectData(listed).apiKeys[0]).toEqual(key);
    expect(JSON.stringify(listed)).not.toContain(randomPart);
  });

  it('shows a key for every service with serviceIds null, and pages newest first', async () => {
    const made = [];
    for (const name of ['page one', 'page two', 'page three']) made.push((await create({ name, role: 'SCREEN' })).key);
    const newestFirst = made.reverse();
    expect(newestFirst.map((key) => key.serviceIds)).toEqual([null, null, null]);

    const firstPage = expectData(await t.request(ApiKeys, { first: 2 })).apiKeys;
    expect(firstPage).toEqual(newestFirst.slice(0, 2));
    const secondPage = expectData(await t.request(ApiKeys, { first: 2, after: firstPage[1]?.id ?? '' })).apiKeys;
    expect(secondPage[0]).toEqual(newestFirst[2]);

    expect(expectError(await t.request(ApiKeys, { first: 0 })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
      rule: 'range',
    });
    expect(expectError(await t.request(ApiKeys, { after: 'nosuchkey234' })).extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'after',
    });
  });

  it.each<[string, CreateInput, Record<string, string>]>([
    ['an empty name', { name: '', role: 'KIOSK' }, { field: 'name', rule: 'minLength' }],
    ['a blank name', { name: '   ', role: 'KIOSK' }, { field: 'name', rule: 'notBlank' }],
    ['a zero-width name', { name: '\u200b', role: 'KIOSK' }, { field: 'name', rule: 'printable' }],
    ['a bare direction override', { name: 'desk \u202e', role: 'KIOSK' }, { field: 'name', rule: 'printable' }],
    ['a name with spaces around it', { name: ' desk ', role: 'KIOSK' }, { field: 'name', rule: 'trimmed' }],
    ['a name of 101 characters', { name: 'n'.repeat(101), role: 'KIOSK' }, { field: 'name', rule: 'maxLength' }],
    ['an ADMIN key limited to services', { name: 'a', role: 'ADMIN', serviceIds: [1] }, { rule: 'adminCoversAll' }],
    ['an empty service list', { name: 'a', role: 'KIOSK', serviceIds: [] }, { field: 'serviceIds', rule: 'minItems' }],
    [
      'a service named twice',
      { name: 'a', role: 'KIOSK', serviceIds: [7, 7] },
      { field: 'serviceIds', rule: 'unique' },
    ],
    [
      '101 services',
      { name: 'a', role: 'KIOSK', serviceIds: Array.from({ length: 101 }, (_, index) => index + 1) },
      { field: 'serviceIds', rule: 'maxItems' },
    ],
  ])('refuses %s with BAD_USER_INPUT, writing nothing', async (_what, input, expected) => {
    const before = await keyCount();
    expect(expectError(await t.request(CreateApiKey, { input })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      ...expected,
    });
    expect(await keyCount()).toBe(before);
  });

  it('refuses services that do not exist with NOT_FOUND naming each by its place', async () => {
    const service = await given.service(t.db);
    const before = await keyCount();
    const response = await t.request(CreateApiKey, {
      input: { name: 'desk', role: 'AGENT', serviceIds: [service.id, 987_654, 2_147_483_647] },
    });
    const error = expectError(response);
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceIds[1]', rule: 'exists' });
    expect(error.extensions['issues']).toEqual([
      expect.objectContaining({ field: 'serviceIds[1]' }),
      expect.objectContaining({ field: 'serviceIds[2]' }),
    ]);
    expect(await keyCount()).toBe(before);
  });
});

describe('verifying a secret', () => {
  it('answers the principal of a working key', async () => {
    const service = await given.service(t.db);
    const limited = await create({ name: 'Screen, hall A', role: 'SCREEN', serviceIds: [service.id] });
    expect(await other.keys.verify(limited.secret)).toEqual({
      id: `key:${limited.key.id}`,
      kind: 'api-key',
      name: 'Screen, hall A',
      roles: new Set(['SCREEN']),
      agent: null,
      services: new Set([service.id]),
    });
    const everywhere = await create({ name: 'Integration', role: 'ADMIN' });
    expect(await other.keys.verify(everywhere.secret)).toMatchObject({
      id: `key:${everywhere.key.id}`,
      roles: new Set(['ADMIN']),
      services: null,
    });
  });

  it('refuses a forged secret with a real id, and an unknown id', async () => {
    const { key, secret } = await create({ name: 'forged', role: 'KIOSK' });
    const forged = `fcq_${key.id}_${'A'.repeat(43)}`;
    expect(await other.keys.verify(forged)).toBeNull();
    // The secret of another key, under this key's id.
    const stranger = await create({ name: 'stranger', role: 'KIOSK' });
    expect(await other.keys.verify(`fcq_${key.id}_${stranger.secret.slice(-43)}`)).toBeNull();
    expect(await other.keys.verify(secret.replace(key.id, 'zzzzzzzzzzzz'))).toBeNull();
    expect(await other.keys.verify(secret)).not.toBeNull();
  });

  it('refuses malformed strings without asking the database', async () => {
    const { key, secret } = await create({ name: 'malformed', role: 'KIOSK' });
    const side = sideStore(0);
    const malformed = [
      '',
      'fcq_',
      `${secret}x`,
      secret.slice(0, -1),
      ` ${secret}`,
      `Bearer ${secret}`,
      secret.toUpperCase(),
      secret.replace('fcq_', 'fcx_'),
      secret.replace(`fcq_${key.id}_`, `fcq_${key.id}-`),
      `fcq_${'o'.repeat(12)}_${secret.slice(-43)}`,
      `${secret}\n`,
      'x'.repeat(100_000),
    ];
    for (const each of malformed) expect(await side.keys.verify(each)).toBeNull();
    expect(side.queries()).toBe(0);
  });

  it('refuses a revoked key; revoking again changes nothing', async () => {
    const { key, secret } = await create({ name: 'to revoke', role: 'KIOSK' });
    const revoked = expectData(await t.request(RevokeApiKey, { id: key.id })).revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    expect(await other.keys.verify(secret)).toBeNull();

    const again = expectData(await t.request(RevokeApiKey, { id: key.id })).revokeApiKey;
    expect(again).toEqual(revoked);
    const audit = await auditOf(key.id);
    expect(audit.map((entry) => entry.action)).toEqual(['apiKey.create', 'apiKey.revoke']);
    expect(audit[1]).toEqual({
      actor: 'open',
      action: 'apiKey.revoke',
      entity: 'apiKey',
      changes: [{ field: 'revokedAt', before: null, after: JSON.stringify(revoked.revokedAt) }],
    });

    expect(expectError(await t.request(RotateApiKey, { id: key.id })).extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'id',
      rule: 'revoked',
    });
  });

  it('after a rotation refuses the old secret and accepts the new one', async () => {
    const { key, secret } = await create({ name: 'to rotate', role: 'AGENT' });
    const rotated = expectData(await t.request(RotateApiKey, { id: key.id })).rotateApiKey;
    expect(rotated.secret).toMatch(SECRET_SHAPE);
    expect(rotated.secret).not.toBe(secret);
    expect(rotated.key).toMatchObject({ id: key.id, name: 'to rotate', role: 'AGENT', revokedAt: null });
    expect(rotated.key.rotatedAt).not.toBeNull();

    expect(await other.keys.verify(secret)).toBeNull();
    expect(await other.keys.verify(rotated.secret)).toMatchObject({ id: `key:${key.id}` });
    const { rows } = await t.sql.query<{ hash: string }>(
      `SELECT encode(secret_hash, 'hex') AS hash FROM api_keys WHERE id = $1`,
      [key.id],
    );
    expect(rows[0]?.hash).toBe(sha256(rotated.secret));

    const audit = await auditOf(key.id);
    expect(audit[1]).toEqual({
      actor: 'open',
      action: 'apiKey.rotate',
      entity: 'apiKey',
      changes: [{ field: 'rotatedAt', before: null, after: JSON.stringify(rotated.key.rotatedAt) }],
    });
    expect(JSON.stringify(audit)).not.toContain(rotated.secret.slice(-43));
  });

  it('answers NOT_FOUND for rotating or revoking an id no key has', async () => {
    for (const id of ['nosuchkey234', 'not an id at all'])
      for (const response of [await t.request(RotateApiKey, { id }), await t.request(RevokeApiKey, { id })])
        expect(expectError(response).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });

  it('records the use in lastUsedAt, at most once a minute per key and process, after answering', async () => {
    const { key, secret } = await create({ name: 'used', role: 'KIOSK' });
    const side = sideStore(60_000);
    expect(await side.keys.verify(secret)).not.toBeNull();
    let lastUsed: Date | null = null;
    for (let tries = 0; lastUsed === null && tries < 100; tries += 1) {
      await sleep(20);
      lastUsed = (await t.db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).lastUsedAt;
    }
    expect(lastUsed).not.toBeNull();
    // One read of the row, one write of lastUsedAt; the second use costs nothing.
    expect(side.queries()).toBe(2);
    expect(await side.keys.verify(secret)).not.toBeNull();
    await sleep(50);
    expect(side.queries()).toBe(2);
    const listed = expectData(await t.request(ApiKeys, {})).apiKeys.find((each) => each.id === key.id);
    expect(listed?.lastUsedAt).toBe(lastUsed?.toISOString());
  });
});

describe('who may manage keys', () => {
  it('refuses create, list, rotate and revoke to a credential limited to services, and changes nothing', async () => {
    const service = await given.service(t.db);
    const limited = { id: 'user:limited', agent: null, services: new Set([service.id]) };
    const { key } = await create({ name: 'managed by others', role: 'KIOSK' });
    const before = await keyCount();
    const refusals = await Promise.all([
      other.keys.create({ name: 'escape', role: 'ADMIN' }, limited).catch((error: unknown) => error),
      other.keys.create({ name: 'escape', role: 'AGENT', serviceIds: [service.id] }, limited).catch((e: unknown) => e),
      other.keys.list({}, limited).catch((error: unknown) => error),
      other.keys.rotate(key.id, limited).catch((error: unknown) => error),
      other.keys.revoke(key.id, limited).catch((error: unknown) => error),
    ]);
    for (const refusal of refusals)
      expect(refusal).toMatchObject({ code: 'FORBIDDEN', issue: { field: 'credential', rule: 'everyService' } });
    expect(await keyCount()).toBe(before);
    expect((await t.db.apiKey.findUniqueOrThrow({ where: { id: key.id } })).revokedAt).toBeNull();
    expect((await auditOf(key.id)).map((entry) => entry.action)).toEqual(['apiKey.create']);
    // Even with no service limit at all in the set, a set is a limit.
    await expect(other.keys.list({}, { ...limited, services: new Set() })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});

describe('announcing revocations and rotations', () => {
  /** Listens on the channel, as each gateway's change listener does. */
  async function listening(): Promise<{ heard: string[]; settle: () => Promise<void>; end: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: t.gateway.databaseUrl });
    await client.connect();
    const heard: string[] = [];
    client.on('notification', (message) => {
      if (message.channel === KEY_CHANGES_CHANNEL) heard.push(message.payload ?? '');
    });
    await client.query(`LISTEN ${KEY_CHANGES_CHANNEL}`);
    return {
      heard,
      // A round trip delivers whatever was sent before it.
      settle: async () => {
        await client.query('SELECT 1');
      },
      end: () => client.end(),
    };
  }

  it('names the key once the change commits; creating, refusing or revoking again announce nothing', async () => {
    const listener = await listening();
    try {
      const { key } = await create({ name: 'announced', role: 'SCREEN' });
      await listener.settle();
      expect(listener.heard).toEqual([]);
      expectData(await t.request(RotateApiKey, { id: key.id }));
      await listener.settle();
      expect(listener.heard).toEqual([key.id]);
      expectData(await t.request(RevokeApiKey, { id: key.id }));
      expectData(await t.request(RevokeApiKey, { id: key.id }));
      expectError(await t.request(RotateApiKey, { id: key.id }));
      await listener.settle();
      expect(listener.heard).toEqual([key.id, key.id]);
    } finally {
      await listener.end();
    }
  });

  it('makes a gateway refuse a key another process revoked within a second, though it caches keys longer', async () => {
    // t caches keys for AUTH_KEY_CACHE_MS, 5 s by default; `other` is a process that does not tell it.
    const { key, secret } = await create({ name: 'revoked elsewhere', role: 'SCREEN' });
    const viewer = () => post(t.gateway.url, '{ viewer { id } }', { authorization: `Bearer ${secret}` });
    expect((await viewer()).status).toBe(200);
    await other.keys.revoke(key.id, { id: 'test', agent: null, services: null });
    const revokedAt = Date.now();
    await expect.poll(async () => (await viewer()).status, { interval: 50, timeout: 1_000 }).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
  });

  it('forgets one key, or every key, when told', async () => {
    const cached = sideStore(60_000);
    const actor = { id: 'test', agent: null, services: null };
    const first = await create({ name: 'forgotten one', role: 'KIOSK' });
    const second = await create({ name: 'forgotten two', role: 'KIOSK' });
    expect(await cached.keys.verify(first.secret)).not.toBeNull();
    expect(await cached.keys.verify(second.secret)).not.toBeNull();
    await other.keys.revoke(first.key.id, actor);
    await other.keys.revoke(second.key.id, actor);
    // Cached: still accepted, as by a process that heard nothing.
    expect(await cached.keys.verify(first.secret)).not.toBeNull();
    cached.keys.forget(first.key.id);
    expect(await cached.keys.verify(first.secret)).toBeNull();
    expect(await cached.keys.verify(second.secret)).not.toBeNull();
    cached.keys.forgetAll();
    expect(await cached.keys.verify(second.secret)).toBeNull();
  });
});

describe('the cache of verified keys', () => {
  it('lets a store that hears nothing see a revocation only once its cacheMs has passed (at once with cacheMs 0)', async () => {
    const cacheMs = 1_500;
    const cached = sideStore(cacheMs);
    const { key, secret } = await create({ name: 'cached', role: 'SCREEN' });
    const readAt = Date.now();
    expect(await cached.keys.verify(secret)).not.toBeNull();

    expectData(await t.request(RevokeApiKey, { id: key.id }));
    expect(await other.keys.verify(secret)).toBeNull();
    if (Date.now() - readAt < cacheMs - 200) expect(await cached.keys.verify(secret)).not.toBeNull();

    await sleep(Math.max(0, readAt + cacheMs + 50 - Date.now()));
    expect(await cached.keys.verify(secret)).toBeNull();
  });

  it('forgets a key this process revokes or rotates at once', async () => {
    const own = sideStore(60_000);
    const actor = { id: 'test', agent: null, services: null };
    const rotating = await own.keys.create({ name: 'own rotation', role: 'KIOSK' }, actor);
    expect(await own.keys.verify(rotating.secret)).not.toBeNull();
    const rotated = await own.keys.rotate(rotating.key.id, actor);
    expect(await own.keys.verify(rotating.secret)).toBeNull();
    expect(await own.keys.verify(rotated.secret)).not.toBeNull();

    const revoking = await own.keys.create({ name: 'own revocation', role: 'KIOSK' }, actor);
    expect(await own.keys.verify(revoking.secret)).not.toBeNull();
    await own.keys.revoke(revoking.key.id, actor);
    expect(await own.keys.verify(revoking.secret)).toBeNull();
    expect((await auditOf(revoking.key.id)).map((entry) => [entry.actor, entry.action])).toEqual([
      ['test', 'apiKey.create'],
      ['test', 'apiKey.revoke'],
    ]);
  });

  it('takes a key rotated by another process within a second, though the old hash is cached', async () => {
    const cached = sideStore(60_000);
    const { key, secret } = await create({ name: 'rotated elsewhere', role: 'KIOSK' });
    expect(await cached.keys.verify(secret)).not.toBeNull();
    const rotated = expectData(await t.request(RotateApiKey, { id: key.id })).rotateApiKey;
    await sleep(1_050);
    expect(await cached.keys.verify(rotated.secret)).toMatchObject({ id: `key:${key.id}` });
    expect(await cached.keys.verify(secret)).toBeNull();
  });

  it('remembers unknown ids too, but no more ids than it may hold', async () => {
    const bounded = sideStore(60_000, 3);
    const unknown = ['a', 'b', 'c', 'd'].map((letter) => `fcq_${letter.repeat(12)}_${'A'.repeat(43)}`);
    const [firstUnknown = ''] = unknown;
    expect(await bounded.keys.verify(firstUnknown)).toBeNull();
    expect(await bounded.keys.verify(firstUnknown)).toBeNull();
    expect(bounded.queries()).toBe(1);
    for (const each of unknown.slice(1)) expect(await bounded.keys.verify(each)).toBeNull();
    expect(bounded.queries()).toBe(4);
    // The oldest was dropped for the fourth: asking again reads the database.
    expect(await bounded.keys.verify(firstUnknown)).toBeNull();
    expect(bounded.queries()).toBe(5);
  });
});

interface ScriptRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run keys -- <args>`, as its own process (tsx, as the npm script runs it). */
function keysScript(args: readonly string[], env: Readonly<Record<string, string>>): Promise<ScriptRun> {
  return new Promise((resolveRun) => {
    execFile(
      join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
      ['scripts/keys.ts', ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolveRun({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

const secretIn = (output: string): string => /fcq_[a-km-np-z2-9]{12}_[A-Za-z0-9_-]{43}/.exec(output)?.[0] ?? '';

describe('npm run keys', () => {
  it('creates, lists and revokes keys in the database of DATABASE_URL, as the actor `script`', async () => {
    const env = { DATABASE_URL: t.gateway.databaseUrl };
    const service = await given.service(t.db);
    const created = await keysScript(
      ['create', '--name', 'Screen, hall C', '--role', 'screen', '--services', String(service.id)],
      env,
    );
    expect(created.code).toBe(0);
    const secret = secretIn(created.stdout);
    expect(secret).toMatch(SECRET_SHAPE);
    expect(created.stdout).toContain('Authorization: Bearer');
    const id = SECRET_SHAPE.exec(secret)?.[1] ?? '';
    expect(await other.keys.verify(secret)).toMatchObject({
      id: `key:${id}`,
      roles: new Set(['SCREEN']),
      services: new Set([service.id]),
    });
    expect((await auditOf(id)).map((entry) => [entry.actor, entry.action])).toEqual([['script', 'apiKey.create']]);

    const listed = await keysScript(['list'], env);
    expect(listed.code).toBe(0);
    const line = listed.stdout.split('\n').find((each) => each.startsWith(id)) ?? '';
    expect(line).toMatch(new RegExp(`^${id}\\s+SCREEN\\s+${service.id}\\s+active\\s.*Screen, hall C$`));
    expect(listed.stdout).not.toContain(secret.slice(-43));

    const revoked = await keysScript(['revoke', id], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked API key ${id}`);
    expect(await other.keys.verify(secret)).toBeNull();
    const again = await keysScript(['revoke', id], env);
    expect(again.stdout).toContain('was already revoked');
    expect((await auditOf(id)).map((entry) => entry.action)).toEqual(['apiKey.create', 'apiKey.revoke']);
  });

  it('exits 2 with the usage on bad arguments, and 1 with the rule on a refused request', async () => {
    const env = { DATABASE_URL: t.gateway.databaseUrl };
    const usageErrors = [['bogus'], ['create', '--name', 'x', '--role', 'kiosk', '--services', '1,x'], ['revoke']];
    // Processes of their own: they may run at once.
    const [unknown, admin, ...runs] = await Promise.all(
      [
        ['rotate', 'nosuchkey234'],
        ['create', '--name', 'boss', '--role', 'ADMIN', '--services', '1'],
        ...usageErrors,
      ].map((args) => keysScript(args, env)),
    );
    runs.forEach((run, index) => {
      expect(run.code, usageErrors[index]?.join(' ')).toBe(2);
      expect(run.stderr).toContain('usage: npm run keys');
    });
    expect(unknown?.code).toBe(1);
    expect(unknown?.stderr).toContain('NOT_FOUND');
    expect(admin?.code).toBe(1);
    expect(admin?.stderr).toContain('[adminCoversAll]');
  });

  it('uses the embedded database, whether a gateway runs on its data folder or not', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gateway-keys-'));
    // The embedded server may run as another OS user (when this is root): it must reach the folder.
    await chmod(folder, 0o755);
    const env = { DATABASE_URL: '', EMBEDDED_PG_DATA_DIR: join(folder, 'postgres') };
    try {
      const gateway = await startGateway(loadConfig({ PORT: '0', ...env }), silentLogger);
      let secret: string;
      try {
        const created = await keysScript(['create', '--name', 'kiosk 1', '--role', 'KIOSK'], env);
        expect(created.code, created.stderr).toBe(0);
        // The pid is PostgreSQL's (postmaster.pid), not the gateway's: the line says so.
        expect(created.stderr).toMatch(
          /database: the running gateway's embedded PostgreSQL \(PostgreSQL pid \d+\) on 127\.0\.0\.1:\d+, data in /,
        );
        secret = secretIn(created.stdout);
        const db = createDatabaseClient(gateway.databaseUrl, 1);
        const verified = await createApiKeyStore(db, { cacheMs: 0 }).verify(secret);
        await db.$disconnect();
        expect(verified).toMatchObject({ kind: 'api-key', name: 'kiosk 1' });
      } finally {
        await gateway.stop();
      }
      const listed = await keysScript(['list'], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stderr).toContain('database: embedded PostgreSQL on 127.0.0.1');
      expect(listed.stdout).toContain(SECRET_SHAPE.exec(secret)?.[1] ?? 'no id');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
