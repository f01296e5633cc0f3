// Webhook endpoints: the URLs committed changes are pushed to
// (docs/webhooks.md), administered like API keys. An endpoint's signing
// secret is made here and answered once, by `create` and `rotateSecret`;
// every other answer is read through PUBLIC_COLUMNS, which leaves the secrets
// out, so no read path can show one. Every change is recorded in the audit
// log in its own transaction, never with a secret's value. Only a credential
// for every service administers endpoints: an endpoint can carry every
// service's events (actor-rules.ts).
//
// Delivering is not done here (src/webhooks/). What changes it: `enable`
// resets the retry delays of the endpoint's queued deliveries, and `replay`
// queues deliveries; both then call `settings.onDeliveriesQueued` in their
// transaction, so that a job queue can be told to drain them.
import type { Database } from '../db/prisma-client.js';
import {
  Prisma,
  type WebhookAttemptOutcome,
  type WebhookEndpoint,
  type WebhookEventType,
} from '../generated/prisma/client.js';
import { addressPolicy } from '../webhooks/address-policy.js';
import { LANES } from '../webhooks/fan-out.js';
import { webhookId } from '../webhooks/payload.js';
import { newWebhookSecret } from '../webhooks/signing.js';
import type { Actor } from './actor.js';
import { requireEveryService } from './actor-rules.js';
import { changesBetween, recordAudit, type AuditChange } from './audit.js';
import { badInput, notFound, GatewayError } from './errors.js';
import { INT4_MAX, requireServices } from './references.js';
import {
  changeOf,
  LIMITS,
  parseInput,
  personalDataIssue,
  webhookAttemptsPageRules,
  webhookEndpointRules,
  webhookEndpointsPageRules,
  type CreateWebhookEndpointRequest,
  type UpdateWebhookEndpointRequest,
  type WebhookAttemptsPageRequest,
  type WebhookEndpointsPageRequest,
} from './input-rules.js';

/** Every column but the secrets: complete at compile time, so a new column is shown or deliberately left out. */
const PUBLIC_COLUMNS = {
  id: true,
  url: true,
  description: true,
  events: true,
  serviceIds: true,
  approachPosition: true,
  includePersonalData: true,
  personalDataAllowed: true,
  status: true,
  failingSince: true,
  secretRotatedAt: true,
  previousSecretExpiresAt: true,
  createdAt: true,
  createdBy: true,
  updatedAt: true,
} as const satisfies Record<Exclude<keyof WebhookEndpoint, 'secret' | 'previousSecret'>, true>;

type EndpointRow = Prisma.WebhookEndpointGetPayload<{ select: typeof PUBLIC_COLUMNS }>;

/** An endpoint as the API shows it: no secret; an empty service list (every service) as null. */
export interface WebhookEndpointView extends Omit<EndpointRow, 'serviceIds'> {
  readonly serviceIds: number[] | null;
}

/** A new or rotated secret, which the API shows this once. */
export interface IssuedWebhookSecret {
  readonly endpoint: WebhookEndpointView;
  readonly secret: string;
}

export interface WebhookReplayResult {
  readonly endpoint: WebhookEndpointView;
  /** Deliveries queued. */
  readonly queued: number;
}

/** An entry of an endpoint's delivery log. */
export interface WebhookAttemptView {
  /** The attempt's id (a bigint) as text. */
  readonly id: string;
  /** As deliveries carry it in `webhook-id`. */
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  readonly serviceId: number;
  readonly caseId: number | null;
  readonly attempt: number;
  readonly at: Date;
  readonly outcome: WebhookAttemptOutcome;
  readonly responseStatus: number | null;
  readonly latencyMs: number;
  readonly replay: boolean;
  /** While the delivery is pending: when it is tried next (null: as soon as its lane gets to it). */
  readonly nextAttemptAt: Date | null;
}

export interface WebhookAdminSettings {
  /** Hosts endpoints may reach over http and at private addresses (WEBHOOK_ALLOWED_HOSTS). */
  readonly allowedHosts: readonly string[];
  /** How long a rotated-out secret still signs (WEBHOOK_SECRET_OVERLAP_MS; 0: not at all). */
  readonly secretOverlapMs: number;
  /** How far back a replay may reach (WEBHOOK_RETENTION_DAYS): older events may be pruned already. */
  readonly retentionDays: number;
  /**
   * Told, inside the transaction, that an endpoint has deliveries to send
   * now (it was enabled, or a replay queued some): e.g. to add the jobs that
   * drain its lanes. Absent: whoever delivers finds them on its own.
   */
  readonly onDeliveriesQueued?: (tx: Prisma.TransactionClient, endpointId: number) => Promise<void>;
}

