// Every rule about what a request may contain, declared once. Lengths count
// Unicode code points, as PostgreSQL's varchar(n) does, so what passes here
// always fits its column. Each rule's input type is the request type the
// domain functions take (`...Request`), so no request is described twice.
import { z } from 'zod';
import { WebhookEventType } from '../generated/prisma/enums.js';
import { AUDITED_ENTITIES, type AuditedEntity } from './audited-entities.js';
import { GatewayError, type FieldIssue } from './errors.js';

export const LIMITS = {
  service: { name: 100, extRef: 100, queueCode: 10, timeZone: 64 },
  customer: { name: 200, extRef: 100 },
  classification: { code: 50, name: 100, services: 100 },
  procedure: { extRef: 100, name: 100, options: 100 },
  action: { reason: 500, callNextServices: 20 },
  queuePage: { first: 100 },
  live: { waiting: 100, inService: 100, changes: 100 },
  servicesPage: { first: 100 },
  referencePage: { first: 100 },
  auditPage: { first: 100, entityId: 200 },
  webhook: {
    url: 2000,
    description: 200,
    services: 100,
    approachPosition: 50,
    endpointsPage: 100,
    attemptsPage: 100,
    replayEvents: 100_000,
  },
  history: { last: 100 },
  statistics: { windowMinutes: 1440 },
  case: {
    serviceIdExtRef: 100,
    extRef: 200,
    notes: 4000,
    subject: 100,
    classificationCode: 50,
    procedureExtRef: 100,
    procedureOptionExtRef: 100,
    customProperties: 50,
    propertyKey: 100,
    propertyValue: 1000,
    idempotencyKey: 100,
  },
} as const;

export const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

/** A rule's name and message, as a zod check's parameters (`toIssue` reads them back). */
export const rule = (name: string, message: string) => ({ message, params: { rule: name } });

/** A rule broken across fields (or items of a list), told on `path`. */
export function broken(context: z.RefinementCtx, path: (string | number)[], name: string, message: string): void {
  context.addIssue({ code: 'custom', path, ...rule(name, message) });
}

/** Text PostgreSQL can store: well-formed UTF-16 (no lone surrogates) and no NUL. */
const storable = z.string().refine((text) => text.isWellFormed() && !text.includes('\u0000'), {
  ...rule('storableText', 'must be well-formed Unicode text without NUL characters'),
  abort: true,
});

const text = (max: number, min = 0) =>
  storable
    .refine(
      (value) => codePoints(value) >= min,
      rule('minLength', `must be at least ${min} character${min === 1 ? '' : 's'}`),
    )
    .refine((value) => codePoints(value) <= max, rule('maxLength', `must be at most ${max} characters`));

/** Absent and null mean the same: not given, stored as NULL. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? null);

/** In a change: absent or null leaves the value as it is. */
const unchangedIfAbsent = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

/** In a change: absent leaves the value, null clears it. */
const clearable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

type WithoutUndefined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** A change with its absent fields left out, as Prisma's update inputs want it. */
export function changeOf<T extends object>(change: T): WithoutUndefined<T> {
  return Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined)) as WithoutUndefined<T>;
}

const id = z
  .number()
  .int()
  .refine((value) => value > 0, rule('positive', 'must be a positive id'));

/**
 * A client's idempotency key: no control characters, so the separator of
 * stored keys (actor-rules.ts `KEY_SCOPE_SEPARATOR`) can never be part of one.
 */
const idempotencyKey = text(LIMITS.case.idempotencyKey, 1).refine(
  (value) => !/\p{Cc}/u.test(value),
  rule('printable', 'must not contain control characters'),
);

const customProperties = z
  .array(z.object({ key: text(LIMITS.case.propertyKey, 1), value: text(LIMITS.case.propertyValue) }))
  .refine(
    (list) => list.length <= LIMITS.case.customProperties,
    rule('maxItems', `must have at most ${LIMITS.case.customProperties} entries`),
  )
  .superRefine((list, context) => {
    const seen = new Set<string>();
    list.forEach((property, index) => {
      if (seen.has(property.key)) broken(context, [index, 'key'], 'uniqueKey', `duplicates the key "${property.key}"`);
      seen.add(property.key);
    });
  });

