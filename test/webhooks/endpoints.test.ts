// Webhook endpoints over GraphQL (real HTTP, a real gateway requiring
// credentials): created, changed, rotated, disabled, enabled, deleted and
// replayed by ADMIN keys alone, every change audited without its secret; the
// signing secret answered once and never readable again; each input rule
// refused with its code, field and rule; the delivery log paged newest first.
// Events, deliveries and attempts are written with SQL here: recording and
// delivering them is tested in outbox.test.ts and delivery.test.ts.
import { readFileSync } from 'node:fs';
import { buildSchema, getNamedType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../src/auth/principal.js';
import { SCHEMA_FILE } from '../../src/config.js';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  DisableWebhookEndpointDocument,
  EnableWebhookEndpointDocument,
  ReplayWebhookEventsDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookEndpointDocument,
  WebhookDeliveriesDocument,
  WebhookEndpointDocument,
  WebhookEndpointsDocument,
  type CreateWebhookEndpointInput,
  type UpdateWebhookEndpointInput,
  type WebhookEndpointFieldsFragment,
  type WebhookEventType,
} from '../../src/generated/operations/graphql.js';
import { issueKey, post, type TestKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { expectData, expectError, graphqlClient, type Client } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

/** `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries take secrets. */
const SECRET_SHAPE = /^whsec_[A-Za-z0-9+/]{43}=$/;
const DAY_MS = 86_400_000;

let t: TestGateway;
let adminKey: TestKey;
/** The ADMIN key's client: every change below is made by `key:<its id>`. */
let admin: Client;
const keys = new Map<Role, TestKey>();

beforeAll(async () => {
  t = await startTestGateway({}, { AUTH_MODE: 'required', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  for (const role of ROLES) keys.set(role, await issueKey(t.db, role));
  adminKey = keyOf('ADMIN');
  admin = graphqlClient(t.gateway.url, { authorization: adminKey.authorization });
});

afterAll(async () => {
  await t.stop();
});

function keyOf(role: Role): TestKey {
  const key = keys.get(role);
  if (!key) throw new Error(`no key for ${role}`);
  return key;
}

let made = 0;
const hookUrl = (): string => `https://hooks.example.com/fifo/${process.pid}-${(made += 1)}`;

async function create(
  input: Partial<CreateWebhookEndpointInput> = {},
): Promise<{ endpoint: WebhookEndpointFieldsFragment; secret: string }> {
  return expectData(
    await admin(CreateWebhookEndpointDocument, { input: { url: hookUrl(), events: ['CASE_CALLED'], ...input } }),
  ).createWebhookEndpoint;
}

interface AuditRow {
  readonly actor: string;
  readonly action: string;
  readonly changes: { field: string; before: string | null; after: string | null }[];
}

async function auditOf(endpointId: number): Promise<AuditRow[]> {
  const { rows } = await t.sql.query<AuditRow>(
    `SELECT actor, action, changes FROM audit_log WHERE entity = 'webhookEndpoint' AND entity_id = $1 ORDER BY id`,
    [String(endpointId)],
  );
  return rows;
}

/** Rows of every table a webhook mutation writes, to show a refusal wrote nothing. */
async function counts(): Promise<Record<string, number>> {
  const tables = ['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'audit_log'];
  const { rows } = await t.sql.query<Record<string, number>>(
    `SELECT ${tables.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ')}`,
  );
  return rows[0] ?? {};
}

interface StoredSecrets {
  readonly secret: string;
  readonly previous: string | null;
  readonly expiresAt: Date | null;
  readonly row: string;
}

async function storedSecrets(id: number): Promise<StoredSecrets> {
  const { rows } = await t.sql.query<StoredSecrets>(
    `SELECT secret, previous_secret AS previous, previous_secret_expires_at AS "expiresAt", row_to_json(p)::text AS row
       FROM webhook_endpoints p WHERE id = $1`,
    [id],
  );
  const [row] = rows;
  if (!row) throw new Error(`no endpoint ${id}`);
  return row;
}

/** An outbox row, as the triggers write one; `ago` is an SQL interval before now. */
async function recordedEvent(event: {
  readonly type: string;
  readonly serviceId: number;
  readonly caseId?: number | null;
  readonly threshold?: number | null;
  readonly ago: string;
  readonly dispatched?: boolean;
}): Promise<string> {
  const { rows } = await t.sql.query<{ id: string }>(
    `INSERT INTO webhook_events (type, service_id, case_id, threshold, occurred_at, data, dispatched_at)
     VALUES ($1::webhook_event_type, $2, $3, $4, now() - $5::interval, '{}'::jsonb, CASE WHEN $6 THEN now() END)
     RETURNING id::text`,
    [event.type, event.serviceId, event.caseId ?? null, event.threshold ?? null, event.ago, event.dispatched ?? true],
  );
  return rows[0]?.id ?? '';
}

async function delivery(
  endpointId: number,
  eventId: string,
  state: { readonly delivered?: boolean; readonly nextAttemptIn?: string; readonly failedAgo?: string } = {},
): Promise<string> {
  const { rows } = await t.sql.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (endpoint_id, event_id, lane, status, attempts, next_attempt_at, first_failed_at, delivered_at)
     VALUES ($1, $2, 0, CASE WHEN $3 THEN 'DELIVERED' ELSE 'PENDING' END::webhook_delivery_status, 1,
             now() + $4::interval, now() - $5::interval, CASE WHEN $3 THEN now() END)
     RETURNING id::text`,
    [endpointId, eventId, state.delivered ?? false, state.nextAttemptIn ?? null, state.failedAgo ?? null],
  );
  return rows[0]?.id ?? '';
}

describe('creating an endpoint', () => {
  it('answers the signing secret once: stored for signing, never readable afterwards, never in the audit log', async () => {
    const service = await given.service(t.db);
    const { endpoint, secret } = await create({
      description: 'CRM, completed cases',
      events: ['CASE_CALLED', 'CASE_COMPLETED'],
      serviceIds: [service.id],
    });

    expect(secret).toMatch(SECRET_SHAPE);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(endpoint).toMatchObject({
      description: 'CRM, completed cases',
      events: ['CASE_CALLED', 'CASE_COMPLETED'],
      serviceIds: [service.id],
      approachPosition: 2,
      includePersonalData: false,
      personalDataAllowed: false,
      status: 'ENABLED',
      failingSince: null,
      secretRotatedAt: null,
      previousSecretExpiresAt: null,
      createdBy: `key:${adminKey.id}`,
    });
    // Kept for signing deliveries...
    expect((await storedSecrets(endpoint.id)).secret).toBe(secret);

    // ...and shown nowhere else.
    const keyPart = secret.slice('whsec_'.length);
    const one = await admin(WebhookEndpointDocument, { id: endpoint.id });
    expect(expectData(one).webhookEndpoint).toEqual(endpoint);
    const reads = [
      one,
      await admin(WebhookEndpointsDocument, {}),
      await post(t.gateway.url, '{ auditLog(entity: "webhookEndpoint") { changes { field before after } } }', {
        authorization: adminKey.authorization,
      }),
    ];
    for (const read of reads) expect(JSON.stringify(read)).not.toContain(keyPart);
    expect(JSON.stringify(await auditOf(endpoint.id))).not.toContain(keyPart);
  });

  it('has no field that could show a secret, but the one answered once', () => {
    const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    const secretFields = Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && !type.name.startsWith('__'))
      .flatMap((type) =>
        isObjectType(type)
          ? Object.values(type.getFields())
              .filter((field) => /secret/i.test(field.name) && getNamedType(field.type).name === 'String')
              .map((field) => `${type.name}.${field.name}`)
          : [],
      );
    expect(secretFields.sort()).toEqual(['ApiKeySecret.secret', 'WebhookEndpointSecret.secret']);
  });

  it('shows an endpoint of every service with serviceIds null, and pages endpoints by id', async () => {
    const mine = [await create(), await create({ serviceIds: [] }), await create()].map(({ endpoint }) => endpoint);
    expect(mine.map((endpoint) => endpoint.serviceIds)).toEqual([null, null, null]);
    const [first, second, third] = mine;
    if (!first || !second || !third) throw new Error('three endpoints were made');

    const page = expectData(await admin(WebhookEndpointsDocument, { first: 2, after: first.id - 1 })).webhookEndpoints;
    expect(page).toEqual([first, second]);
    const next = expectData(await admin(WebhookEndpointsDocument, { first: 2, after: second.id })).webhookEndpoints;
    expect(next).toEqual([third]);

    for (const first of [0, 101])
      expect(expectError(await admin(WebhookEndpointsDocument, { first })).extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'first',
        rule: 'range',
      });
    expect(expectData(await admin(WebhookEndpointDocument, { id: 987_654 })).webhookEndpoint).toBeNull();
  });

  const twoCalls: WebhookEventType[] = ['CASE_CALLED', 'CASE_CALLED'];
  it.each<[string, Partial<CreateWebhookEndpointInput>, { field: string; rule: string }]>([
    ['an empty URL', { url: '' }, { field: 'url', rule: 'minLength' }],
    [
      'a URL of 2,001 characters',
      { url: `https://hooks.example.com/${'a'.repeat(1975)}` },
      { field: 'url', rule: 'maxLength' },
    ],
    ['no absolute URL', { url: 'hooks.example.com/fifo' }, { field: 'url', rule: 'url' }],
    ['another scheme', { url: 'ftp://hooks.example.com/fifo' }, { field: 'url', rule: 'https' }],
    ['plain http to an unlisted host', { url: 'http://hooks.example.com/fifo' }, { field: 'url', rule: 'https' }],
    ['a user name and password', { url: 'https://u:p@hooks.example.com/' }, { field: 'url', rule: 'noCredentials' }],
    ['a fragment', { url: 'https://hooks.example.com/fifo#top' }, { field: 'url', rule: 'noFragment' }],
    ['a private address', { url: 'https://10.0.0.1/fifo' }, { field: 'url', rule: 'publicAddress' }],
    ['a metadata address', { url: 'https://169.254.169.254/latest' }, { field: 'url', rule: 'publicAddress' }],
    ['an unlisted loopback address', { url: 'https://127.0.0.2/fifo' }, { field: 'url', rule: 'publicAddress' }],
    ['IPv6 loopback', { url: 'https://[::1]/fifo' }, { field: 'url', rule: 'publicAddress' }],
    ['no events', { events: [] }, { field: 'events', rule: 'minItems' }],
    ['an event twice', { events: twoCalls }, { field: 'events', rule: 'unique' }],
    ['approachPosition 0', { approachPosition: 0 }, { field: 'approachPosition', rule: 'range' }],
    ['approachPosition 51', { approachPosition: 51 }, { field: 'approachPosition', rule: 'range' }],
    ['a service twice', { serviceIds: [7, 7] }, { field: 'serviceIds', rule: 'unique' }],
    [
      '101 services',
      { serviceIds: Array.from({ length: 101 }, (_, index) => index + 1) },
      { field: 'serviceIds', rule: 'maxItems' },
    ],
    ['an empty description', { description: '' }, { field: 'description', rule: 'minLength' }],
    ['a description of 201 characters', { description: 'd'.repeat(201) }, { field: 'description', rule: 'maxLength' }],
    [
      'personal data without the permission',
      { includePersonalData: true },
      { field: 'includePersonalData', rule: 'personalDataAllowed' },
    ],
  ])('refuses %s with BAD_USER_INPUT naming the field and rule, writing nothing', async (_what, input, expected) => {
    const before = await counts();
    const error = expectError(
      await admin(CreateWebhookEndpointDocument, { input: { url: hookUrl(), events: ['CASE_CALLED'], ...input } }),
    );
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', ...expected });
    expect(error.message.startsWith(`${expected.field}: `)).toBe(true);
    expect(await counts()).toEqual(before);
  });

  it('refuses services that do not exist with NOT_FOUND naming each by its place', async () => {
    const service = await given.service(t.db);
    const before = await counts();
    const error = expectError(
      await admin(CreateWebhookEndpointDocument, {
        input: { url: hookUrl(), events: ['CASE_CALLED'], serviceIds: [service.id, 987_654, 2_147_483_647] },
      }),
    );
    expect(error.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'serviceIds[1]', rule: 'exists' });
    expect(error.extensions['issues']).toEqual([
      expect.objectContaining({ field: 'serviceIds[1]' }),
      expect.objectContaining({ field: 'serviceIds[2]' }),
    ]);
    expect(await counts()).toEqual(before);
  });

  it('takes plain http and loopback for hosts listed in WEBHOOK_ALLOWED_HOSTS, and personal data when allowed', async () => {
    const { endpoint } = await create({
      url: 'http://127.0.0.1:8080/receiver',
      includePersonalData: true,
      personalDataAllowed: true,
      approachPosition: 50,
    });
    expect(endpoint).toMatchObject({
      url: 'http://127.0.0.1:8080/receiver',
      includePersonalData: true,
      personalDataAllowed: true,
      approachPosition: 50,
    });
    expect((await create({ url: 'https://127.0.0.1/receiver' })).endpoint.url).toBe('https://127.0.0.1/receiver');
  });
});

