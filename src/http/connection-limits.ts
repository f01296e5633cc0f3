// What one client may hold of the gateway's connections, decided when a
// connection opens, before any byte of it is read. HTTP_MAX_CONNECTIONS
// alone let one address without credentials fill every connection with idle
// sockets (1,024 of them), so that nobody else was answered, not even
// /health/live. Now each address (IPv6: each /64, see addressKey) may hold
// at most HTTP_MAX_CONNECTIONS_PER_ADDRESS at once; WebSockets count, being
// upgraded HTTP connections. Trusted proxies (TRUST_PROXY) are exempt: every
// client behind them shares their address. And a connection must send its
// first byte within HTTP_FIRST_BYTE_TIMEOUT_MS (a socket that sends nothing
// otherwise held a connection until the headers deadline, and one sending a
// byte at a time is then the headers deadline's to end).
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { addressKey } from '../limits/client-address.js';
import type { Logger } from '../log.js';
import { collapsedCount } from './collapsed-count.js';
import { rawErrorResponse } from './respond.js';

/** Refused connections are logged at most once per this long, with their count. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface ConnectionLimits {
  readonly maxConnectionsPerAddress: number;
  readonly firstByteTimeoutMs: number;
}

/** Open connections by address key; `admit` gives a release for each one it lets in. */
export interface AddressCounter {
  /** Counts a new connection from `address`; undefined (not counted) when its address holds the maximum. */
  admit(address: string): (() => void) | undefined;
  /** Open connections counted for the key of `address`. */
  held(address: string): number;
}

/** `exempt`: peers that are not counted at all (trusted proxies). */
export function addressCounter(maxPerAddress: number, exempt: (address: string) => boolean): AddressCounter {
  const open = new Map<string, number>();
  const noop = (): void => undefined;
  return {
    admit(address) {
      if (exempt(address)) return noop;
      const key = addressKey(address);
      const count = open.get(key) ?? 0;
      if (count >= maxPerAddress) return undefined;
      open.set(key, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(key) ?? 1) - 1;
        // Only addresses with open connections are kept: the table is bounded by them.
        if (left === 0) open.delete(key);
        else open.set(key, left);
      };
    },
    held: (address) => open.get(addressKey(address)) ?? 0,
  };
}

/**
 * Applies the per-address cap and the first-byte deadline to every
 * connection `server` accepts (those beyond HTTP_MAX_CONNECTIONS never get
 * here: Node drops them first).
 */
export function limitConnections(
  server: Server,
  limits: ConnectionLimits,
  exempt: (address: string) => boolean,
  log: Logger,
): AddressCounter {
  const counter = addressCounter(limits.maxConnectionsPerAddress, exempt);
  // A warning, not an error: one client misbehaving, not the gateway out of connections.
  const refused = collapsedCount(REFUSAL_LOG_INTERVAL_MS, (count) =>
    log.warn(
      `refused ${count} connection(s) since the last report: their address already held ` +
        `${limits.maxConnectionsPerAddress} (HTTP_MAX_CONNECTIONS_PER_ADDRESS)`,
    ),
  );
  const lateAnswer = rawErrorResponse(
    408,
    'REQUEST_TIMEOUT',
    `No request received: a connection must send its first byte within ${limits.firstByteTimeoutMs} ms`,
  );
  // Runs after Node's own listener has set the socket up, so destroying it
  // here is an ordinary close; nothing has been read yet (reads are async).
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress;
    // Gone already (reset by the client before this ran).
    if (peer === undefined) {
      socket.destroy();
      return;
    }
    const release = counter.admit(peer);
    if (!release) {
      refused();
      // A reset rather than a close: no answer is due, and the gateway keeps
      // no TIME_WAIT state for each of a flood of refused connections.
      socket.resetAndDestroy();
      return;
    }
    // Node counts what it reads even when its parser reads the socket directly.
    const firstByte = setTimeout(() => {
      if (socket.bytesRead > 0 || socket.destroyed) return;
      // As the headers deadline answers a silent connection: a coded 408, then closed.
      if (socket.writable) socket.write(lateAnswer);
      socket.destroy();
    }, limits.firstByteTimeoutMs);
    firstByte.unref();
    socket.once('close', () => {
      clearTimeout(firstByte);
      release();
    });
  });
  return counter;
}