export const caseEnqueueRules = z
  .object({
    serviceId: optional(id),
    serviceIdExtRef: optional(text(LIMITS.case.serviceIdExtRef, 1)),
    customerId: optional(id),
    extRef: optional(text(LIMITS.case.extRef)),
    notes: optional(text(LIMITS.case.notes)),
    subject: optional(text(LIMITS.case.subject)),
    classificationCode: optional(text(LIMITS.case.classificationCode, 1)),
    autoClose: z
      .boolean()
      .nullish()
      .transform((value) => value ?? false),
    customProperties: optional(customProperties).transform((value) => value ?? []),
    procedureExtRef: optional(text(LIMITS.case.procedureExtRef, 1)),
    procedureOptionExtRef: optional(text(LIMITS.case.procedureOptionExtRef, 1)),
    idempotencyKey: optional(idempotencyKey),
  })
  .superRefine((input, context) => {
    if (input.serviceId === null && input.serviceIdExtRef === null)
      broken(context, ['serviceId'], 'required', 'is required unless serviceIdExtRef is given');
    if (input.procedureOptionExtRef !== null && input.procedureExtRef === null)
      broken(context, ['procedureExtRef'], 'required', 'is required when procedureOptionExtRef is given');
  });

/** An enqueue as clients send it; `null` and absent both mean "not given". */
export type CaseEnqueueRequest = z.input<typeof caseEnqueueRules>;
export type CaseEnqueue = z.output<typeof caseEnqueueRules>;

const name = (max: number) =>
  text(max, 1).refine((value) => value.trim().length > 0, rule('notBlank', 'must not be only white space'));
const queueCode = text(LIMITS.service.queueCode, 1).refine(
  (value) => /^[A-Z0-9]+$/.test(value),
  rule('pattern', 'must be upper-case letters A-Z and digits only'),
);
// Existence is checked against the database's time zone list; this only keeps out what cannot be a zone name.
const timeZone = text(LIMITS.service.timeZone, 1).refine(
  (value) => /^[A-Za-z0-9_+\-/]+$/.test(value),
  rule('timeZone', 'must be an IANA time zone name such as Europe/Dublin'),
);

export const createServiceRules = z.object({
  name: name(LIMITS.service.name),
  extRef: optional(text(LIMITS.service.extRef, 1)),
  queueCode: optional(queueCode),
  timeZone: timeZone.nullish().transform((value) => value ?? 'UTC'),
});
export type CreateServiceRequest = z.input<typeof createServiceRules>;

export const updateServiceRules = z.object({
  name: unchangedIfAbsent(name(LIMITS.service.name)),
  extRef: clearable(text(LIMITS.service.extRef, 1)),
  queueCode: clearable(queueCode),
  active: unchangedIfAbsent(z.boolean()),
  timeZone: unchangedIfAbsent(timeZone),
});
export type UpdateServiceRequest = z.input<typeof updateServiceRules>;

/** `service(id, extRef)`: by id, by external reference, or by both. */
export const serviceLookupRules = z
  .object({ id: optional(id), extRef: optional(text(LIMITS.service.extRef, 1)) })
  .superRefine((input, context) => {
    if (input.id === null && input.extRef === null)
      broken(context, ['id'], 'required', 'is required unless extRef is given');
  });
export type ServiceLookupRequest = z.input<typeof serviceLookupRules>;

export const customerRules = z.object({
  name: clearable(name(LIMITS.customer.name)),
  extRef: clearable(text(LIMITS.customer.extRef, 1)),
  active: unchangedIfAbsent(z.boolean()),
});
export type CustomerRequest = z.input<typeof customerRules>;

const serviceIds = z
  .array(id)
  .refine((ids) => new Set(ids).size === ids.length, rule('unique', 'must not name a service twice'));

// As many as `services(first:)` returns at most: a classification's services are one page.
const classificationServiceIds = serviceIds.refine(
  (ids) => ids.length <= LIMITS.classification.services,
  rule('maxItems', `must name at most ${LIMITS.classification.services} services`),
);

export const createClassificationRules = z.object({
  code: text(LIMITS.classification.code, 1),
  name: name(LIMITS.classification.name),
  serviceIds: classificationServiceIds.nullish().transform((value) => value ?? []),
});
export type CreateClassificationRequest = z.input<typeof createClassificationRules>;

export const updateClassificationRules = z.object({
  name: unchangedIfAbsent(name(LIMITS.classification.name)),
  active: unchangedIfAbsent(z.boolean()),
  serviceIds: unchangedIfAbsent(classificationServiceIds),
});
export type UpdateClassificationRequest = z.input<typeof updateClassificationRules>;