describe('changing an endpoint', () => {
  it('changes the fields given, audits what changed, and a change to nothing writes nothing', async () => {
    const [first, second] = [await given.service(t.db), await given.service(t.db)];
    const { endpoint } = await create({ serviceIds: [first.id], description: 'before' });
    const changed = expectData(
      await admin(UpdateWebhookEndpointDocument, {
        id: endpoint.id,
        input: { events: ['CASE_ENQUEUED', 'CASE_APPROACHING'], serviceIds: [second.id], approachPosition: 5 },
      }),
    ).updateWebhookEndpoint;
    expect(changed).toMatchObject({
      url: endpoint.url,
      description: 'before',
      events: ['CASE_ENQUEUED', 'CASE_APPROACHING'],
      serviceIds: [second.id],
      approachPosition: 5,
    });
    expect(Date.parse(changed.updatedAt)).toBeGreaterThanOrEqual(Date.parse(endpoint.updatedAt));

    const cleared = expectData(
      await admin(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { description: null, serviceIds: [] } }),
    ).updateWebhookEndpoint;
    expect(cleared).toMatchObject({ description: null, serviceIds: null, approachPosition: 5 });

    const same = expectData(
      await admin(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { approachPosition: 5 } }),
    ).updateWebhookEndpoint;
    expect(same).toEqual(cleared);

    expect((await auditOf(endpoint.id)).slice(1)).toEqual([
      {
        actor: `key:${adminKey.id}`,
        action: 'webhookEndpoint.update',
        changes: [
          { field: 'events', before: '["CASE_CALLED"]', after: '["CASE_ENQUEUED","CASE_APPROACHING"]' },
          { field: 'serviceIds', before: `[${first.id}]`, after: `[${second.id}]` },
          { field: 'approachPosition', before: '2', after: '5' },
        ],
      },
      {
        actor: `key:${adminKey.id}`,
        action: 'webhookEndpoint.update',
        changes: [
          { field: 'description', before: '"before"', after: null },
          { field: 'serviceIds', before: `[${second.id}]`, after: null },
        ],
      },
    ]);
  });

  it.each<[string, UpdateWebhookEndpointInput, { code: string; field: string; rule: string }]>([
    [
      'an unlisted http URL',
      { url: 'http://hooks.example.com/' },
      { code: 'BAD_USER_INPUT', field: 'url', rule: 'https' },
    ],
    ['no events', { events: [] }, { code: 'BAD_USER_INPUT', field: 'events', rule: 'minItems' }],
    [
      'approachPosition 0',
      { approachPosition: 0 },
      { code: 'BAD_USER_INPUT', field: 'approachPosition', rule: 'range' },
    ],
    ['an empty description', { description: '' }, { code: 'BAD_USER_INPUT', field: 'description', rule: 'minLength' }],
    [
      'personal data without the permission',
      { includePersonalData: true },
      { code: 'BAD_USER_INPUT', field: 'includePersonalData', rule: 'personalDataAllowed' },
    ],
    [
      'a service that does not exist',
      { serviceIds: [987_654] },
      { code: 'NOT_FOUND', field: 'serviceIds[0]', rule: 'exists' },
    ],
  ])('refuses %s, changing nothing', async (_what, input, expected) => {
    const { endpoint } = await create();
    const before = await counts();
    expect(
      expectError(await admin(UpdateWebhookEndpointDocument, { id: endpoint.id, input })).extensions,
    ).toMatchObject(expected);
    expect(expectData(await admin(WebhookEndpointDocument, { id: endpoint.id })).webhookEndpoint).toEqual(endpoint);
    expect(await counts()).toEqual(before);
  });

  it('refuses withdrawing the permission while personal data is sent, and takes both together', async () => {
    const { endpoint } = await create({ includePersonalData: true, personalDataAllowed: true });
    expect(
      expectError(
        await admin(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { personalDataAllowed: false } }),
      ).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'includePersonalData', rule: 'personalDataAllowed' });
    const withdrawn = expectData(
      await admin(UpdateWebhookEndpointDocument, {
        id: endpoint.id,
        input: { personalDataAllowed: false, includePersonalData: false },
      }),
    ).updateWebhookEndpoint;
    expect(withdrawn).toMatchObject({ includePersonalData: false, personalDataAllowed: false });
    // Who allowed personal data, and who withdrew it, is in the log.
    expect((await auditOf(endpoint.id)).map((entry) => entry.changes)).toEqual([
      expect.arrayContaining([{ field: 'personalDataAllowed', before: null, after: 'true' }]),
      [
        { field: 'includePersonalData', before: 'true', after: 'false' },
        { field: 'personalDataAllowed', before: 'true', after: 'false' },
      ],
    ]);
  });

  it('withdraws the permission for personal data when the URL changes, unless the change gives it again', async () => {
    const { endpoint } = await create({ includePersonalData: true, personalDataAllowed: true });
    const moved = expectData(
      await admin(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { url: hookUrl() } }),
    ).updateWebhookEndpoint;
    expect(moved).toMatchObject({ includePersonalData: false, personalDataAllowed: false });
    // Asking for it at the new URL without the permission is refused; with it, taken.
    expect(
      expectError(
        await admin(UpdateWebhookEndpointDocument, {
          id: endpoint.id,
          input: { url: hookUrl(), includePersonalData: true },
        }),
      ).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'includePersonalData', rule: 'personalDataAllowed' });
    const allowed = expectData(
      await admin(UpdateWebhookEndpointDocument, {
        id: endpoint.id,
        input: { url: hookUrl(), includePersonalData: true, personalDataAllowed: true },
      }),
    ).updateWebhookEndpoint;
    expect(allowed).toMatchObject({ includePersonalData: true, personalDataAllowed: true });
    // The same URL again changes nothing.
    const same = expectData(
      await admin(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { url: allowed.url } }),
    ).updateWebhookEndpoint;
    expect(same).toMatchObject({ includePersonalData: true, personalDataAllowed: true });
  });

  it('answers NOT_FOUND naming the id for every mutation of an endpoint that does not exist', async () => {
    const id = 987_654;
    const responses = [
      await admin(UpdateWebhookEndpointDocument, { id, input: { approachPosition: 3 } }),
      await admin(RotateWebhookSecretDocument, { id }),
      await admin(DisableWebhookEndpointDocument, { id }),
      await admin(EnableWebhookEndpointDocument, { id }),
      await admin(DeleteWebhookEndpointDocument, { id }),
    ];
    for (const response of responses)
      expect(expectError(response).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id', rule: 'exists' });
    expect(
      expectError(await admin(ReplayWebhookEventsDocument, { endpointId: id, since: new Date().toISOString() }))
        .extensions,
    ).toMatchObject({ code: 'NOT_FOUND', field: 'endpointId' });
    expect(expectError(await admin(WebhookDeliveriesDocument, { endpointId: id })).extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'endpointId',
    });
  });
});

