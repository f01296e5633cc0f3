// Who a request is counted against, and the key its count has in
// rate_limit_counts (a varchar(250) shared by every gateway process).
import { createHash } from 'node:crypto';
import { addressKey } from './client-address.js';

/** A verified credential by its principal's id, or a request without a valid credential by its client's address. */
export type RateLimitKey =
  { readonly kind: 'credential'; readonly id: string } | { readonly kind: 'address'; readonly id: string };

export type RateLimitKind = RateLimitKey['kind'];

const PREFIX: Readonly<Record<RateLimitKind, string>> = { credential: 'c', address: 'a' };

// Stored as given: printable ASCII without spaces, short enough for the
// column. Anything else (a long or odd `sub` claim, a NUL PostgreSQL would
// refuse, text the column could not hold) is stored as its SHA-256.
const PLAIN = /^[\x21-\x7e]{1,240}$/;

/**
 * `c:<id>`, `a:<address>`; `c#<sha256>`, `a#<sha256>` for ids that cannot be
 * stored as they are (`#` keeps the two forms from ever meeting).
 */
export function storageKey(key: RateLimitKey): string {
  const id = key.kind === 'address' ? addressKey(key.id) : key.id;
  const prefix = PREFIX[key.kind];
  if (PLAIN.test(id)) return `${prefix}:${id}`;
  return `${prefix}#${createHash('sha256').update(id).digest('base64url')}`;
}

/** The one key that every new key of a kind counts against once a process tracks too many (rate-limiter.ts). */
export function overflowKey(kind: RateLimitKind): string {
  return `${PREFIX[kind]}*`;
}