/** The codes and references that name a row to change; checked like any text, so PostgreSQL never sees what it cannot store. */
export const classificationKeyRules = z.object({ code: text(LIMITS.classification.code, 1) });
export const procedureKeyRules = z.object({ extRef: text(LIMITS.procedure.extRef, 1) });
export const optionParentRules = z.object({ procedureExtRef: text(LIMITS.procedure.extRef, 1) });

export const procedureOptionRules = z.object({
  extRef: text(LIMITS.procedure.extRef, 1),
  name: name(LIMITS.procedure.name),
});
export type ProcedureOptionRequest = z.input<typeof procedureOptionRules>;

export const createProcedureRules = z.object({
  extRef: text(LIMITS.procedure.extRef, 1),
  name: name(LIMITS.procedure.name),
  options: z
    .array(procedureOptionRules)
    .refine(
      (list) => list.length <= LIMITS.procedure.options,
      rule('maxItems', `must have at most ${LIMITS.procedure.options} entries`),
    )
    .superRefine((list, context) => {
      const seen = new Set<string>();
      list.forEach((option, index) => {
        if (seen.has(option.extRef)) broken(context, [index, 'extRef'], 'unique', `duplicates "${option.extRef}"`);
        seen.add(option.extRef);
      });
    })
    .nullish()
    .transform((value) => value ?? []),
});
export type CreateProcedureRequest = z.input<typeof createProcedureRules>;

export const updateProcedureRules = z.object({
  name: unchangedIfAbsent(name(LIMITS.procedure.name)),
  active: unchangedIfAbsent(z.boolean()),
});
export type UpdateProcedureRequest = z.input<typeof updateProcedureRules>;

// Optional: a person's token names the agent. Who may be named, and when it
// is required, depends on the credential (actor-rules.ts `actingAgent`).
const agent = optional(storable);
const reason = text(LIMITS.action.reason, 1);

const serviceExtRefs = z
  .array(text(LIMITS.service.extRef, 1))
  .refine((refs) => new Set(refs).size === refs.length, rule('unique', 'must not name a service twice'));

/** Services by external reference, as `createApiKey` takes them: at most `max`, each checked before any lookup. */
export const serviceExtRefsRules = (max: number) =>
  z.object({
    serviceExtRefs: serviceExtRefs.refine(
      (refs) => refs.length <= max,
      rule('maxItems', `must name at most ${max} services`),
    ),
  });

/** Services by id, by external reference, or both: 1 to 20 in all. */
export const callNextRules = z
  .object({
    serviceIds: serviceIds.nullish().transform((ids) => ids ?? []),
    serviceExtRefs: serviceExtRefs.nullish().transform((refs) => refs ?? []),
    agent,
  })
  .superRefine(({ serviceIds: ids, serviceExtRefs: refs }, context) => {
    const named = ids.length + refs.length;
    if (named === 0)
      broken(context, ['serviceIds'], 'minItems', 'must name at least one service (or name them in serviceExtRefs)');
    if (named > LIMITS.action.callNextServices)
      broken(
        context,
        [ids.length > 0 ? 'serviceIds' : 'serviceExtRefs'],
        'maxItems',
        `must name at most ${LIMITS.action.callNextServices} services${ids.length > 0 && refs.length > 0 ? ' with serviceExtRefs' : ''}`,
      );
  });
export type CallNextRequest = z.input<typeof callNextRules>;
export type CallNext = z.output<typeof callNextRules>;

export const caseActionRules = z.object({ caseId: id, agent });
export type CaseActionRequest = z.input<typeof caseActionRules>;

export const PLACEMENTS = ['BACK', 'FRONT', 'ORIGINAL'] as const;

export const returnToQueueRules = z.object({
  caseId: id,
  agent,
  placement: z
    .enum(PLACEMENTS)
    .nullish()
    .transform((value) => value ?? 'BACK'),
  reason,
});
export type ReturnToQueueRequest = z.input<typeof returnToQueueRules>;

export type ReturnToQueue = z.output<typeof returnToQueueRules>;

export const cancelCaseRules = z.object({ caseId: id, agent, reason });
export type CancelCaseRequest = z.input<typeof cancelCaseRules>;