describe('rotating the secret', () => {
  it('answers a new secret once; the previous one is kept, to sign beside it until WEBHOOK_SECRET_OVERLAP_MS has passed', async () => {
    const { endpoint, secret: original } = await create();
    const rotated = expectData(await admin(RotateWebhookSecretDocument, { id: endpoint.id })).rotateWebhookSecret;
    expect(rotated.secret).toMatch(SECRET_SHAPE);
    expect(rotated.secret).not.toBe(original);
    const { secretRotatedAt, previousSecretExpiresAt } = rotated.endpoint;
    expect(secretRotatedAt).not.toBeNull();
    // A day by default, by the database's clock.
    expect(Date.parse(previousSecretExpiresAt ?? '') - Date.parse(secretRotatedAt ?? '')).toBe(DAY_MS);

    const stored = await storedSecrets(endpoint.id);
    expect(stored).toMatchObject({ secret: rotated.secret, previous: original });
    expect(stored.expiresAt?.toISOString()).toBe(previousSecretExpiresAt);

    // Rotated again within the overlap: the secret just replaced is the previous one; the first is gone.
    const again = expectData(await admin(RotateWebhookSecretDocument, { id: endpoint.id })).rotateWebhookSecret;
    const restored = await storedSecrets(endpoint.id);
    expect(restored).toMatchObject({ secret: again.secret, previous: rotated.secret });
    expect(restored.row).not.toContain(original.slice('whsec_'.length));

    const read = await admin(WebhookEndpointDocument, { id: endpoint.id });
    expect(expectData(read).webhookEndpoint).toEqual(again.endpoint);
    for (const secret of [original, rotated.secret, again.secret])
      expect(JSON.stringify(read)).not.toContain(secret.slice('whsec_'.length));
  });
});

