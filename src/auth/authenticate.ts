// From a request's `Authorization` header to a principal: an API key of a
// device (`Bearer fcq_...`) or a person's token from the identity provider
// (`Bearer <JWT>`). What was wrong with a refused credential is for the
// operators' log; the client learns only that it was not accepted.
import { SECRET_PREFIX } from './api-key-secret.js';
import { OPEN_PRINCIPAL, type Principal } from './principal.js';

export type AuthMode = 'open' | 'required';

export type Authentication =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      /** `missing`: no credential where one is required; `invalid`: one was sent and is not accepted. */
      readonly failure: 'missing' | 'invalid';
      /** Why, for the log (never for the client). */
      readonly reason: string;
    };

export interface Authenticator {
  /** Open or requiring credentials, now: an open gateway closes once credentials exist (see `openUntil`). */
  readonly mode: AuthMode;
  /** The principal of an `Authorization` header value (or of none). */
  authenticate(authorization: string | undefined): Promise<Authentication>;
}

/** What the authenticator needs of the API key store and of the token verifier. */
export interface CredentialVerifiers {
  readonly keys: { verify(secret: string): Promise<Principal | null> };
  readonly tokens:
    | {
        verify(
          token: string,
        ): Promise<
          { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string }
        >;
      }
    | undefined;
}

const BEARER = /^Bearer +(\S+) *$/i;

export interface AuthenticatorOptions {
  /**
   * For a gateway open only because nothing was configured: true once
   * credentials exist (the first API key), after which it requires them
   * for good. Asked at most once per `recheckMs`.
   */
  readonly openUntil?: () => Promise<boolean>;
  readonly recheckMs?: number;
  /** Told when an open gateway starts requiring credentials. */
  readonly onClosed?: () => void;
}

export function createAuthenticator(
  initial: AuthMode,
  { keys, tokens }: CredentialVerifiers,
  { openUntil, recheckMs = 5_000, onClosed }: AuthenticatorOptions = {},
): Authenticator {
  let mode = initial;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let checking: Promise<void> | undefined;
  // Read through a function: the check below awaits, and may change it meanwhile.
  const currentMode = (): AuthMode => mode;
  /** Whether the gateway is still open: rechecked now and then, one check at a time. */
  const stillOpen = async (): Promise<boolean> => {
    if (mode === 'required') return false;
    if (openUntil && performance.now() - checkedAt >= recheckMs) {
      checking ??= openUntil()
        .then((closed) => {
          checkedAt = performance.now();
          if (closed && mode === 'open') {
            mode = 'required';
            onClosed?.();
          }
        })
        .finally(() => (checking = undefined));
      await checking;
    }
    return currentMode() === 'open';
  };
  return {
    get mode() {
      return mode;
    },
    async authenticate(authorization) {
      // Open (development): no credential needed; one that is sent is still
      // checked, so roles can be tried out locally.
      if (authorization === undefined || authorization === '')
        return (await stillOpen())
          ? { ok: true, principal: OPEN_PRINCIPAL }
          : { ok: false, failure: 'missing', reason: 'no Authorization header' };
      const credential = BEARER.exec(authorization)?.[1];
      if (credential === undefined)
        return { ok: false, failure: 'invalid', reason: 'Authorization is not "Bearer <credential>"' };
      if (credential.startsWith(SECRET_PREFIX)) {
        const principal = await keys.verify(credential);
        return principal
          ? { ok: true, principal }
          : { ok: false, failure: 'invalid', reason: 'unknown, revoked or forged API key' };
      }
      if (!tokens)
        return { ok: false, failure: 'invalid', reason: 'a bearer token, but no identity provider is configured' };
      const verified = await tokens.verify(credential);
      return verified.ok
        ? { ok: true, principal: verified.principal }
        : { ok: false, failure: 'invalid', reason: `token: ${verified.reason}` };
    },
  };
}
