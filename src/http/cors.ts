// Browser front ends on other origins (CORS_ORIGINS). Browsers let a page
// read an answer from another origin only when the answer names that origin;
// the gateway names only the configured ones. No cookies are used, so no
// credentials are ever allowed. CSRF protection is unchanged: Apollo refuses
// the "simple" requests a browser would send without asking first, and the
// REST routes take JSON only (415 otherwise).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers a front end may send: GraphQL's, Apollo's CSRF header, ours. */
const ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'idempotency-key',
  // A kiosk page reading its case over REST (src/rest/case-receipt.ts).
  'x-case-receipt',
  'x-request-id',
].join(', ');
/** Answer headers a front end may read beyond the safelisted ones. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'location'].join(', ');
const ALLOWED_METHODS = 'GET, HEAD, POST, OPTIONS';
/** How long a browser may keep a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';

export interface CorsPolicy {
  /** Whether a page from `origin` may read answers (and open WebSockets). */
  allows(origin: string): boolean;
  /** Adds the CORS headers an answer to `request` needs; answers a preflight itself (then returns true). */
  apply(request: IncomingMessage, response: ServerResponse): boolean;
}

/** `origins`: exact origins (`https://kiosk.example.org`), or `*` for any. */
export function corsPolicy(origins: readonly string[]): CorsPolicy {
  const any = origins.includes('*');
  const listed = new Set(origins);
  const allows = (origin: string): boolean => any || listed.has(origin);
  return {
    allows,
    apply(request, response) {
      const origin = request.headers.origin;
      if (origin === undefined) return false;
      // Answers differ by Origin: caches must keep them apart.
      response.appendHeader('vary', 'Origin');
      if (!allows(origin)) return false;
      response.setHeader('access-control-allow-origin', any ? '*' : origin);
      response.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
      const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
      if (!preflight) return false;
      response.writeHead(204, {
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': PREFLIGHT_MAX_AGE,
      });
      response.end();
      return true;
    },
  };
}

/**
 * Whether a WebSocket upgrade may proceed: no Origin (not a browser), the
 * gateway's own origin (the explorer), or an allowed one. Browsers do not
 * apply CORS to WebSockets, so the server must. "Own" means the Origin names
 * the Host the request was sent to, which a rebinding page controls: the
 * Host itself has been checked against ALLOWED_HOSTS first (host-check.ts).
 */
export function webSocketOriginAllowed(request: IncomingMessage, policy: CorsPolicy): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (policy.allows(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