describe('disabling, enabling and deleting', () => {
  it('disables and enables an endpoint; doing either twice changes nothing', async () => {
    const { endpoint } = await create();
    const disabled = expectData(
      await admin(DisableWebhookEndpointDocument, { id: endpoint.id }),
    ).disableWebhookEndpoint;
    expect(disabled.status).toBe('DISABLED');
    expect(expectData(await admin(DisableWebhookEndpointDocument, { id: endpoint.id })).disableWebhookEndpoint).toEqual(
      disabled,
    );
    const enabled = expectData(await admin(EnableWebhookEndpointDocument, { id: endpoint.id })).enableWebhookEndpoint;
    expect(enabled.status).toBe('ENABLED');
    expect(expectData(await admin(EnableWebhookEndpointDocument, { id: endpoint.id })).enableWebhookEndpoint).toEqual(
      enabled,
    );
    expect((await auditOf(endpoint.id)).map((entry) => [entry.action, entry.changes])).toEqual([
      ['webhookEndpoint.create', expect.any(Array)],
      ['webhookEndpoint.disable', [{ field: 'status', before: '"ENABLED"', after: '"DISABLED"' }]],
      ['webhookEndpoint.enable', [{ field: 'status', before: '"DISABLED"', after: '"ENABLED"' }]],
    ]);
  });

  it('enables a FAILING endpoint: failingSince cleared, its pending deliveries due at once with a fresh failure clock', async () => {
    const service = await given.service(t.db);
    const { endpoint } = await create({ serviceIds: [service.id] });
    const other = (await create()).endpoint;
    const event = await recordedEvent({ type: 'case.called', serviceId: service.id, caseId: 1, ago: '1 hour' });
    const pending = await delivery(endpoint.id, event, { nextAttemptIn: '1 hour', failedAgo: '25 hours' });
    // Not pending: left alone, whatever its columns say.
    const delivered = await delivery(endpoint.id, event, {
      delivered: true,
      nextAttemptIn: '1 hour',
      failedAgo: '2 hours',
    });
    const elsewhere = await delivery(other.id, event, { nextAttemptIn: '1 hour', failedAgo: '1 hour' });
    await t.sql.query(
      `UPDATE webhook_endpoints SET status = 'FAILING', failing_since = now() - interval '1 hour' WHERE id = $1`,
      [endpoint.id],
    );
    const failing = expectData(await admin(WebhookEndpointDocument, { id: endpoint.id })).webhookEndpoint;
    expect(failing?.status).toBe('FAILING');
    expect(failing?.failingSince).toMatch(/Z$/);

    const enabled = expectData(await admin(EnableWebhookEndpointDocument, { id: endpoint.id })).enableWebhookEndpoint;
    expect(enabled).toMatchObject({ status: 'ENABLED', failingSince: null });
    const { rows } = await t.sql.query<{ id: string; due: boolean; failed: boolean }>(
      `SELECT id::text, next_attempt_at IS NOT NULL AS due, first_failed_at IS NOT NULL AS failed
         FROM webhook_deliveries WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[pending, delivered, elsewhere]],
    );
    expect(rows).toEqual([
      { id: pending, due: false, failed: false },
      // Delivered ones, and other endpoints' deliveries, are left as they were.
      { id: delivered, due: true, failed: true },
      { id: elsewhere, due: true, failed: true },
    ]);
    const audit = await auditOf(endpoint.id);
    expect(audit.at(-1)).toEqual({
      actor: `key:${adminKey.id}`,
      action: 'webhookEndpoint.enable',
      changes: [
        { field: 'status', before: '"FAILING"', after: '"ENABLED"' },
        { field: 'failingSince', before: JSON.stringify(failing?.failingSince), after: null },
      ],
    });
  });

  it('deletes an endpoint with its deliveries and delivery log, keeping the events', async () => {
    const service = await given.service(t.db);
    const { endpoint } = await create({ serviceIds: [service.id], description: 'to delete' });
    const event = await recordedEvent({ type: 'case.called', serviceId: service.id, caseId: 2, ago: '1 minute' });
    const sent = await delivery(endpoint.id, event, { delivered: true });
    await t.sql.query(
      `INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempt, outcome, response_status, latency_ms)
       VALUES ($1, $2, $3, 1, 'DELIVERED', 200, 12)`,
      [sent, endpoint.id, event],
    );

    const deleted = expectData(await admin(DeleteWebhookEndpointDocument, { id: endpoint.id })).deleteWebhookEndpoint;
    expect(deleted).toEqual(endpoint);
    expect(expectData(await admin(WebhookEndpointDocument, { id: endpoint.id })).webhookEndpoint).toBeNull();
    const { rows } = await t.sql.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM webhook_endpoints WHERE id = $1) AS endpoints,
              (SELECT count(*)::int FROM webhook_deliveries WHERE endpoint_id = $1) AS deliveries,
              (SELECT count(*)::int FROM webhook_attempts WHERE endpoint_id = $1) AS attempts,
              (SELECT count(*)::int FROM webhook_events WHERE id = $2) AS events`,
      [endpoint.id, event],
    );
    expect(rows[0]).toEqual({ endpoints: 0, deliveries: 0, attempts: 0, events: 1 });
    expect((await auditOf(endpoint.id)).at(-1)).toEqual({
      actor: `key:${adminKey.id}`,
      action: 'webhookEndpoint.delete',
      changes: [
        { field: 'url', before: JSON.stringify(endpoint.url), after: null },
        { field: 'description', before: '"to delete"', after: null },
        { field: 'events', before: '["CASE_CALLED"]', after: null },
        { field: 'serviceIds', before: `[${service.id}]`, after: null },
        { field: 'approachPosition', before: '2', after: null },
        { field: 'includePersonalData', before: 'false', after: null },
        { field: 'personalDataAllowed', before: 'false', after: null },
        { field: 'status', before: '"ENABLED"', after: null },
      ],
    });
    expect(expectError(await admin(DeleteWebhookEndpointDocument, { id: endpoint.id })).extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'id',
    });
  });
});

