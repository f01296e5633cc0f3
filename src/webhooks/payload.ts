// What a webhook delivery carries (docs/webhooks.md, "Payloads"): the Standard
// Webhooks shape `{ type, timestamp, data }`, where `data` is what the outbox
// recorded when the change committed (the case as it was then, never a later
// state) and `timestamp` is when it happened. Personal fields (subject, notes,
// external reference, custom properties, customer) are never in the outbox:
// they are read when sending, only for endpoints that ask for them and are
// allowed them, from a case whose personal fields do not change after its
// enqueue (only the customer may, and the latest is sent).
import type { PoolClient } from 'pg';

/** The event as the outbox holds it. */
export interface RecordedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: Date;
  readonly caseId: number | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A case's personal fields, for endpoints allowed them. */
export interface PersonalFields {
  readonly subject: string | null;
  readonly notes: string | null;
  readonly extRef: string | null;
  readonly customerId: number | null;
  readonly customProperties: readonly { readonly key: string; readonly value: string }[];
}

/** The id receivers deduplicate by: the same on every attempt and every replay of one event. */
export const webhookId = (eventId: string): string => `evt_${eventId}`;

/** The body of a delivery, as sent and signed. */
export function deliveryBody(event: RecordedEvent, personal: PersonalFields | null): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: personal ? { ...event.data, personal } : event.data,
  });
}

/** The personal fields of a case, or null when the case is gone. */
export async function personalFields(client: PoolClient, caseId: number): Promise<PersonalFields | null> {
  const { rows } = await client.query<PersonalFields>(
    `SELECT c.subject, c.notes, c.ext_ref AS "extRef", c.customer_id AS "customerId",
            coalesce((SELECT json_agg(json_build_object('key', p.key, 'value', p.value) ORDER BY p.position)
                        FROM case_properties p WHERE p.case_id = c.id), '[]') AS "customProperties"
       FROM cases c WHERE c.id = $1`,
    [caseId],
  );
  return rows[0] ?? null;
}
