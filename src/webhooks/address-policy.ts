// Where webhooks may be sent: against server-side request forgery, an
// endpoint URL an administrator typed must not make the gateway call into its
// own network (a database port, a cloud metadata service at 169.254.169.254,
// an admin page on localhost). Two layers:
//
// - `urlProblem`, at create and again before each send: the URL must parse,
//   carry no credentials and no fragment, and use https unless its host is
//   listed in WEBHOOK_ALLOWED_HOSTS (then http too). An unlisted literal IP
//   must be public unicast, for early feedback; names are not resolved here.
// - `agentFor`, at send: request-filtering-agent checks every address a name
//   resolves to, inside the connection's own DNS lookup, so the address
//   checked is the address connected to (no rebinding between check and
//   connect). Unlisted hosts get its defaults: private, loopback, link-local,
//   CGNAT, IPv4-mapped IPv6, reserved and 0.0.0.0 are refused. Listed hosts
//   may resolve to private addresses (tests use loopback that way); 0.0.0.0
//   stays refused for them too.
//
// The literal-IP test is ipaddr.js's `range() === 'unicast'`, the very test
// (and, deduplicated, the very copy of the package) the agent applies after
// DNS, so a URL accepted here is not refused later for its address alone.
import type { Agent } from 'node:http';
import { isIP, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

/** Why an endpoint URL is refused: a short stable rule name and a message that never quotes the URL. */
export interface UrlProblem {
  readonly rule: UrlRule;
  readonly message: string;
}

export type UrlRule = 'url' | 'https' | 'noCredentials' | 'noFragment' | 'publicAddress';

export interface AddressPolicy {
  /** null when `url` may be called; otherwise the first rule it breaks. */
  urlProblem(url: string): UrlProblem | null;
  /** The keep-alive agent for a URL that `urlProblem` accepted (http or https, listed or not). */
  agentFor(url: URL): Agent;
}

/**
 * Idle keep-alive sockets are closed after this long, as Node's global agent
 * does; a server's shorter `Keep-Alive: timeout=` hint shortens it (Node
 * honours the hint only when the agent has a timeout of its own). Requests in
 * flight are timed by the sender, not by this.
 */
const IDLE_SOCKET_MS = 5_000;

const PROBLEMS = {
  url: 'must be an absolute http or https URL',
  https: 'must use https (http only for hosts listed in WEBHOOK_ALLOWED_HOSTS)',
  noCredentials: 'must not carry a user name or password',
  noFragment: 'must not have a fragment (#...)',
  publicAddress:
    'must not be a private, loopback, link-local or reserved IP address (unless listed in WEBHOOK_ALLOWED_HOSTS)',
} as const satisfies Record<UrlRule, string>;

const problem = (rule: UrlRule): UrlProblem => ({ rule, message: `${rule}: the URL ${PROBLEMS[rule]}` });

/** A URL's `hostname` as listed hosts are compared: IPv6 without its brackets (URL has lower-cased it already). */
export function bareHostname(url: URL): string {
  const { hostname } = url;
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * A WEBHOOK_ALLOWED_HOSTS entry as URL would write its host (lower case,
 * punycode, IPv6 compressed, no brackets). Only a bare host name or IP is
 * accepted: a port, path or user info would silently mean something broader
 * or nothing, so it stops the process instead (a host list is not secret).
 */
export function listedHost(entry: string): string {
  const trimmed = entry.trim();
  const unbracketed = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  const literal = isIPv6(unbracketed) ? `[${unbracketed}]` : trimmed;
  const refuse = (): never => {
    throw new Error(`WEBHOOK_ALLOWED_HOSTS: "${entry}" is not a host name or IP address`);
  };
  if (literal === '' || (!isIPv6(unbracketed) && /[:/?#@\\\s[\]]/.test(literal))) refuse();
  let url: URL;
  try {
    url = new URL(`http://${literal}/`);
  } catch {
    return refuse();
  }
  return bareHostname(url);
}

export function addressPolicy(allowedHosts: readonly string[]): AddressPolicy {
  const listed = new Set(allowedHosts.filter((entry) => entry.trim() !== '').map(listedHost));
  const common = { keepAlive: true, timeout: IDLE_SOCKET_MS } as const;
  // Built once: each keeps its own pool of connections, reused across deliveries.
  const agents = {
    http: new RequestFilteringHttpAgent(common),
    https: new RequestFilteringHttpsAgent(common),
    listedHttp: new RequestFilteringHttpAgent({ ...common, allowPrivateIPAddress: true }),
    listedHttps: new RequestFilteringHttpsAgent({ ...common, allowPrivateIPAddress: true }),
  };
  const isListed = (url: URL): boolean => listed.has(bareHostname(url));

  return {
    urlProblem(text) {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return problem('url');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return problem('https');
      if (url.username !== '' || url.password !== '') return problem('noCredentials');
      // An empty fragment (`…/#`) leaves `hash` empty; the serialised URL still has its `#`.
      if (url.href.includes('#')) return problem('noFragment');
      if (isListed(url)) return null;
      if (url.protocol !== 'https:') return problem('https');
      const host = bareHostname(url);
      if (isIP(host) !== 0 && ipaddr.parse(host).range() !== 'unicast') return problem('publicAddress');
      return null;
    },

    agentFor(url) {
      const listedHost = isListed(url);
      if (url.protocol === 'https:') return listedHost ? agents.listedHttps : agents.https;
      if (url.protocol === 'http:') return listedHost ? agents.listedHttp : agents.http;
      throw new Error(`no agent for the scheme ${url.protocol}`);
    },
  };
}
