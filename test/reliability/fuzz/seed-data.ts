// A few rows to start from, so that generated enqueues can succeed from the
// first batch: services (one in a +14 time zone), customers, classifications
// (one limited to a service), a procedure with options, and one enqueue with
// a key, which later replays retry.
import type { Prepared, RootField } from './render.js';
import type { Json } from './values.js';

function mutation(label: string, text: string, fields: readonly RootField[] = []): Prepared {
  return {
    label: `seed: ${label}`,
    method: 'POST',
    search: '',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ query: `mutation { ${text} }` })),
    operation: 'mutation',
    fields,
  };
}

export const SEED_REFERENCE_DATA: readonly Prepared[] = [
  mutation(
    'services',
    `a: createService(input: { name: "Enrolments", extRef: "fz-enr", queueCode: "A" }) { __typename id extRef }
     b: createService(input: { name: "Kiritimati desk", extRef: "fz-kir", queueCode: "K9", timeZone: "Pacific/Kiritimati" }) { __typename id extRef }
     c: createService(input: { name: "No code" }) { __typename id extRef }`,
  ),
  mutation(
    'customers',
    `a: createCustomer(input: { name: "Ada", extRef: "fz-ada" }) { __typename id }
     b: createCustomer(input: { name: "Grace" }) { __typename id }`,
  ),
  mutation(
    'classifications and procedures',
    `a: createClassification(input: { code: "fz-general", name: "General" }) { __typename code }
     b: createClassification(input: { code: "fz-limited", name: "Limited", serviceIds: [1] }) { __typename code }
     c: createProcedure(input: { extRef: "fz-proc", name: "Procedure",
          options: [{ extRef: "fz-opt-1", name: "One" }, { extRef: "fz-opt-2", name: "Two" }] }) { __typename extRef options { __typename extRef } }`,
  ),
];

/** An enqueue with a key into `serviceId`, known to the ledger so replays can retry it. */
export function seedEnqueue(serviceId: number): Prepared {
  const input: Record<string, Json> = {
    serviceId,
    subject: 'Seed',
    customProperties: [{ key: 'channel', value: 'kiosk' }],
    idempotencyKey: 'fz-seed-key',
  };
  return mutation(
    'enqueue',
    `f0: enqueueCase(input: { serviceId: ${serviceId}, subject: "Seed", customProperties: [{ key: "channel", value: "kiosk" }],
         idempotencyKey: "fz-seed-key" }) { __typename caseId }`,
    [{ key: 'f0', name: 'enqueueCase', args: { input } }],
  );
}