/** A whole number from 1 to `max`; absent or null means `fallback`. */
const countUpTo = (max: number, fallback: number) =>
  z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? fallback)
    .refine((value) => value >= 1 && value <= max, rule('range', `must be from 1 to ${max}`));

export const queuePageRules = z.object({
  first: countUpTo(LIMITS.queuePage.first, 20),
  after: optional(text(200, 1)),
});
export type QueuePageRequest = z.input<typeof queuePageRules>;

export const servicesPageRules = z.object({
  first: countUpTo(LIMITS.servicesPage.first, LIMITS.servicesPage.first),
  afterId: z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? 0),
});
export type ServicesPageRequest = z.input<typeof servicesPageRules>;

const referencePageSize = countUpTo(LIMITS.referencePage.first, LIMITS.referencePage.first);

export const classificationsPageRules = z.object({
  first: referencePageSize,
  afterCode: optional(text(LIMITS.classification.code, 1)),
});
export type ClassificationsPageRequest = z.input<typeof classificationsPageRules>;

export const proceduresPageRules = z.object({
  first: referencePageSize,
  afterExtRef: optional(text(LIMITS.procedure.extRef, 1)),
});
export type ProceduresPageRequest = z.input<typeof proceduresPageRules>;

const LARGEST_BIGINT = 2n ** 63n - 1n;

export const auditPageRules = z
  .object({
    first: countUpTo(LIMITS.auditPage.first, 50),
    // An entry's id (a bigint) as text, as `AuditEntry.id` gives it.
    before: optional(
      z
        .string()
        .refine(
          (value) => /^\d{1,19}$/.test(value) && BigInt(value) <= LARGEST_BIGINT,
          rule('cursor', 'is not the id of an audit log entry'),
        )
        .transform((value) => BigInt(value)),
    ),
    entity: optional(
      z
        .string()
        .refine(
          (value): value is AuditedEntity => (AUDITED_ENTITIES as readonly string[]).includes(value),
          rule('oneOf', `must be one of ${AUDITED_ENTITIES.join(', ')}`),
        ),
    ),
    entityId: optional(text(LIMITS.auditPage.entityId, 1)),
  })
  .superRefine((input, context) => {
    // An id alone is ambiguous (service 7 and customer 7), and the log is indexed by entity, then id.
    if (input.entityId !== null && input.entity === null)
      broken(context, ['entity'], 'required', 'is required when entityId is given');
  });
export type AuditPageRequest = z.input<typeof auditPageRules>;

// Webhook endpoints (webhook-endpoints.ts). What a URL may name is the
// address policy's to say (src/webhooks/address-policy.ts, WEBHOOK_ALLOWED_HOSTS),
// so the rules are made for one: `webhookEndpointRules(policy.urlProblem)`.

/** Why a URL may not be called (its rule and message), or null: `AddressPolicy.urlProblem`. */
export type UrlCheck = (url: string) => { readonly rule: string; readonly message: string } | null;

const webhookEvents = z
  .array(z.enum(WebhookEventType))
  .refine((events) => events.length >= 1, rule('minItems', 'must name at least one event type'))
  .refine((events) => new Set(events).size === events.length, rule('unique', 'must not name an event type twice'));

// Empty: every service, as on the endpoint's row.
const webhookServiceIds = serviceIds.refine(
  (ids) => ids.length <= LIMITS.webhook.services,
  rule('maxItems', `must name at most ${LIMITS.webhook.services} services`),
);

const approachPosition = z
  .number()
  .int()
  .refine(
    (value) => value >= 1 && value <= LIMITS.webhook.approachPosition,
    rule('range', `must be from 1 to ${LIMITS.webhook.approachPosition}`),
  );

const webhookDescription = text(LIMITS.webhook.description, 1);

const absentMeans = <T extends z.ZodType, D extends z.output<T>>(schema: T, fallback: D) =>
  schema.nullish().transform((value) => value ?? fallback);

