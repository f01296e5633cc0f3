// The credential of each open WebSocket, kept current. A socket authenticates
// once, at connection_init, and may then stay open for hours: without this, a
// revoked key or an expired token kept streaming and could start new
// subscriptions (issue 17.2). Each watched socket's credential is verified
// again (`recheck`, without taking a rate limit):
// - before a new subscription, when the last check is `recheckMs` old or more,
//   or a revocation was heard since, or the token has expired;
// - in the background, at least every `recheckMs` (AUTH_KEY_CACHE_MS, at
//   least 1 s) and at the token's expiry (`Principal.expiresAt`);
// - at once when a revocation or rotation of its key is heard (`revoked`, fed
//   by the change listener: every process within a second).
// A credential no longer accepted closes the socket with 4403, an expired one
// (or one now missing, where credentials became required) with 4401. An
// unanswered check (the database is down: 503; a rate limit: 429; anything
// unexpected) keeps the socket and its principal and tries again within
// RETRY_MS: an outage must not close every live screen at once.
//
// The route calls `watch(socket, authorization, principal)` once
// connection_init is admitted, `await current(socket)` before each subscribe
// (the principal to run it as, or the close the socket was given; the route
// then refuses the subscribe), and `forget(socket)` when the socket closes.
// The gateway calls `revoked(principalId)` for a key it hears changed, and
// `revokedAny()` when notifications may have been missed (the listener
// reconnected), so every socket re-validates at its next subscribe or check.
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../log.js';
import type { Refusal } from './admission.js';

/** graphql-ws's code for a missing, invalid or (here) expired credential: the client must authenticate again. */
export const CLOSE_UNAUTHORIZED = 4401;
/** The credential was revoked (or otherwise stopped being accepted) while the socket was open. */
export const CLOSE_REVOKED = 4403;

/** How a socket was closed for its credential. */
export interface SocketClose {
  readonly code: number;
  readonly reason: string;
}

/** What this module needs of a socket (a `ws` WebSocket has it). */
export interface CredentialSocket {
  close(code: number, reason: string): void;
}

export interface SocketCredentialsOptions {
  /** Verifies an `Authorization` value again, without taking a rate limit (admission.recheck). */
  readonly recheck: (authorization: string | undefined) => Promise<Principal | Refusal>;
  /** The longest a socket's credential goes unchecked (AUTH_KEY_CACHE_MS); background checks at least 1 s apart. */
  readonly recheckMs: number;
  readonly log: Logger;
}

export interface SocketCredentials {
  /** Starts keeping the socket's credential current; `principal` is what connection_init was admitted as. */
  watch(socket: CredentialSocket, authorization: string | undefined, principal: Principal): void;
  /** The principal to run a new subscription as, checked again when due; or the close the socket was given. */
  current(socket: CredentialSocket): Promise<Principal | SocketClose>;
  /** The socket closed: its timer stops. */
  forget(socket: CredentialSocket): void;
  /** The credential with this principal id was revoked or rotated: its sockets are checked now. */
  revoked(principalId: string): void;
  /** Revocations may have gone unheard: every socket is checked at its next subscribe or background check. */
  revokedAny(): void;
  /** Stops every timer and forgets every socket (the gateway is stopping). */
  stop(): void;
}

const EXPIRED: SocketClose = { code: CLOSE_UNAUTHORIZED, reason: 'The credential has expired' };
const MISSING: SocketClose = { code: CLOSE_UNAUTHORIZED, reason: 'Unauthorized' };
const REVOKED: SocketClose = { code: CLOSE_REVOKED, reason: 'The credential is no longer accepted' };
/** Background checks are at least this far apart, whatever AUTH_KEY_CACHE_MS says (0 there means no cache). */
const MIN_INTERVAL_MS = 1_000;
/** After a check nobody could answer (an outage), the next one is this soon. */
const RETRY_MS = 2_000;
/** setTimeout's longest delay. */
const MAX_DELAY_MS = 2_147_483_647;

interface Watched {
  readonly authorization: string | undefined;
  /** The principal's id at admission, which indexes `byPrincipal` (the same credential keeps it). */
  readonly id: string;
  principal: Principal;
  /** When the last accepted check started (performance.now()); -Infinity: none yet beyond admission. */
  checkedAt: number;
  /** Revocations heard for this socket, and how many of them the last accepted check came after. */
  heard: number;
  checkedHeard: number;
  /** The check running now, which callers share. */
  checking: Promise<Principal | SocketClose> | undefined;
  timer: NodeJS.Timeout | undefined;
}

const isRefusal = (answer: Principal | Refusal): answer is Refusal => 'status' in answer;
const expired = (principal: Principal): boolean =>
  principal.expiresAt !== undefined && Date.now() >= principal.expiresAt;

