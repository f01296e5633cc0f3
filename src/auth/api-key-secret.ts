// The secret of an API key: `fcq_<id>_<secret>`, where <id> is the key's
// public id (12 characters, the primary key) and <secret> 32 random bytes in
// base64url. The prefix makes a leaked key easy to recognise (secret
// scanners, logs); the id lets the gateway find the key's row without a scan.
//
// Only a SHA-256 of the whole string is stored. A slow password hash (bcrypt,
// argon2) makes guessing low-entropy passwords expensive; these secrets have
// 256 random bits, so no guessing is possible however fast the hash, and a
// slow one would only cost every request milliseconds of CPU (and hand
// attackers a cheap way to burn it).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every API key secret starts with this: no regular-expression metacharacters, so it is used as is in `SECRET`. */
export const SECRET_PREFIX = 'fcq_';
export const KEY_ID_LENGTH = 12;
/** Lower-case letters and digits, without 0, 1, l and o, which people misread: 32 symbols, 5 bits each. */
const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const SECRET_BYTES = 32;

/** An id: `KEY_ID_LENGTH` symbols of `ID_ALPHABET`. */
const ID_PATTERN = `[a-km-np-z2-9]{${KEY_ID_LENGTH}}`;

/** What an id looks like; anything else names no key. */
export const KEY_ID = new RegExp(`^${ID_PATTERN}$`);
/** A whole secret: the prefix, the id, `_`, then 43 base64url characters (32 bytes, unpadded). */
const SECRET = new RegExp(`^${SECRET_PREFIX}(${ID_PATTERN})_[A-Za-z0-9_-]{43}$`);

/** A new random public id: 60 bits, so ids never need to be guessed apart. */
export function newKeyId(): string {
  // 256 is a multiple of 32, so taking each byte modulo 32 keeps every symbol equally likely.
  return Array.from(randomBytes(KEY_ID_LENGTH), (byte) => ID_ALPHABET.charAt(byte % ID_ALPHABET.length)).join('');
}

/** A new secret for the key `id`. */
export function newSecret(id: string): string {
  return `${SECRET_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

/** The key id a well-formed secret names; undefined for anything else. */
export function keyIdOf(secret: string): string | undefined {
  return SECRET.exec(secret)?.[1];
}

/** What is stored of a secret. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Whether `secret` hashes to `stored`, in time that does not depend on where they differ. */
export function secretMatches(secret: string, stored: Uint8Array): boolean {
  const presented = hashSecret(secret);
  return stored.byteLength === presented.byteLength && timingSafeEqual(presented, stored);
}
