// Who a request comes from (the socket's peer, or behind trusted proxies the
// address they forwarded), and the part of that address limits count by.
import type { IncomingMessage } from 'node:http';
import { isIP, isIPv6 } from 'node:net';
import proxyaddr from 'proxy-addr';

// IPv4 clients of a server listening on `::` appear as `::ffff:a.b.c.d`.
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * An IPv4 address as it is; an IPv6 address by its /64 prefix
 * (`2001:db8:0:1::/64`). A /64 is one network: a host can use any of its 2^64
 * addresses, so counting each alone would let one client sweep them, each with
 * a fresh limit (and fill the limiter's table with them).
 */
export function addressKey(address: string): string {
  const mapped = MAPPED_IPV4.exec(address)?.[1];
  if (mapped !== undefined) return mapped;
  if (!address.includes(':')) return address;
  // A zone (`fe80::1%eth0`) names the host's interface, not the client.
  const bare = address.split('%', 1)[0] ?? address;
  if (!isIPv6(bare)) return address;
  return `${leadingGroups(bare, 4).join(':')}::/64`;
}

/** The first `count` 16-bit groups of a valid IPv6 address, without leading zeros. */
function leadingGroups(address: string, count: number): string[] {
  const [head = '', tail] = address.split('::', 2);
  const groups = (part: string): string[] =>
    part === ''
      ? []
      : // An IPv4 tail (`::ffff:1.2.3.4`) is the last two groups; its value never falls in a /64.
        part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group]));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].slice(0, count).map((group) => parseInt(group, 16).toString(16));
}

/** Whether a peer is one of the proxies in front of the gateway (TRUST_PROXY: addresses and CIDR networks). */
export function trustedProxy(trustProxy: readonly string[]): (address: string) => boolean {
  if (trustProxy.length === 0) return () => false;
  const trust = proxyaddr.compile([...trustProxy]);
  return (address) => trust(address, 0);
}

/** The socket's peer: the client address when no proxy is trusted. */
export function clientAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

/**
 * The client address of a request: the socket's peer, unless that peer is a
 * trusted proxy; then `X-Forwarded-For` is read from the right, past every
 * trusted hop, to the first address not trusted (as Express does, through
 * the same `proxy-addr`). Entries left of that one are whatever the client
 * chose to send and are never read. An entry that is no address (a proxy
 * passing on garbage) stops the walk at the trusted hop before it: those
 * clients then share that hop's limits rather than choose their own.
 */
export function clientAddressResolver(trustProxy: readonly string[]): (request: IncomingMessage) => string {
  if (trustProxy.length === 0) return clientAddress;
  const trust = proxyaddr.compile([...trustProxy]);
  return (request) => {
    if (request.socket.remoteAddress === undefined) return 'unknown';
    // The peer, then forwarded addresses right to left, up to the first one not trusted.
    const chain = proxyaddr.all(request, trust);
    const client = chain.at(-1) ?? clientAddress(request);
    return isIP(client) !== 0 ? client : (chain.at(-2) ?? clientAddress(request));
  };
}
