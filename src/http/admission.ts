// Who may come in, decided once per request before any route runs an
// operation, and before its body is read or parsed: the credential is
// verified (401 UNAUTHENTICATED when it is missing or not accepted) and the
// caller's rate limit is taken (429 RATE_LIMITED with Retry-After): per
// credential, or per client address for callers without a valid credential,
// so guessing keys is limited too. This is the first step of the one
// admission path (src/graphql/prepare-operation.ts has the others); over a
// WebSocket, `decide` admits connection_init and `take` each subscribe.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authentication, Authenticator, AuthMode } from '../auth/authenticate.js';
import { databaseUnavailable } from '../db/prisma-errors.js';
import {
  DATABASE_UNAVAILABLE,
  RATE_LIMITED,
  RETRY_AFTER_SECONDS,
  UNAUTHENTICATED,
  type ErrorCode,
} from '../queue/error-codes.js';
import type { Principal } from '../auth/principal.js';
import type { RateLimiter, RateLimitKey, Verdict } from '../limits/rate-limiter.js';
import { clientAddress } from '../limits/client-address.js';
import type { Logger } from '../log.js';
import { recordOutcome } from './request-report.js';
import { sendJson } from './respond.js';

const REALM = 'Bearer realm="fifo-case-gateway"';

export type Refusal =
  | { readonly status: 401; readonly failure: 'missing' | 'invalid' }
  | { readonly status: 429; readonly retryAfterSeconds: number; readonly limit: number }
  /** An API key could not be looked up: nothing is known of the credential yet, so not 401. */
  | { readonly status: 503 };

export interface Admission {
  /** Open (development) or requiring credentials, now. */
  readonly mode: AuthMode;
  /** The request's principal; undefined when the request was refused (and answered here). */
  admit(
    request: IncomingMessage,
    response: ServerResponse,
    refuse?: (response: ServerResponse, refusal: Refusal) => void,
  ): Promise<Principal | undefined>;
  /** The same decision without an HTTP answer (WebSocket `connection_init`). */
  decide(authorization: string | undefined, address: string): Promise<Principal | Refusal>;
  /** Takes one request from a principal's limit (each subscribe message over an admitted WebSocket). */
  take(principal: Principal): Refusal | undefined;
  /** Verifies a credential again, taking no rate limit (an open WebSocket's, socket-credentials.ts). */
  recheck(authorization: string | undefined): Promise<Principal | Refusal>;
  /** The client address of a request, which per-address limits count by. */
  address(request: IncomingMessage): string;
}

function tooMany(verdict: Verdict): Refusal | undefined {
  return verdict.allowed
    ? undefined
    : { status: 429, retryAfterSeconds: verdict.retryAfterSeconds, limit: verdict.limit };
}

/** What a refusal says: status, code, message and headers, whatever the body's shape (GraphQL, REST). */
export function refusalAnswer(refusal: Refusal): {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly retryAfterSeconds?: number;
} {
  switch (refusal.status) {
    case 503:
      return {
        status: 503,
        code: DATABASE_UNAVAILABLE,
        message: 'The database is unavailable or did not answer in time; try again later',
        headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
    case 429:
      return {
        status: 429,
        code: RATE_LIMITED,
        message: `Too many requests: try again in ${refusal.retryAfterSeconds} s`,
        headers: { 'retry-after': String(refusal.retryAfterSeconds) },
        retryAfterSeconds: refusal.retryAfterSeconds,
      };
    case 401:
      return {
        status: 401,
        code: UNAUTHENTICATED,
        message:
          refusal.failure === 'missing'
            ? 'Authentication required: send Authorization: Bearer <API key or token>'
            : 'The credential was not accepted',
        headers: { 'www-authenticate': refusal.failure === 'missing' ? REALM : `${REALM}, error="invalid_token"` },
      };
  }
}

/** Answers a refused GraphQL request: `{ errors: [...] }` with the code (and when to retry). */
export function sendRefusal(response: ServerResponse, refusal: Refusal): void {
  const { status, code, message, headers, retryAfterSeconds } = refusalAnswer(refusal);
  recordOutcome(response, { outcome: code });
  sendJson(
    response,
    status,
    { errors: [{ message, extensions: { code, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) } }] },
    headers,
  );
}

/** `addressOf`: the client address of a request (behind trusted proxies, the one they forwarded). */
export function createAdmission(
  authenticator: Authenticator,
  limiter: Pick<RateLimiter, 'take'> | undefined,
  log: Logger,
  addressOf: (request: IncomingMessage) => string = clientAddress,
): Admission {
  const limit = (key: RateLimitKey): Refusal | undefined => (limiter ? tooMany(limiter.take(key)) : undefined);
  const take = (principal: Principal): Refusal | undefined =>
    // Open access is development: nothing to count.
    principal.kind === 'open' ? undefined : limit({ kind: 'credential', id: principal.id });
  const refused = (authentication: Authentication & { ok: false }, address: string): Refusal => {
    log.info('credential refused', { reason: authentication.reason });
    return limit({ kind: 'address', id: address }) ?? { status: 401, failure: authentication.failure };
  };
  /** The credential's authentication; undefined when the database could not be asked. */
  const authenticate = async (authorization: string | undefined): Promise<Authentication | undefined> => {
    try {
      return await authenticator.authenticate(authorization);
    } catch (error) {
      if (databaseUnavailable(error) === undefined) throw error;
      return undefined;
    }
  };
  const decide = async (authorization: string | undefined, address: string): Promise<Principal | Refusal> => {
    const authentication = await authenticate(authorization);
    if (!authentication) return { status: 503 };
    if (!authentication.ok) return refused(authentication, address);
    return take(authentication.principal) ?? authentication.principal;
  };
  return {
    get mode() {
      return authenticator.mode;
    },
    decide,
    take,
    address: addressOf,
    async recheck(authorization) {
      const authentication = await authenticate(authorization);
      if (!authentication) return { status: 503 };
      if (authentication.ok) return authentication.principal;
      log.info('credential refused', { reason: authentication.reason });
      return { status: 401, failure: authentication.failure };
    },
    async admit(request, response, refuse = sendRefusal) {
      const decided = await decide(request.headers.authorization, addressOf(request));
      if ('status' in decided) {
        refuse(response, decided);
        return undefined;
      }
      recordOutcome(response, { principal: decided.id });
      return decided;
    },
  };
}
