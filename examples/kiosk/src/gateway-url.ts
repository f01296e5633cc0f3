// A gateway is named by its GraphQL HTTP URL; subscriptions are served over
// WebSocket on the same path.
import { KioskError } from './errors.js';

/** The URL, checked to be http(s). */
export function httpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KioskError('BAD_URL', `"${url}" is not a URL; expected e.g. http://127.0.0.1:4000/graphql`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new KioskError('BAD_URL', `"${url}" is not an http(s) URL; expected e.g. http://127.0.0.1:4000/graphql`);
  return parsed;
}

/** The WebSocket URL for subscriptions: ws(s) on the same host and path. */
export function webSocketUrl(url: string): string {
  const parsed = httpUrl(url);
  parsed.protocol = parsed.protocol === 'https:' ? 'wss:' : 'ws:';
  return parsed.href;
}
