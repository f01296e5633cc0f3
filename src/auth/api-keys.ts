// API keys of devices and integrations (kiosks, screens, other systems):
// created, listed, rotated and revoked by an administrator, each with one
// role and optionally limited to some services. The secret is shown once;
// only its hash is kept (api-key-secret.ts).
//
// Verifying a key reads its row once per `cacheMs` per process. A revocation
// or rotation notifies every gateway process in its own transaction
// (`pg_notify` on KEY_CHANGES_CHANNEL, heard by src/db/change-listener.ts):
// each drops the key from its cache (`forget`) within a second, and closes
// the WebSockets opened with it (src/http/socket-credentials.ts). `cacheMs`
// bounds what a process that missed the notification (its listener was
// reconnecting, after which it forgets every key) can still accept.
//
// Managing keys is for credentials of every service: a limited one could
// create a key for every service, so create, list, rotate and revoke refuse it.
import { KEY_CHANGES_CHANNEL } from '../db/change-listener.js';
import type { Database } from '../db/prisma-client.js';
import { isUniqueViolation } from '../db/prisma-errors.js';
import type { ApiKey, Prisma } from '../generated/prisma/client.js';
import type { Actor } from '../queue/actor.js';
import { requireEveryService } from '../queue/actor-rules.js';
import { recordAudit } from '../queue/audit.js';
import { badInput, GatewayError, notFound } from '../queue/errors.js';
import { parseInput } from '../queue/input-rules.js';
import { requireServices, serviceIdsByExtRef } from '../queue/references.js';
import {
  apiKeysPageRules,
  createApiKeyRules,
  serviceNamedTwice,
  type ApiKeysPageRequest,
  type CreateApiKeyRequest,
} from './api-key-rules.js';
import { hashSecret, KEY_ID, keyIdOf, newKeyId, newSecret, secretMatches } from './api-key-secret.js';
import type { Principal, Role } from './principal.js';

/** A key with its secret, which exists nowhere else. */
export interface IssuedApiKey {
  readonly key: ApiKey;
  readonly secret: string;
}

export interface ApiKeyStore {
  /**
   * The principal of a working key's secret; null for anything else
   * (malformed, unknown, forged, revoked, replaced by a rotation). Throws
   * only when the database cannot answer, which says nothing of the key.
   */
  verify(secret: string): Promise<Principal | null>;
  create(request: CreateApiKeyRequest, actor: Actor): Promise<IssuedApiKey>;
  /** The key with this id, revoked or not; null when none has it. */
  find(id: string): Promise<ApiKey | null>;
  /** Newest first, revoked keys included. */
  list(request: ApiKeysPageRequest, actor: Actor): Promise<ApiKey[]>;
  /** A new secret for a key that is not revoked; the old one stops working. */
  rotate(id: string, actor: Actor): Promise<IssuedApiKey>;
  /** Revokes a key for good; a revoked key is returned as it is. */
  revoke(id: string, actor: Actor): Promise<ApiKey>;
  /** Whether any key is not revoked. */
  anyActive(): Promise<boolean>;
  /** Drops what this process knows of the key (another process changed it): the next verification reads it. */
  forget(id: string): void;
  /** Drops every key (notifications may have been missed): each is read again when next verified. */
  forgetAll(): void;
}

export interface ApiKeyStoreOptions {
  /** How long a key's row (or the absence of one) is trusted before it is read again; 0: read it every time. */
  readonly cacheMs: number;
  /** The most ids remembered, so that requests with made-up ids cannot grow memory; the oldest go first. */
  readonly maxCachedKeys?: number;
  /**
   * Told, once committed, of each key this store revoked or rotated (its id):
   * this process need not wait for the notification to reach it.
   */
  readonly onChanged?: (id: string) => void;
}

const MAX_CACHED_KEYS = 10_000;
/** `lastUsedAt` is written at most this often per key by each process. */
const TOUCH_INTERVAL_MS = 60_000;
/**
 * A secret that does not match a cached hash re-reads the row when the
 * cached one is at least this old: a key rotated on another process then
 * works here within a second rather than within `cacheMs`, and a flood of
 * forged secrets costs at most one read per key per second.
 */
const RECHECK_MS = 1_000;
const CREATE_ATTEMPTS = 3;

