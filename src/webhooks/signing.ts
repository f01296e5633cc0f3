// Webhook signatures as the Standard Webhooks specification writes them
// (HMAC-SHA256 over `id.timestamp.body`, secrets `whsec_` + base64), made by
// the `standardwebhooks` package itself, so any of that specification's
// libraries verifies them. While a secret is rotated, every delivery is signed
// with both the new and the previous secret, space-separated in one header:
// a receiver holding either one verifies, and switches at its own pace.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** The prefix Standard Webhooks gives secrets; its libraries strip it before decoding. */
export const SECRET_PREFIX = 'whsec_';

/** Bytes of key material in a new secret (the specification asks for 24 to 64). */
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` and 32 random bytes in base64. Shown once to the administrator. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

export interface SignatureHeaders {
  /** The event's id, the same on every attempt and replay: receivers deduplicate by it. */
  readonly 'webhook-id': string;
  /** This attempt's time, in whole seconds since the epoch. */
  readonly 'webhook-timestamp': string;
  /** `v1,<base64>` per secret, space-separated. */
  readonly 'webhook-signature': string;
}

export interface Signed {
  readonly id: string;
  readonly timestamp: Date;
  /** The exact bytes sent: a receiver verifies the raw body, not a re-serialisation. */
  readonly body: string;
  /** The current secret first, then (during a rotation's overlap) the previous one. */
  readonly secrets: readonly string[];
}

/**
 * Ids are ours (`evt_1042`), never input. The signed text is
 * `id.timestamp.body`: an id holding a full stop could be shifted into the
 * timestamp, so the specification asks for none; this pattern allows less still.
 */
const WEBHOOK_ID = /^[A-Za-z0-9_-]{1,200}$/;

export function signatureHeaders({ id, timestamp, body, secrets }: Signed): SignatureHeaders {
  if (!WEBHOOK_ID.test(id)) throw new Error('a webhook id is letters, digits, _ and - only');
  if (secrets.length === 0) throw new Error('a webhook is signed with at least one secret');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(' '),
  };
}