describe('the audit log', () => {
  it('records every mutation by its actor, with what changed, and never a secret', async () => {
    const service = await given.service(t.db);
    const { endpoint, secret } = await create({ events: ['CASE_COMPLETED'], serviceIds: [service.id] });
    const id = endpoint.id;
    expectData(await admin(UpdateWebhookEndpointDocument, { id, input: { approachPosition: 4 } }));
    const rotated = expectData(await admin(RotateWebhookSecretDocument, { id })).rotateWebhookSecret;
    expectData(await admin(DisableWebhookEndpointDocument, { id }));
    expectData(await admin(EnableWebhookEndpointDocument, { id }));
    const since = new Date(Date.now() - 60_000).toISOString();
    expectData(await admin(ReplayWebhookEventsDocument, { endpointId: id, since }));
    expectData(await admin(DeleteWebhookEndpointDocument, { id }));

    const audit = await auditOf(id);
    expect(audit.map((entry) => entry.actor)).toEqual(Array<string>(7).fill(`key:${adminKey.id}`));
    expect(audit.map((entry) => entry.action)).toEqual([
      'webhookEndpoint.create',
      'webhookEndpoint.update',
      'webhookEndpoint.rotateSecret',
      'webhookEndpoint.disable',
      'webhookEndpoint.enable',
      'webhookEndpoint.replay',
      'webhookEndpoint.delete',
    ]);
    expect(audit[0]?.changes).toEqual([
      { field: 'url', before: null, after: JSON.stringify(endpoint.url) },
      { field: 'events', before: null, after: '["CASE_COMPLETED"]' },
      { field: 'serviceIds', before: null, after: `[${service.id}]` },
      { field: 'approachPosition', before: null, after: '2' },
      { field: 'includePersonalData', before: null, after: 'false' },
      { field: 'personalDataAllowed', before: null, after: 'false' },
    ]);
    expect(audit[2]?.changes).toEqual([
      { field: 'secretRotatedAt', before: null, after: JSON.stringify(rotated.endpoint.secretRotatedAt) },
      {
        field: 'previousSecretExpiresAt',
        before: null,
        after: JSON.stringify(rotated.endpoint.previousSecretExpiresAt),
      },
    ]);
    expect(audit[5]?.changes).toEqual([
      { field: 'since', before: null, after: JSON.stringify(since) },
      { field: 'queued', before: null, after: '0' },
    ]);
    const text = JSON.stringify(audit);
    for (const each of [secret, rotated.secret]) expect(text).not.toContain(each.slice('whsec_'.length));
  });
});

