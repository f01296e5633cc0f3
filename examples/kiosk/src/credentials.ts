// The kiosk's credential: an API key of role KIOSK (`fcq_<id>_<secret>`),
// sent as `Authorization: Bearer <key>` over HTTP and in the WebSocket's
// connection_init payload (browsers cannot set headers on a WebSocket, so the
// gateway reads it there). A gateway running open needs none.
import { KioskError } from './errors.js';

export interface Credentials {
  /**
   * The kiosk's API key, as `npm run keys -- create --role KIOSK` printed it. Absent or blank: none
   * is sent (a gateway running open needs none). White space around it (a key read from a file
   * with its newline) is dropped.
   */
  readonly apiKey?: string | undefined;
}

/** The key, trimmed; undefined when none was given. */
export function apiKeyOf(credentials: Credentials): string | undefined {
  const key = credentials.apiKey?.trim();
  if (key === undefined || key === '') return undefined;
  // Never echoed: it is a secret, and error messages end up in logs.
  if (/[^\x21-\x7e]/.test(key))
    throw new KioskError('BAD_KEY', 'The kiosk API key has white space or other characters no key has in it');
  return key;
}

/** The `Authorization` header value for a key. */
export function bearer(apiKey: string): string {
  return `Bearer ${apiKey}`;
}