export interface WebhookEndpointStore {
  /** A new endpoint and its signing secret. */
  create(request: CreateWebhookEndpointRequest, actor: Actor): Promise<IssuedWebhookSecret>;
  update(id: number, request: UpdateWebhookEndpointRequest, actor: Actor): Promise<WebhookEndpointView>;
  /** A new secret; the previous one also signs for `secretOverlapMs`. */
  rotateSecret(id: number, actor: Actor): Promise<IssuedWebhookSecret>;
  disable(id: number, actor: Actor): Promise<WebhookEndpointView>;
  /** From DISABLED or FAILING: queued deliveries are sent again at once, oldest first. */
  enable(id: number, actor: Actor): Promise<WebhookEndpointView>;
  /** Deletes the endpoint with its deliveries and their log; answers it as it was. */
  delete(id: number, actor: Actor): Promise<WebhookEndpointView>;
  /** Queues again the routed events since `since` the endpoint wants now. */
  replay(endpointId: number, since: Date, actor: Actor): Promise<WebhookReplayResult>;
  /** By id, oldest first. */
  list(request: WebhookEndpointsPageRequest, actor: Actor): Promise<WebhookEndpointView[]>;
  find(id: number, actor: Actor): Promise<WebhookEndpointView | null>;
  /** An endpoint's delivery log, newest first. */
  attempts(request: WebhookAttemptsPageRequest, actor: Actor): Promise<WebhookAttemptView[]>;
}

/** What the audit log records of an endpoint: every field an administrator sets (never a secret). */
const AUDITED_FIELDS = [
  'url',
  'description',
  'events',
  'serviceIds',
  'approachPosition',
  'includePersonalData',
  'personalDataAllowed',
] as const satisfies readonly (keyof WebhookEndpointView)[];

const view = ({ serviceIds, ...row }: EndpointRow): WebhookEndpointView => ({
  ...row,
  serviceIds: serviceIds.length === 0 ? null : serviceIds,
});

const noEndpoint = (field: string, id: number): GatewayError => notFound(field, `no webhook endpoint has the id ${id}`);

/**
 * The endpoint's row, locked until the transaction ends, so that "before" is
 * what a change replaces. FOR NO KEY UPDATE: the fan-out's deliveries still
 * pass their foreign-key check (a key-share lock) meanwhile, so a replay of
 * 100,000 events does not hold up routing for every endpoint.
 */
async function lockedEndpoint(tx: Prisma.TransactionClient, id: number, field = 'id'): Promise<EndpointRow> {
  if (!Number.isInteger(id) || id < 1 || id > INT4_MAX) throw noEndpoint(field, id);
  await tx.$queryRaw`SELECT id FROM webhook_endpoints WHERE id = ${id} FOR NO KEY UPDATE`;
  const row = await tx.webhookEndpoint.findUnique({ where: { id }, select: PUBLIC_COLUMNS });
  if (!row) throw noEndpoint(field, id);
  return row;
}

/** The row after a change, with `updated_at` set by the database's clock, as every time it records. */
async function touched(tx: Prisma.TransactionClient, id: number): Promise<EndpointRow> {
  await tx.$executeRaw`UPDATE webhook_endpoints SET updated_at = now() WHERE id = ${id}`;
  return tx.webhookEndpoint.findUniqueOrThrow({ where: { id }, select: PUBLIC_COLUMNS });
}

function requirePersonalDataAllowed(endpoint: Parameters<typeof personalDataIssue>[0]): void {
  const issue = personalDataIssue(endpoint);
  if (issue) throw new GatewayError('BAD_USER_INPUT', issue);
}

