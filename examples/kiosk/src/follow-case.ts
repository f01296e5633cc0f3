// Following a case live: the `caseChanged` subscription over WebSocket with
// graphql-ws. Node 20 has no global WebSocket, hence `ws`.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { z } from 'zod';
import { graphqlErrors, KioskError, refusal } from './errors.js';
import { webSocketUrl } from './gateway-url.js';
import type { KioskCaseChangedSubscription, KioskCaseChangedSubscriptionVariables } from './gql/graphql.js';
import { CaseChangedDocument } from './operations.js';

/** One state of the case: its ticket, status, place and estimated wait, and who called it. */
export type CaseUpdate = KioskCaseChangedSubscription['caseChanged'];

export interface FollowOptions {
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
  const client = createClient({
    url: webSocketUrl(url),
    webSocketImpl: WebSocket,
    retryAttempts: options.retryAttempts ?? 8,
    // graphql-ws retries only after a close by default; a gateway that is restarting refuses the
    // connection instead (an error, not a close), and a kiosk should wait for it all the same.
    shouldRetry: () => true,
  });
  const variables: KioskCaseChangedSubscriptionVariables = { caseId };
  try {
    const results = client.iterate<KioskCaseChangedSubscription>({ query: CaseChangedDocument.toString(), variables });
    for await (const result of results) {
      if (result.errors !== undefined && result.errors.length > 0) throw asKioskError(result.errors, url);
      if (result.data == null) throw new KioskError('BAD_RESPONSE', `An update of case ${caseId} came without data`);
      const update = result.data.caseChanged;
      yield update;
      if (update.status !== 'WAITING') return;
    }
    // The gateway ends the subscription only once the case is closed, which the loop returns on.
    throw new KioskError('CONNECTION_CLOSED', `The gateway ended the updates of case ${caseId} while it was waiting`);
  } catch (error) {
    throw asKioskError(error, url);
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

/** What graphql-ws throws (a close event, the server's errors, an Error) as a coded error. */
function asKioskError(error: unknown, url: string): KioskError {
  if (error instanceof KioskError) return error;
  const errors = graphqlErrors.safeParse(error);
  if (errors.success) return refusal(errors.data);
  const closed = closeEvent.safeParse(error);
  if (closed.success) {
    const reason = closed.data.reason === '' ? '' : `: ${closed.data.reason}`;
    return new KioskError('CONNECTION_CLOSED', `The live connection to ${url} closed (${closed.data.code}${reason})`);
  }
  return new KioskError('UNREACHABLE', `Cannot follow the case at ${url}`, undefined, { cause: error });
}