/** What verifying needs of a row: its hash and, unless revoked, the principal it stands for. */
interface KnownKey {
  readonly hash: Uint8Array;
  readonly principal: Principal | null;
}

interface CachedLookup {
  /** When the read started (Date.now()). */
  readonly at: number;
  /** Null: no key has the id. */
  readonly found: Promise<KnownKey | null>;
}

/** The principal id of the key with this id (`key:<id>`). */
export const principalIdOfKey = (id: string): string => `key:${id}`;

function principalOf(row: Pick<ApiKey, 'id' | 'name' | 'role' | 'serviceIds'>): Principal {
  return {
    id: principalIdOfKey(row.id),
    kind: 'api-key',
    name: row.name,
    roles: new Set<Role>([row.role]),
    agent: null,
    services: row.serviceIds.length === 0 ? null : new Set(row.serviceIds),
  };
}

/** Tells every gateway process, once the transaction commits, that the key changed. */
async function announce(tx: Prisma.TransactionClient, id: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${KEY_CHANGES_CHANNEL}, ${id})`;
}

const unknownKey = (field: string, id: string): GatewayError =>
  notFound(field, `no API key has the id ${JSON.stringify(id)}`);

/** The key's row, locked until the transaction ends (so a rotation and a revocation cannot interleave). */
async function lockedKey(tx: Prisma.TransactionClient, id: string): Promise<ApiKey> {
  if (!KEY_ID.test(id)) throw unknownKey('id', id);
  await tx.$queryRaw`SELECT id FROM api_keys WHERE id = ${id} FOR UPDATE`;
  const key = await tx.apiKey.findUnique({ where: { id } });
  if (!key) throw unknownKey('id', id);
  return key;
}

export function createApiKeyStore(
  db: Database,
  { cacheMs, maxCachedKeys = MAX_CACHED_KEYS, onChanged }: ApiKeyStoreOptions,
): ApiKeyStore {
  // Insertion order is age order: a refreshed entry is deleted and set again.
  const cache = new Map<string, CachedLookup>();
  /** When this process last wrote each key's `lastUsedAt`. */
  const touched = new Map<string, number>();

  const remember = <T>(map: Map<string, T>, id: string, value: T): void => {
    map.delete(id);
    map.set(id, value);
    for (const oldest of map.keys()) {
      if (map.size <= maxCachedKeys) break;
      map.delete(oldest);
    }
  };

  /** Reads the row now; concurrent verifications of the same id share the read. */
  const read = (id: string): CachedLookup => {
    const entry: CachedLookup = {
      at: Date.now(),
      found: db.apiKey
        .findUnique({
          where: { id },
          select: { id: true, name: true, role: true, serviceIds: true, secretHash: true, revokedAt: true },
        })
        .then((row) =>
          row === null ? null : { hash: row.secretHash, principal: row.revokedAt === null ? principalOf(row) : null },
        ),
    };
    if (cacheMs > 0) {
      remember(cache, id, entry);
      // A failed read is not an answer: the next verification tries again.
      entry.found.catch(() => {
        if (cache.get(id) === entry) cache.delete(id);
      });
    }
    return entry;
  };

  const lookup = (id: string): CachedLookup => {
    const hit = cache.get(id);
    return hit !== undefined && Date.now() - hit.at < cacheMs ? hit : read(id);
  };

  /** Records the use, at most once a minute per key; the request neither waits for it nor fails with it. */
  const touch = (id: string): void => {
    const now = Date.now();
    const last = touched.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    remember(touched, id, now);
    db.$executeRaw`UPDATE api_keys SET last_used_at = now() WHERE id = ${id}`.catch(() => undefined);
  };

  /** Forgets what this process knew of the key, after a change to it has committed. */
  const forget = (id: string): void => {
    cache.delete(id);
  };

  return {
    async verify(secret) {
      const id = keyIdOf(secret);
      if (id === undefined) return null;
      let entry = lookup(id);
      let known = await entry.found;
      let matches = known !== null && secretMatches(secret, known.hash);
      if (known?.principal && !matches && Date.now() - entry.at >= RECHECK_MS) {
        entry = read(id);
        known = await entry.found;
        matches = known !== null && secretMatches(secret, known.hash);
      }
      if (!known?.principal || !matches) return null;
      touch(id);
      return known.principal;
    },

    async create(request, actor) {
      requireEveryService(actor);
      // Every rule before any lookup: a NUL in a reference is bad input, not a database error.
      const { name, role, serviceIds: ids, serviceExtRefs: refs } = parseInput(createApiKeyRules, request);
      // Services named by external reference join those named by id; empty: every service.
      const byRef = refs === null ? [] : await serviceIdsByExtRef(db, refs, 'serviceExtRefs');
      const serviceIds = [...(ids ?? []), ...byRef];
      // A service named both by id and by reference shows only once the references are looked up.
      const twice = serviceNamedTwice(serviceIds);
      if (twice) throw new GatewayError('BAD_USER_INPUT', twice);
      for (let attempt = 1; ; attempt += 1) {
        const id = newKeyId();
        const secret = newSecret(id);
        try {
          const key = await db.$transaction(async (tx) => {
            await requireServices(tx, serviceIds);
            const created = await tx.apiKey.create({
              data: { id, name, role, serviceIds, secretHash: new Uint8Array(hashSecret(secret)), createdBy: actor.id },
            });
            await recordAudit(tx, actor, {
              action: 'apiKey.create',
              entity: 'apiKey',
              entityId: id,
              changes: [
                { field: 'name', before: null, after: name },
                { field: 'role', before: null, after: role },
                // As the API shows it: null for every service.
                { field: 'serviceIds', before: null, after: serviceIds.length === 0 ? null : serviceIds },
              ],
            });
            return created;
          });
          // This process may have cached "no such id" for it.
          forget(id);
          return { key, secret };
        } catch (error) {
          // Two keys drew the same 60-bit id: draw again.
          if (attempt < CREATE_ATTEMPTS && isUniqueViolation(error)) continue;
          throw error;
        }
      }
    },

    async find(id) {
      return KEY_ID.test(id) ? db.apiKey.findUnique({ where: { id } }) : null;
    },

    async list(request, actor) {
      requireEveryService(actor);
      const { first, after } = parseInput(apiKeysPageRules, request);
      let where: Prisma.ApiKeyWhereInput = {};
      if (after !== null) {
        const cursor = KEY_ID.test(after)
          ? await db.apiKey.findUnique({ where: { id: after }, select: { createdAt: true } })
          : null;
        if (!cursor) throw unknownKey('after', after);
        where = { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: after } }] };
      }
      return db.apiKey.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: first });
    },

    async rotate(id, actor) {
      requireEveryService(actor);
      const issued = await db.$transaction(async (tx) => {
        const before = await lockedKey(tx, id);
        if (before.revokedAt !== null)
          throw badInput('id', 'revoked', `the API key ${JSON.stringify(id)} is revoked: create a new one`);
        const secret = newSecret(id);
        const hash = new Uint8Array(hashSecret(secret));
        // The database's clock, as for every other time the gateway records.
        await tx.$executeRaw`UPDATE api_keys SET secret_hash = ${hash}, rotated_at = now() WHERE id = ${id}`;
        await announce(tx, id);
        const after = await tx.apiKey.findUniqueOrThrow({ where: { id } });
        await recordAudit(tx, actor, {
          action: 'apiKey.rotate',
          entity: 'apiKey',
          entityId: id,
          changes: [{ field: 'rotatedAt', before: before.rotatedAt, after: after.rotatedAt }],
        });
        return { key: after, secret };
      });
      forget(id);
      onChanged?.(id);
      return issued;
    },

    async revoke(id, actor) {
      requireEveryService(actor);
      const key = await db.$transaction(async (tx) => {
        const before = await lockedKey(tx, id);
        if (before.revokedAt !== null) return before;
        await tx.$executeRaw`UPDATE api_keys SET revoked_at = now() WHERE id = ${id}`;
        await announce(tx, id);
        const after = await tx.apiKey.findUniqueOrThrow({ where: { id } });
        await recordAudit(tx, actor, {
          action: 'apiKey.revoke',
          entity: 'apiKey',
          entityId: id,
          changes: [{ field: 'revokedAt', before: null, after: after.revokedAt }],
        });
        return after;
      });
      forget(id);
      onChanged?.(id);
      return key;
    },

    async anyActive() {
      return (await db.apiKey.findFirst({ where: { revokedAt: null }, select: { id: true } })) !== null;
    },

    forget,

    forgetAll() {
      cache.clear();
    },
  };
}
