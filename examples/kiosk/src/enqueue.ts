// Taking a ticket: the typed `enqueueCase` mutation.
import type { Credentials } from './credentials.js';
import type { KioskEnqueueCaseMutation } from './gql/graphql.js';
import { httpRequest } from './http-request.js';
import { EnqueueCaseDocument } from './operations.js';

/** The new case: its id and receipt (to follow it), its ticket, and where it stands. */
export type Ticket = KioskEnqueueCaseMutation['enqueueCase'];

/**
 * The service whose queue to join: by its external reference (`serviceExtRef: 'ENR'`, as
 * configured on the gateway's side), or by its id.
 */
export type ServiceName = { readonly serviceExtRef: string } | { readonly serviceId: number };

export type TicketRequest = ServiceName & {
  /**
   * Makes a retry safe: the same key returns the first request's case instead of a second one.
   * Give one (a UUID) when the request may be sent again after a failure.
   */
  readonly idempotencyKey?: string;
};

/** Takes a ticket, with the kiosk's API key when the gateway requires credentials. */
export async function enqueueCase(url: string, request: TicketRequest, credentials: Credentials = {}): Promise<Ticket> {
  const { enqueueCase: ticket } = await httpRequest(
    url,
    EnqueueCaseDocument,
    {
      input: {
        ...('serviceExtRef' in request ? { serviceIdExtRef: request.serviceExtRef } : { serviceId: request.serviceId }),
        ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
      },
    },
    credentials,
  );
  return ticket;
}
