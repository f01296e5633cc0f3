// The one error the kiosk library throws, coded so a caller can decide what
// to tell the person at the kiosk (try again, ask at the desk, ...), and how
// the gateway's GraphQL errors become one.
import { z } from 'zod';

export type KioskErrorCode =
  /** The gateway could not be reached: refused, timed out, no route. Safe to try again. */
  | 'UNREACHABLE'
  /** The gateway refused the operation; `gatewayCode` holds its code, e.g. `NOT_FOUND` or `BAD_USER_INPUT`. */
  | 'REFUSED'
  /**
   * The gateway wants a credential and got none, or did not accept the one sent (revoked, rotated,
   * mistyped): HTTP 401, or the live connection closed with 4401. Trying again will not help.
   */
  | 'UNAUTHENTICATED'
  /**
   * The credential may not do this: not a kiosk key, or following a case without its receipt (HTTP
   * 403, or the gateway's `FORBIDDEN`). (A key limited to other services is told the service does
   * not exist: `REFUSED`, `NOT_FOUND`.) Trying again will not help.
   */
  | 'FORBIDDEN'
  /** The API key given cannot be one: white space or unprintable characters inside it (nothing was sent). */
  | 'BAD_KEY'
  /** The answer was not a GraphQL response (a proxy's error page, a wrong URL). */
  | 'BAD_RESPONSE'
  /** The live connection closed before the case was called or closed, and reconnecting did not help. */
  | 'CONNECTION_CLOSED'
  /** The URL given is not an http(s) URL. */
  | 'BAD_URL';

export class KioskError extends Error {
  override readonly name = 'KioskError';

  constructor(
    readonly code: KioskErrorCode,
    message: string,
    /** The gateway's own code (`extensions.code` of its first error), for `REFUSED`. */
    readonly gatewayCode?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** GraphQL errors as the kiosk reads them; other keys are ignored. */
export const graphqlErrors = z.array(
  z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).optional() }),
);

/** A refusal: the first error's message and the gateway's code; credential refusals get codes of their own. */
export function refusal(errors: Readonly<z.infer<typeof graphqlErrors>>): KioskError {
  const [first] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const gatewayCode = first?.extensions?.code;
  const code = gatewayCode === 'UNAUTHENTICATED' || gatewayCode === 'FORBIDDEN' ? gatewayCode : 'REFUSED';
  return new KioskError(code, `The gateway refused: ${first?.message ?? 'no reason given'}${more}`, gatewayCode);
}

/** HTTP 401, or a live connection closed with 4401: no credential, or one the gateway did not accept. */
export function unauthenticated(url: string, apiKey: string | undefined, gatewayCode?: string): KioskError {
  return new KioskError(
    'UNAUTHENTICATED',
    apiKey === undefined
      ? `The gateway at ${url} wants a kiosk API key, and none was given`
      : `The gateway at ${url} did not accept the kiosk API key (revoked, rotated or mistyped?)`,
    gatewayCode,
  );
}