describe('who may administer endpoints', () => {
  it('refuses every webhook query and mutation to AGENT, SCREEN and KIOSK keys with FORBIDDEN, writing nothing', async () => {
    const { endpoint } = await create();
    const id = endpoint.id;
    const documents = [
      '{ webhookEndpoints { id } }',
      `{ webhookEndpoint(id: ${id}) { id } }`,
      `{ webhookDeliveries(endpointId: ${id}) { id } }`,
      `mutation { createWebhookEndpoint(input: { url: "${hookUrl()}", events: [CASE_CALLED] }) { secret } }`,
      `mutation { updateWebhookEndpoint(id: ${id}, input: { approachPosition: 9 }) { id } }`,
      `mutation { rotateWebhookSecret(id: ${id}) { secret } }`,
      `mutation { disableWebhookEndpoint(id: ${id}) { id } }`,
      `mutation { enableWebhookEndpoint(id: ${id}) { id } }`,
      `mutation { deleteWebhookEndpoint(id: ${id}) { id } }`,
      `mutation { replayWebhookEvents(endpointId: ${id}, since: "${new Date(0).toISOString()}") { queued } }`,
    ];
    const before = await counts();
    for (const role of ['AGENT', 'SCREEN', 'KIOSK'] as const)
      for (const query of documents) {
        const { status, body } = await post(t.gateway.url, query, { authorization: keyOf(role).authorization });
        expect({ role, query, status, codes: (body.errors ?? []).map((error) => error.extensions?.['code']) }).toEqual({
          role,
          query,
          status: 403,
          codes: ['FORBIDDEN'],
        });
        expect(body.data ?? null).toBeNull();
      }
    expect(await counts()).toEqual(before);
    expect(await storedSecrets(id)).toMatchObject({ previous: null });
    // The same documents pass for an ADMIN key (the replay reaches too far back: a rule, not a refusal).
    for (const query of documents) {
      const { status, body } = await post(t.gateway.url, query, { authorization: adminKey.authorization });
      expect({ query, status }).toEqual({ query, status: 200 });
      expect((body.errors ?? []).map((error) => error.extensions?.['code'])).not.toContain('FORBIDDEN');
    }
  });
});