export function createWebhookEndpointStore(db: Database, settings: WebhookAdminSettings): WebhookEndpointStore {
  const policy = addressPolicy(settings.allowedHosts);
  const rules = webhookEndpointRules((url) => policy.urlProblem(url));
  const wake = (tx: Prisma.TransactionClient, id: number): Promise<void> =>
    settings.onDeliveriesQueued?.(tx, id) ?? Promise.resolve();

  const find = async (id: number, actor: Actor): Promise<WebhookEndpointView | null> => {
    requireEveryService(actor);
    if (!Number.isInteger(id) || id < 1 || id > INT4_MAX) return null;
    const row = await db.webhookEndpoint.findUnique({ where: { id }, select: PUBLIC_COLUMNS });
    return row && view(row);
  };

  /** Sets the status (and what goes with it) and audits it; the same status changes nothing. */
  const setStatus = (id: number, status: 'ENABLED' | 'DISABLED', actor: Actor): Promise<WebhookEndpointView> => {
    requireEveryService(actor);
    return db.$transaction(async (tx) => {
      const before = await lockedEndpoint(tx, id);
      if (before.status === status) return view(before);
      if (status === 'ENABLED')
        // Sent again at once, oldest first, and given a full WEBHOOK_FAIL_AFTER_MS before failing again.
        await tx.webhookDelivery.updateMany({
          where: { endpointId: id, status: 'PENDING' },
          data: { nextAttemptAt: null, firstFailedAt: null },
        });
      await tx.webhookEndpoint.update({ where: { id }, data: { status, failingSince: null } });
      const after = await touched(tx, id);
      await recordAudit(tx, actor, {
        action: status === 'ENABLED' ? 'webhookEndpoint.enable' : 'webhookEndpoint.disable',
        entity: 'webhookEndpoint',
        entityId: String(id),
        changes: changesBetween(before, after, ['status', 'failingSince']),
      });
      if (status === 'ENABLED') await wake(tx, id);
      return view(after);
    });
  };

  return {
    async create(request, actor) {
      requireEveryService(actor);
      const input = parseInput(rules.create, request);
      requirePersonalDataAllowed(input);
      const secret = newWebhookSecret();
      const endpoint = await db.$transaction(async (tx) => {
        await requireServices(tx, input.serviceIds);
        const created = await tx.webhookEndpoint.create({
          data: { ...input, secret, createdBy: actor.id },
          select: PUBLIC_COLUMNS,
        });
        await recordAudit(tx, actor, {
          action: 'webhookEndpoint.create',
          entity: 'webhookEndpoint',
          entityId: String(created.id),
          changes: changesBetween(null, view(created), AUDITED_FIELDS),
        });
        return created;
      });
      return { endpoint: view(endpoint), secret };
    },

    async update(id, request, actor) {
      requireEveryService(actor);
      const change = parseInput(rules.update, request);
      return db.$transaction(async (tx) => {
        const before = await lockedEndpoint(tx, id);
        const asked = changeOf(change);
        // Personal data was allowed to go to a URL: a new URL has to be allowed
        // it again (in this change or a later one), or nothing personal goes there.
        const moved = asked.url !== undefined && asked.url !== before.url;
        const data = moved ? { personalDataAllowed: false, includePersonalData: false, ...asked } : asked;
        requirePersonalDataAllowed({ ...before, ...data });
        if (data.serviceIds !== undefined) await requireServices(tx, data.serviceIds);
        const changes = changesBetween(view(before), view({ ...before, ...data }), AUDITED_FIELDS);
        if (changes.length === 0) return view(before);
        await tx.webhookEndpoint.update({ where: { id }, data });
        const after = await touched(tx, id);
        await recordAudit(tx, actor, {
          action: 'webhookEndpoint.update',
          entity: 'webhookEndpoint',
          entityId: String(id),
          changes: changesBetween(view(before), view(after), AUDITED_FIELDS),
        });
        return view(after);
      });
    },

    async rotateSecret(id, actor) {
      requireEveryService(actor);
      const secret = newWebhookSecret();
      const overlapMs = settings.secretOverlapMs;
      const endpoint = await db.$transaction(async (tx) => {
        const before = await lockedEndpoint(tx, id);
        // The secret being replaced keeps signing until the overlap ends (none: it stops now).
        await tx.$executeRaw`
          UPDATE webhook_endpoints
             SET previous_secret = CASE WHEN ${overlapMs}::integer > 0 THEN secret END,
                 previous_secret_expires_at =
                   CASE WHEN ${overlapMs}::integer > 0 THEN now() + ${overlapMs}::integer * interval '1 millisecond' END,
                 secret = ${secret},
                 secret_rotated_at = now()
           WHERE id = ${id}`;
        const after = await touched(tx, id);
        await recordAudit(tx, actor, {
          action: 'webhookEndpoint.rotateSecret',
          entity: 'webhookEndpoint',
          entityId: String(id),
          // When, never what: no secret is written to the log.
          changes: changesBetween(before, after, ['secretRotatedAt', 'previousSecretExpiresAt']),
        });
        return after;
      });
      return { endpoint: view(endpoint), secret };
    },

    disable: (id, actor) => setStatus(id, 'DISABLED', actor),

    enable: (id, actor) => setStatus(id, 'ENABLED', actor),

    async delete(id, actor) {
      requireEveryService(actor);
      return db.$transaction(async (tx) => {
        const before = await lockedEndpoint(tx, id);
        // Its deliveries and their attempts go with it (foreign keys ON DELETE CASCADE); events stay, for other endpoints.
        await tx.webhookEndpoint.delete({ where: { id } });
        const shown = view(before);
        const changes: AuditChange[] = [...AUDITED_FIELDS, 'status' as const].flatMap((field) =>
          shown[field] === null ? [] : [{ field, before: shown[field], after: null }],
        );
        await recordAudit(tx, actor, {
          action: 'webhookEndpoint.delete',
          entity: 'webhookEndpoint',
          entityId: String(id),
          changes,
        });
        return view(before);
      });
    },

    async replay(endpointId, since, actor) {
      requireEveryService(actor);
      if (Number.isNaN(since.getTime())) throw badInput('since', 'type', 'must be a time');
      const limit = LIMITS.webhook.replayEvents;
      return db.$transaction(async (tx) => {
        const endpoint = await lockedEndpoint(tx, endpointId, 'endpointId');
        const [window] = await tx.$queryRaw<{ beyond: boolean }[]>`
          SELECT ${since}::timestamptz < now() - make_interval(days => ${settings.retentionDays}::integer) AS beyond`;
        if (window?.beyond)
          throw badInput(
            'since',
            'retention',
            `must be at most ${settings.retentionDays} days ago (WEBHOOK_RETENTION_DAYS): older events are not kept`,
          );
        // The events the endpoint wants now, as fan-out routes them, that were routed already
        // (those not routed yet will be, as usual). There is no index on the time: a replay reads the table.
        const wanted = Prisma.sql`
            FROM webhook_events e
            JOIN webhook_endpoints p ON p.id = ${endpointId}
           WHERE e.occurred_at >= ${since}::timestamptz
             AND e.dispatched_at IS NOT NULL
             AND e.type = ANY(p.events)
             AND (coalesce(cardinality(p.service_ids), 0) = 0 OR e.service_id = ANY(p.service_ids))
             AND (e.type <> 'case.approaching' OR e.threshold = p.approach_position)`;
        // Counted first, so that a refusal writes nothing.
        const [counted] = await tx.$queryRaw<{ count: number }[]>`
          SELECT count(*)::integer AS count FROM (SELECT 1 ${wanted} LIMIT ${limit + 1}::integer) x`;
        if ((counted?.count ?? 0) > limit)
          throw badInput(
            'since',
            'maxEvents',
            `would replay more than ${limit.toLocaleString('en')} events: choose a later time`,
          );
        // In event order, so that each lane sends them in the order they happened.
        const queued = await tx.$executeRaw`
          INSERT INTO webhook_deliveries (endpoint_id, event_id, lane, replay)
          SELECT ${endpointId}, e.id, (coalesce(e.case_id, e.service_id) % ${LANES}::integer)::smallint, true
          ${wanted}
           ORDER BY e.id`;
        await recordAudit(tx, actor, {
          action: 'webhookEndpoint.replay',
          entity: 'webhookEndpoint',
          entityId: String(endpointId),
          changes: [
            { field: 'since', before: null, after: since },
            { field: 'queued', before: null, after: queued },
          ],
        });
        if (queued > 0) await wake(tx, endpointId);
        return { endpoint: view(endpoint), queued };
      });
    },

    async list(request, actor) {
      requireEveryService(actor);
      const { first, after } = parseInput(webhookEndpointsPageRules, request);
      const rows = await db.webhookEndpoint.findMany({
        where: { id: { gt: after } },
        orderBy: { id: 'asc' },
        take: first,
        select: PUBLIC_COLUMNS,
      });
      return rows.map(view);
    },

    find,

    async attempts(request, actor) {
      requireEveryService(actor);
      const { endpointId, first, after } = parseInput(webhookAttemptsPageRules, request);
      if ((await find(endpointId, actor)) === null) throw noEndpoint('endpointId', endpointId);
      // A range of the (endpoint_id, id) index.
      const rows = await db.webhookAttempt.findMany({
        where: { endpointId, ...(after === null ? {} : { id: { lt: after } }) },
        orderBy: { id: 'desc' },
        take: first,
        include: {
          delivery: {
            select: {
              replay: true,
              status: true,
              nextAttemptAt: true,
              event: { select: { type: true, serviceId: true, caseId: true } },
            },
          },
        },
      });
      return rows.map(({ delivery, ...attempt }) => ({
        id: attempt.id.toString(),
        eventId: webhookId(attempt.eventId.toString()),
        eventType: delivery.event.type,
        serviceId: delivery.event.serviceId,
        caseId: delivery.event.caseId,
        attempt: attempt.attempt,
        at: attempt.at,
        outcome: attempt.outcome,
        responseStatus: attempt.responseStatus,
        latencyMs: attempt.latencyMs,
        replay: delivery.replay,
        nextAttemptAt: delivery.status === 'PENDING' ? delivery.nextAttemptAt : null,
      }));
    },
  };
}
