// PostgreSQL connection URLs as libpq reads them, several hosts included:
// `postgres://user:secret@h1:5432,h2:5433/queue?target_session_attrs=read-write`
// (what `pg_autoctl show uri` and Patroni's docs print). node-postgres reads
// one host only (`new URL` refuses a host list), so this splits a URL into one
// single-host URL per host, which node-postgres reads as usual, and the one
// setting that chooses among them.
//
// Hosts come from the authority (`h1:p1,h2:p2`, `[::1]:5432`) or from the
// `host=` / `port=` query parameters (comma lists, as libpq takes them); a
// host without a port gets `port=`'s or 5432.

/** libpq's `target_session_attrs`: which of the hosts a connection may stay on. */
export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number];

export interface DatabaseHost {
  readonly host: string;
  readonly port: number;
}

export interface DatabaseUrl {
  readonly hosts: readonly DatabaseHost[];
  readonly targetSessionAttrs: TargetSessionAttrs;
  /** One URL per host, in order, for node-postgres: everything else as given, `target_session_attrs` left out. */
  readonly hostUrls: readonly string[];
  /** `host:port` list for logs (the URL without user or password). */
  readonly description: string;
}

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

const DEFAULT_PORT = 5432;
const SHAPE = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(.*)$/;

function parsePort(text: string, url: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) throw new DatabaseUrlError(`port "${text}" in ${url}`);
  return port;
}

/** `h1:p1,[::1]:p2,h3` → hosts; a host without a port gets the one `ports` gives in the same place, or `fallback`. */
function authorityHosts(list: string, ports: readonly string[], url: string): DatabaseHost[] {
  if (list === '') return [];
  return list.split(',').map((entry, index) => {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(entry);
    if (!match) throw new DatabaseUrlError(`host "${entry}" in ${url}`);
    const host = decodeURIComponent(match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
    const port = match[2] || ports[index] || ports[0] || String(DEFAULT_PORT);
    return { host: host || 'localhost', port: parsePort(port, url) };
  });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : encodeURIComponent(host);
}

function hostCount(authority: string, params: URLSearchParams): number {
  const fromQuery = (params.get('host') ?? '').split(',').filter((host) => host !== '').length;
  return fromQuery || authority.split(',').length;
}

/** Reads a `postgres://` or `postgresql://` URL with one host or several; throws DatabaseUrlError naming what is wrong. */
export function parseDatabaseUrl(url: string): DatabaseUrl {
  const match = SHAPE.exec(url);
  if (!match) throw new DatabaseUrlError('must be a postgresql:// connection URL');
  const [, scheme = '', userInfo, authority = '', rest = ''] = match;
  const queryStart = rest.indexOf('?');
  const path = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const params = new URLSearchParams(queryStart === -1 ? '' : rest.slice(queryStart + 1));
  // Unset with several hosts: the writable one. The gateway writes on every
  // connection it opens from DATABASE_URL, and `any` would land some on a standby.
  const attrs = params.get('target_session_attrs') ?? (hostCount(authority, params) > 1 ? 'read-write' : 'any');
  if (!(TARGET_SESSION_ATTRS as readonly string[]).includes(attrs))
    throw new DatabaseUrlError(`target_session_attrs must be one of ${TARGET_SESSION_ATTRS.join(', ')}`);
  const ports = (params.get('port') ?? '').split(',').filter((port) => port !== '');
  let hosts = authorityHosts(authority, ports, url);
  const queryHosts = (params.get('host') ?? '').split(',').filter((host) => host !== '');
  // A `host=` list names the hosts when the authority names none (libpq: the query wins over the authority).
  if (queryHosts.length > 0)
    hosts = queryHosts.map((host, index) => ({
      host,
      port: parsePort(ports[index] ?? ports[0] ?? String(DEFAULT_PORT), url),
    }));
  if (hosts.length === 0) hosts = [{ host: 'localhost', port: ports[0] ? parsePort(ports[0], url) : DEFAULT_PORT }];
  for (const name of ['target_session_attrs', 'host', 'port']) params.delete(name);
  const query = params.toString();
  const credentials = userInfo === undefined ? '' : `${userInfo}@`;
  const hostUrls = hosts.map(
    ({ host, port }) => `${scheme}${credentials}${hostForUrl(host)}:${port}${path}${query ? `?${query}` : ''}`,
  );
  for (const hostUrl of hostUrls)
    if (!URL.canParse(hostUrl)) throw new DatabaseUrlError('must be a postgresql:// connection URL');
  return {
    hosts,
    targetSessionAttrs: attrs as TargetSessionAttrs,
    hostUrls,
    description: hosts.map(({ host, port }) => `${hostForUrl(host)}:${port}`).join(','),
  };
}

/** Whether `url` is a connection URL this module reads. */
export function isDatabaseUrl(url: string): boolean {
  try {
    parseDatabaseUrl(url);
    return true;
  } catch {
    return false;
  }
}

/** `url` with `target_session_attrs` set to `attrs` (added, or replacing what it says). */
export function withTargetSessionAttrs(url: string, attrs: TargetSessionAttrs): string {
  const queryStart = url.indexOf('?');
  const params = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
  params.set('target_session_attrs', attrs);
  return `${queryStart === -1 ? url : url.slice(0, queryStart)}?${params.toString()}`;
}

/** Settings that look for a standby: a URL with one of them serves reads, and writes need `read-write` instead. */
export function seeksStandby(attrs: TargetSessionAttrs): boolean {
  return attrs === 'prefer-standby' || attrs === 'standby' || attrs === 'read-only';
}