describe('replaying events', () => {
  it('queues again, in order and marked as replays, the routed events since `since` that the endpoint wants', async () => {
    const [wanted, unwanted] = [await given.service(t.db), await given.service(t.db)];
    const { endpoint } = await create({
      events: ['CASE_CALLED', 'CASE_APPROACHING', 'SERVICE_UPDATED'],
      serviceIds: [wanted.id],
      approachPosition: 3,
    });
    const svc = wanted.id;
    const expected = [
      await recordedEvent({ type: 'case.called', serviceId: svc, caseId: 33, ago: '30 minutes' }),
      await recordedEvent({ type: 'case.approaching', serviceId: svc, caseId: 50, threshold: 3, ago: '20 minutes' }),
      await recordedEvent({ type: 'service.updated', serviceId: svc, ago: '10 minutes' }),
    ];
    // Too old, another type, another service, another threshold, not routed yet.
    await recordedEvent({ type: 'case.called', serviceId: svc, caseId: 17, ago: '2 hours' });
    await recordedEvent({ type: 'case.completed', serviceId: svc, caseId: 33, ago: '25 minutes' });
    await recordedEvent({ type: 'case.called', serviceId: unwanted.id, caseId: 40, ago: '25 minutes' });
    await recordedEvent({ type: 'case.approaching', serviceId: svc, caseId: 51, threshold: 2, ago: '15 minutes' });
    await recordedEvent({ type: 'case.called', serviceId: svc, caseId: 34, ago: '5 minutes', dispatched: false });

    const since = new Date(Date.now() - 3_600_000).toISOString();
    const replay = expectData(
      await admin(ReplayWebhookEventsDocument, { endpointId: endpoint.id, since }),
    ).replayWebhookEvents;
    expect(replay).toEqual({ queued: 3, endpoint });
    const queuedRows = async () =>
      (
        await t.sql.query<{ event: string; lane: number; replay: boolean; status: string; attempts: number }>(
          `SELECT event_id::text AS event, lane, replay, status::text, attempts
             FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id`,
          [endpoint.id],
        )
      ).rows;
    const lanes = [33 % 16, 50 % 16, svc % 16];
    const once = expected.map((event, index) => ({
      event,
      lane: lanes[index],
      replay: true,
      status: 'PENDING',
      attempts: 0,
    }));
    expect(await queuedRows()).toEqual(once);

    // Each replay sends them again.
    expect(
      expectData(await admin(ReplayWebhookEventsDocument, { endpointId: endpoint.id, since })).replayWebhookEvents
        .queued,
    ).toBe(3);
    expect(await queuedRows()).toEqual([...once, ...once]);
  });

  it('refuses `since` beyond WEBHOOK_RETENTION_DAYS, writing nothing', async () => {
    const { endpoint } = await create();
    const before = await counts();
    const since = new Date(Date.now() - 31 * DAY_MS).toISOString();
    const error = expectError(await admin(ReplayWebhookEventsDocument, { endpointId: endpoint.id, since }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'since', rule: 'retention' });
    expect(await counts()).toEqual(before);
    const inside = new Date(Date.now() - 29 * DAY_MS).toISOString();
    expectData(await admin(ReplayWebhookEventsDocument, { endpointId: endpoint.id, since: inside }));
  });

  it('refuses a `since` that names no real time (February 30), rather than replaying from March 2', async () => {
    const { endpoint } = await create();
    const before = await counts();
    const response = await admin(ReplayWebhookEventsDocument, {
      endpointId: endpoint.id,
      since: '2026-02-30T09:30:00Z',
    });
    // A variable that does not coerce fails the whole request before it runs: HTTP 400, no data.
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(response.errors?.[0]?.message).toMatch(/\$since.*a day the month has/);
    // Written into the query instead: the error quotes the value and says where it is.
    const literal = await post(
      t.gateway.url,
      `mutation { replayWebhookEvents(endpointId: ${endpoint.id}, since: "2026-02-30T09:30:00Z") { queued } }`,
      { authorization: adminKey.authorization },
    );
    expect(literal.status).toBe(400);
    expect(literal.body.errors).toHaveLength(1);
    const [wrapped] = literal.body.errors ?? [];
    expect(wrapped?.message).toMatch(
      /^Expected value of type "DateTime!", found "2026-02-30T09:30:00Z"; .*a day the month has/,
    );
    expect(wrapped?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(wrapped)).toMatch(/"locations":\[\{"line":1,"column":\d+\}\]/);
    expect(await counts()).toEqual(before);
  });

  it('refuses more than 100,000 events with BAD_USER_INPUT naming the rule, and takes 100,000', async () => {
    const service = await given.service(t.db);
    const { endpoint } = await create({ serviceIds: [service.id] });
    await t.sql.query(
      `INSERT INTO webhook_events (type, service_id, case_id, occurred_at, data, dispatched_at)
       SELECT 'case.called', $1, n, now() - interval '1 minute', '{}'::jsonb, now() FROM generate_series(1, 100001) n`,
      [service.id],
    );
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const before = await counts();
    const error = expectError(await admin(ReplayWebhookEventsDocument, { endpointId: endpoint.id, since }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'since', rule: 'maxEvents' });
    expect(error.message).toMatch(/^since: .*100,000/);
    expect(await counts()).toEqual(before);

    await t.sql.query(
      `DELETE FROM webhook_events WHERE id = (SELECT max(id) FROM webhook_events WHERE service_id = $1)`,
      [service.id],
    );
    const replay = expectData(
      await admin(ReplayWebhookEventsDocument, { endpointId: endpoint.id, since }),
    ).replayWebhookEvents;
    expect(replay.queued).toBe(100_000);
  }, 60_000);
});