export function createSocketCredentials({ recheck, recheckMs, log }: SocketCredentialsOptions): SocketCredentials {
  const watched = new Map<CredentialSocket, Watched>();
  /** The sockets of each principal id, so a revocation finds them without a scan. */
  const byPrincipal = new Map<string, Set<CredentialSocket>>();
  /** Sockets closed here, so a subscribe racing the close gets the same answer. */
  const ended = new WeakMap<CredentialSocket, SocketClose>();
  const intervalMs = Math.max(MIN_INTERVAL_MS, recheckMs);

  const unlink = (socket: CredentialSocket, entry: Watched): void => {
    clearTimeout(entry.timer);
    watched.delete(socket);
    const sockets = byPrincipal.get(entry.id);
    sockets?.delete(socket);
    if (sockets?.size === 0) byPrincipal.delete(entry.id);
  };

  const end = (socket: CredentialSocket, entry: Watched, close: SocketClose): SocketClose => {
    if (watched.get(socket) === entry) unlink(socket, entry);
    ended.set(socket, close);
    log.info('live updates: closed a WebSocket for its credential', {
      principal: entry.id,
      code: close.code,
      why: close === EXPIRED ? 'expired' : close === REVOKED ? 'no longer accepted' : 'missing',
    });
    socket.close(close.code, close.reason);
    return close;
  };

  /** The next background check: after the interval, or at expiry if sooner. */
  const schedule = (socket: CredentialSocket, entry: Watched, delayMs: number): void => {
    clearTimeout(entry.timer);
    const { expiresAt } = entry.principal;
    const untilExpiry = expiresAt === undefined ? delayMs : expiresAt - Date.now();
    const forExpiry = expiresAt !== undefined && untilExpiry <= delayMs;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.min(delayMs, untilExpiry)));
    entry.timer = setTimeout(() => {
      // Timers count on the event loop's clock, which lags Date.now() while the
      // loop is busy: a timer set for the expiry can fire a little before it,
      // and would then check a credential that is still valid.
      if (forExpiry && !expired(entry.principal)) schedule(socket, entry, delayMs);
      else void check(socket, entry);
    }, delay);
    entry.timer.unref();
  };

  const revalidate = async (socket: CredentialSocket, entry: Watched): Promise<Principal | SocketClose> => {
    for (;;) {
      if (expired(entry.principal)) return end(socket, entry, EXPIRED);
      const heard = entry.heard;
      const startedAt = performance.now();
      let answer: Principal | Refusal | undefined;
      try {
        answer = await recheck(entry.authorization);
      } catch (error) {
        log.error('live updates: checking a WebSocket credential again failed; it is kept until the next check', error);
      }
      // Forgotten (closed) meanwhile: nothing to keep current.
      if (watched.get(socket) !== entry) return ended.get(socket) ?? entry.principal;
      if (answer !== undefined && !isRefusal(answer)) {
        // A revocation heard while asking: the answer may have been read before it committed.
        if (entry.heard !== heard) continue;
        entry.principal = answer;
        entry.checkedAt = startedAt;
        entry.checkedHeard = heard;
        schedule(socket, entry, intervalMs);
        return answer;
      }
      if (answer?.status === 401) {
        if (expired(entry.principal)) return end(socket, entry, EXPIRED);
        return end(socket, entry, answer.failure === 'missing' ? MISSING : REVOKED);
      }
      // Unanswered (503, 429, an unexpected error): nothing was learnt of the credential.
      schedule(socket, entry, Math.min(intervalMs, RETRY_MS));
      return entry.principal;
    }
  };

  /** One check per socket at a time; callers meanwhile share it. */
  const check = (socket: CredentialSocket, entry: Watched): Promise<Principal | SocketClose> => {
    entry.checking ??= revalidate(socket, entry).finally(() => {
      entry.checking = undefined;
    });
    return entry.checking;
  };

  return {
    watch(socket, authorization, principal) {
      const previous = watched.get(socket);
      if (previous) unlink(socket, previous);
      const entry: Watched = {
        authorization,
        id: principal.id,
        principal,
        checkedAt: performance.now(),
        heard: 0,
        checkedHeard: 0,
        checking: undefined,
        timer: undefined,
      };
      watched.set(socket, entry);
      const sockets = byPrincipal.get(principal.id) ?? new Set();
      sockets.add(socket);
      byPrincipal.set(principal.id, sockets);
      schedule(socket, entry, intervalMs);
    },

    async current(socket) {
      const entry = watched.get(socket);
      if (!entry) {
        const close = ended.get(socket);
        if (close) return close;
        // Never admitted (or already forgotten): nothing vouches for it.
        socket.close(MISSING.code, MISSING.reason);
        return MISSING;
      }
      const due =
        entry.checking !== undefined ||
        entry.heard !== entry.checkedHeard ||
        expired(entry.principal) ||
        performance.now() - entry.checkedAt >= recheckMs;
      return due ? check(socket, entry) : entry.principal;
    },

    forget(socket) {
      const entry = watched.get(socket);
      if (entry) unlink(socket, entry);
    },

    revoked(principalId) {
      for (const socket of byPrincipal.get(principalId) ?? []) {
        const entry = watched.get(socket);
        if (!entry) continue;
        entry.heard += 1;
        void check(socket, entry);
      }
    },

    revokedAny() {
      for (const entry of watched.values()) entry.heard += 1;
    },

    stop() {
      for (const [socket, entry] of watched) unlink(socket, entry);
    },
  };
}
