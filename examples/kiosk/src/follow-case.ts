// Following a case live: the `caseChanged` subscription over WebSocket with
// graphql-ws. Node 20 has no global WebSocket, hence `ws`.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { z } from 'zod';
import { apiKeyOf, bearer, type Credentials } from './credentials.js';
import { graphqlErrors, KioskError, refusal, unauthenticated } from './errors.js';
import { webSocketUrl } from './gateway-url.js';
import type { KioskCaseChangedSubscription, KioskCaseChangedSubscriptionVariables } from './gql/graphql.js';
import { CaseChangedDocument } from './operations.js';

/** One state of the case: its ticket, status, place and estimated wait, and who called it. */
export type CaseUpdate = KioskCaseChangedSubscription['caseChanged'];

/** The graphql-ws close codes of a refused credential: retrying cannot change the answer. */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;

export interface FollowOptions extends Credentials {
  /**
   * The case's `receipt`, as `enqueueCase` returned it. A kiosk key may follow a case only with it;
   * a gateway running open (or an agent's credential) does not need it.
   */
  readonly receipt?: string | undefined;
  /**
   * How many times to reconnect after the connection drops or cannot be opened (default 8, with
   * graphql-ws's randomised exponential back-off: about four minutes in all, enough for a gateway to
   * restart). After a reconnect the gateway sends the current state first, so nothing is missed.
   */
  readonly retryAttempts?: number;
}

/**
 * The case's updates: its current state at once, then every change, ending with the first update in
 * which it no longer waits (it was called: `IN_SERVICE`, or closed). Leaving the loop early ends the
 * subscription; the connection is closed either way.
 */
export async function* followCase(
  url: string,
  caseId: number,
  options: FollowOptions = {},
): AsyncGenerator<CaseUpdate, void, undefined> {
  const apiKey = apiKeyOf(options);
  const client = createClient({
    url: webSocketUrl(url),
    webSocketImpl: WebSocket,
    // The gateway reads the credential from connection_init, as it must for browsers.
    connectionParams: apiKey === undefined ? {} : { authorization: bearer(apiKey) },
    retryAttempts: options.retryAttempts ?? 8,
    // graphql-ws retries only after a close by default; a gateway that is restarting refuses the
    // connection instead (an error, not a close), and a kiosk should wait for it all the same.
    // A refused credential is final: retrying it for minutes would only hide the problem.
    shouldRetry: (errorOrClose) => !refusedCredential(errorOrClose),
  });
  const variables: KioskCaseChangedSubscriptionVariables = {
    caseId,
    ...(options.receipt === undefined ? {} : { receipt: options.receipt }),
  };
  try {
    const results = client.iterate<KioskCaseChangedSubscription>({ query: CaseChangedDocument.toString(), variables });
    for await (const result of results) {
      if (result.errors !== undefined && result.errors.length > 0) throw asKioskError(result.errors, url, apiKey);
      if (result.data == null) throw new KioskError('BAD_RESPONSE', `An update of case ${caseId} came without data`);
      const update = result.data.caseChanged;
      yield update;
      if (update.status !== 'WAITING') return;
    }
    // The gateway ends the subscription only once the case is closed, which the loop returns on.
    throw new KioskError('CONNECTION_CLOSED', `The gateway ended the updates of case ${caseId} while it was waiting`);
  } catch (error) {
    throw asKioskError(error, url, apiKey);
  } finally {
    try {
      await client.dispose();
    } catch {
      // Closing a connection that already failed has nothing left to report.
    }
  }
}

/** A WebSocket close event, as graphql-ws passes it on. */
const closeEvent = z.object({ code: z.number(), reason: z.string() });

function refusedCredential(errorOrClose: unknown): boolean {
  const closed = closeEvent.safeParse(errorOrClose);
  return closed.success && (closed.data.code === CLOSE_UNAUTHORIZED || closed.data.code === CLOSE_FORBIDDEN);
}

/** What graphql-ws throws (a close event, the server's errors, an Error) as a coded error. */
function asKioskError(error: unknown, url: string, apiKey: string | undefined): KioskError {
  if (error instanceof KioskError) return error;
  const errors = graphqlErrors.safeParse(error);
  if (errors.success) return refusal(errors.data);
  const closed = closeEvent.safeParse(error);
  if (closed.success && closed.data.code === CLOSE_UNAUTHORIZED) return unauthenticated(url, apiKey);
  if (closed.success && closed.data.code === CLOSE_FORBIDDEN)
    return new KioskError('FORBIDDEN', `The gateway at ${url} refused the live connection (${CLOSE_FORBIDDEN})`);
  if (closed.success) {
    const reason = closed.data.reason === '' ? '' : `: ${closed.data.reason}`;
    return new KioskError('CONNECTION_CLOSED', `The live connection to ${url} closed (${closed.data.code}${reason})`);
  }
  return new KioskError('UNREACHABLE', `Cannot follow the case at ${url}`, undefined, { cause: error });
}