export function webhookEndpointRules(urlProblem: UrlCheck) {
  const url = text(LIMITS.webhook.url, 1).superRefine((value, context) => {
    const problem = urlProblem(value);
    if (problem)
      context.addIssue({
        code: 'custom',
        // The policy's message starts with its rule's name, which the issue carries on its own.
        message: problem.message.replace(/^\w+: /, ''),
        params: { rule: problem.rule },
      });
  });
  return {
    create: z.object({
      url,
      description: optional(webhookDescription),
      events: webhookEvents,
      serviceIds: absentMeans(webhookServiceIds, []),
      approachPosition: absentMeans(approachPosition, 2),
      includePersonalData: absentMeans(z.boolean(), false),
      personalDataAllowed: absentMeans(z.boolean(), false),
    }),
    update: z.object({
      url: unchangedIfAbsent(url),
      description: clearable(webhookDescription),
      events: unchangedIfAbsent(webhookEvents),
      serviceIds: unchangedIfAbsent(webhookServiceIds),
      approachPosition: unchangedIfAbsent(approachPosition),
      includePersonalData: unchangedIfAbsent(z.boolean()),
      personalDataAllowed: unchangedIfAbsent(z.boolean()),
    }),
  };
}
export type WebhookEndpointRules = ReturnType<typeof webhookEndpointRules>;
export type CreateWebhookEndpointRequest = z.input<WebhookEndpointRules['create']>;
export type UpdateWebhookEndpointRequest = z.input<WebhookEndpointRules['update']>;

/** Personal fields go only where an administrator allowed them: checked on the endpoint as it would be. */
export function personalDataIssue(endpoint: {
  readonly includePersonalData: boolean;
  readonly personalDataAllowed: boolean;
}): FieldIssue | null {
  return endpoint.includePersonalData && !endpoint.personalDataAllowed
    ? {
        field: 'includePersonalData',
        rule: 'personalDataAllowed',
        message: 'may be true only while personalDataAllowed is true',
      }
    : null;
}

/** A bigint id as text, as the API shows ids of log rows; `what` names the rows in the message. */
const bigintCursor = (what: string) =>
  z
    .string()
    .refine(
      (value) => /^\d{1,19}$/.test(value) && BigInt(value) <= LARGEST_BIGINT,
      rule('cursor', `is not the id of ${what}`),
    )
    .transform((value) => BigInt(value));

export const webhookEndpointsPageRules = z.object({
  first: countUpTo(LIMITS.webhook.endpointsPage, LIMITS.webhook.endpointsPage),
  after: z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? 0),
});
export type WebhookEndpointsPageRequest = z.input<typeof webhookEndpointsPageRules>;

export const webhookAttemptsPageRules = z.object({
  endpointId: z.number().int(),
  first: countUpTo(LIMITS.webhook.attemptsPage, 50),
  after: optional(bigintCursor('an attempt of the delivery log')),
});
export type WebhookAttemptsPageRequest = z.input<typeof webhookAttemptsPageRules>;

export const historyRules = z.object({ last: countUpTo(LIMITS.history.last, LIMITS.history.last) });
export type HistoryRequest = z.input<typeof historyRules>;

export const statisticsRules = z.object({
  windowMinutes: countUpTo(LIMITS.statistics.windowMinutes, 60),
});
export type StatisticsRequest = z.input<typeof statisticsRules>;

export const followQueueRules = z.object({
  serviceId: id,
  first: z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? 20)
    .refine(
      (value) => value >= 0 && value <= LIMITS.live.waiting,
      rule('range', `must be from 0 to ${LIMITS.live.waiting}`),
    ),
});
export type FollowQueueRequest = z.input<typeof followQueueRules>;

export const followCaseRules = z.object({ caseId: id });
export type FollowCaseRequest = z.input<typeof followCaseRules>;

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (joined, part) =>
      typeof part === 'number' ? `${joined}[${part}]` : joined ? `${joined}.${String(part)}` : String(part),
    '',
  );
}

function toIssue(issue: z.core.$ZodIssue): FieldIssue {
  const field = fieldPath(issue.path);
  if (issue.code === 'custom')
    return { field, rule: String(issue.params?.['rule'] ?? 'custom'), message: issue.message };
  if (issue.code === 'invalid_type') return { field, rule: 'type', message: `must be of type ${issue.expected}` };
  return { field, rule: issue.code, message: issue.message };
}

/** Parses `input` by `rules`, or throws a BAD_USER_INPUT GatewayError naming every broken rule. */
export function parseInput<T extends z.ZodType>(rules: T, input: unknown): z.output<T> {
  const result = rules.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(toIssue);
  const [first] = issues;
  if (!first) throw new Error('input rejected without an issue');
  throw new GatewayError('BAD_USER_INPUT', first, issues);
}
