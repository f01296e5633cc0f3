// Against DNS rebinding: a web page on a domain its owner points at 127.0.0.1
// is, to the browser, of the same origin as the gateway on that address, and
// may read its answers; only the Host header still names the page's domain.
// So, as Vite's and webpack's dev servers do, the gateway answers only to the
// host names it was configured with (ALLOWED_HOSTS, always the loopback
// names): on every request while it is open (no credentials: the page would
// act as an administrator), and on every WebSocket upgrade in any mode
// (browsers send no CORS preflight for a WebSocket, and the Origin check
// trusts an Origin that matches the Host).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthMode } from '../auth/authenticate.js';
import type { Logger } from '../log.js';
import type { ErrorCode } from '../queue/error-codes.js';
import { collapsedCount } from './collapsed-count.js';
import { rawErrorResponse, sendError } from './respond.js';

export const HOST_NOT_ALLOWED = 'HOST_NOT_ALLOWED' satisfies ErrorCode;

/** Refused Host names are logged at most once per this long, with their count (never the names). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

// The Host value is the page's own choice: it is never echoed or logged.
const MESSAGE =
  'This gateway does not answer to the host name in the Host header: ' +
  'add it to ALLOWED_HOSTS (this check protects against DNS rebinding)';

// `name[:port]` or `[IPv6][:port]`; nothing else (no user info, no path).
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^[\]:/@\s]+)(?::\d{1,5})?$/i;

/**
 * The host name of a Host header value, as the allowed names are written:
 * lower-case, without port or a final dot, IPv6 in brackets in its shortest
 * form; undefined when the value is no host name.
 */
export function hostName(header: string | undefined): string | undefined {
  const name = HOST_HEADER.exec(header ?? '')?.[1]?.toLowerCase();
  if (name === undefined || !name.startsWith('[')) return name?.replace(/\.$/, '');
  try {
    // The URL parser validates the address and writes it the way browsers send it.
    return new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}

export interface HostCheck {
  /** Whether an HTTP request for `pathname` may be served: any Host while credentials are required. */
  request(request: IncomingMessage, pathname: string): boolean;
  /** Whether a WebSocket upgrade may proceed, in any mode. */
  upgrade(request: IncomingMessage): boolean;
  /** Answers a refused HTTP request: 403 HOST_NOT_ALLOWED. */
  refuse(response: ServerResponse): void;
  /** The answer to a refused upgrade, written to its socket before it is closed. */
  refusal(): Buffer;
}

/**
 * `allowedHosts`: names as in config (lower-case, IPv6 in brackets), `*` for
 * any; `mode` is read on every request, since the first API key turns an open
 * gateway into one that requires credentials while it runs. `exemptPaths`:
 * paths served whatever the Host (health probes: they tell a page nothing,
 * and orchestrators send the pod's address as Host).
 */
export function hostCheck(
  allowedHosts: readonly string[],
  mode: () => AuthMode,
  log: Logger,
  exemptPaths: readonly string[] = [],
): HostCheck {
  const exempt = new Set(exemptPaths);
  const any = allowedHosts.includes('*');
  const allowed = new Set(allowedHosts.map((host) => hostName(host) ?? host));
  const refused = collapsedCount(REFUSAL_LOG_INTERVAL_MS, (count) =>
    log.warn(`refused ${count} request(s) since the last report: their Host is not in ALLOWED_HOSTS`),
  );
  // Every request of a client names the same Host: the last value allowed
  // is remembered, so the check costs a comparison rather than a parse.
  let lastAllowed: string | undefined;
  const allows = (request: IncomingMessage): boolean => {
    if (any) return true;
    const header = request.headers.host;
    if (header !== undefined && header === lastAllowed) return true;
    const name = hostName(header);
    if (name !== undefined && allowed.has(name)) {
      lastAllowed = header;
      return true;
    }
    refused();
    return false;
  };
  const answer = rawErrorResponse(403, HOST_NOT_ALLOWED, MESSAGE);
  return {
    request: (request, pathname) => mode() !== 'open' || exempt.has(pathname) || allows(request),
    upgrade: allows,
    refuse: (response) => sendError(response, 403, HOST_NOT_ALLOWED, MESSAGE),
    refusal: () => answer,
  };
}