describe('the delivery log', () => {
  it('pages an endpoint’s attempts newest first, with their event and delivery', async () => {
    const service = await given.service(t.db);
    const { endpoint } = await create({ serviceIds: [service.id], events: ['CASE_CALLED', 'SERVICE_UPDATED'] });
    const other = (await create()).endpoint;
    const called = await recordedEvent({ type: 'case.called', serviceId: service.id, caseId: 77, ago: '3 minutes' });
    const updated = await recordedEvent({ type: 'service.updated', serviceId: service.id, ago: '2 minutes' });
    const done = await delivery(endpoint.id, called, { delivered: true });
    await t.sql.query(`UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE id = $1`, [done]);
    const retrying = await delivery(endpoint.id, updated, { nextAttemptIn: '5 minutes', failedAgo: '1 minute' });
    await t.sql.query(`UPDATE webhook_deliveries SET replay = true WHERE id = $1`, [retrying]);
    /** When each attempt was, as the API writes times. */
    const attemptTimes = new Map<string, string>();
    const attempt = async (
      deliveryId: string,
      endpointId: number,
      eventId: string,
      number: number,
      outcome: string,
      status: number | null,
    ): Promise<string> => {
      const { rows } = await t.sql.query<{ id: string; at: Date }>(
        `INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempt, at, outcome, response_status, latency_ms)
         VALUES ($1, $2, $3, $4::smallint, now() - interval '1 minute' + $4::smallint * interval '1 second',
                 $5::webhook_attempt_outcome, $6, $4::smallint * 100)
         RETURNING id::text, at`,
        [deliveryId, endpointId, eventId, number, outcome, status],
      );
      const [row] = rows;
      if (!row) throw new Error('no attempt row');
      attemptTimes.set(row.id, row.at.toISOString());
      return row.id;
    };
    const ids = [
      await attempt(done, endpoint.id, called, 1, 'TIMEOUT', null),
      await attempt(done, endpoint.id, called, 2, 'DELIVERED', 204),
      await attempt(retrying, endpoint.id, updated, 1, 'HTTP_ERROR', 503),
      await attempt(retrying, endpoint.id, updated, 2, 'REDIRECT_REFUSED', 302),
      await attempt(retrying, endpoint.id, updated, 3, 'ADDRESS_REFUSED', null),
    ];
    const otherEvent = await recordedEvent({ type: 'case.called', serviceId: service.id, caseId: 78, ago: '1 minute' });
    await attempt(await delivery(other.id, otherEvent), other.id, otherEvent, 1, 'NETWORK_ERROR', null);

    const { rows } = await t.sql.query<{ next: Date }>(
      `SELECT next_attempt_at AS next FROM webhook_deliveries WHERE id = $1`,
      [retrying],
    );
    const nextAttemptAt = rows[0]?.next.toISOString() ?? '';
    const all = expectData(await admin(WebhookDeliveriesDocument, { endpointId: endpoint.id })).webhookDeliveries;
    expect(all.map((entry) => entry.id)).toEqual([...ids].reverse());
    expect(all[0]).toEqual({
      id: ids[4],
      eventId: `evt_${updated}`,
      eventType: 'SERVICE_UPDATED',
      serviceId: service.id,
      caseId: null,
      attempt: 3,
      at: attemptTimes.get(ids[4] ?? ''),
      outcome: 'ADDRESS_REFUSED',
      responseStatus: null,
      latencyMs: 300,
      replay: true,
      nextAttemptAt,
    });
    expect(all[3]).toEqual({
      id: ids[1],
      eventId: `evt_${called}`,
      eventType: 'CASE_CALLED',
      serviceId: service.id,
      caseId: 77,
      attempt: 2,
      at: attemptTimes.get(ids[1] ?? ''),
      outcome: 'DELIVERED',
      responseStatus: 204,
      latencyMs: 200,
      replay: false,
      nextAttemptAt: null,
    });

    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = expectData(
        await admin(WebhookDeliveriesDocument, { endpointId: endpoint.id, first: 2, after }),
      ).webhookDeliveries;
      pages.push(page.map((entry) => entry.id));
      if (page.length < 2) break;
      after = page.at(-1)?.id;
    }
    expect(pages).toEqual([[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]);

    for (const [variables, rule] of [
      [{ first: 0 }, 'range'],
      [{ first: 101 }, 'range'],
      [{ after: 'newest' }, 'cursor'],
      [{ after: '99999999999999999999' }, 'cursor'],
    ] as const)
      expect(
        expectError(await admin(WebhookDeliveriesDocument, { endpointId: endpoint.id, ...variables })).extensions,
      ).toMatchObject({ code: 'BAD_USER_INPUT', field: Object.keys(variables)[0], rule });
  });
});
