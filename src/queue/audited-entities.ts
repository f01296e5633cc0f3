// What the audit log says of things: one word per kind. A module of its own
// because both the log (audit.ts) and its page's input rules
// (input-rules.ts) need the list, and the log needs those rules.
// schema.graphql names them in two descriptions, which test/queue/audit.test.ts
// holds to this list.

/** Every kind of thing the audit log records changes of. */
export const AUDITED_ENTITIES = [
  'service',
  'customer',
  'classification',
  'procedure',
  'apiKey',
  'webhookEndpoint',
] as const;

export type AuditedEntity = (typeof AUDITED_ENTITIES)[number];
