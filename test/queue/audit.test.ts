// The audit log: every change to services and reference data writes one
// entry (who, when, what changed) in the same transaction as the change; a
// change that changes nothing, or fails, writes none; customers' personal
// data never enters it. Read back, newest first, through Query.auditLog.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { GraphQLObjectType, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/queue/actor.js';
import { createSchema } from '../../src/graphql/schema.js';
import { listAudit, type AuditLogEntry } from '../../src/queue/audit.js';
import { AUDITED_ENTITIES } from '../../src/queue/audited-entities.js';
import * as referenceData from '../../src/queue/reference-data.js';
import * as services from '../../src/queue/services.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

const admin: Actor = { id: 'user:admin-1', agent: 'Admin One', services: null };
const other: Actor = { id: 'key:ops0001', agent: null, services: null };

let made = 0;
/** A value no other test uses. */
const unique = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${(made += 1)}`;

/** The entries about one thing, oldest first. */
async function entriesOf(entity: string, entityId: string): Promise<AuditLogEntry[]> {
  return (await listAudit(t.db, { entity, entityId, first: 100 }, admin)).reverse();
}

const auditRows = async (): Promise<number> => t.db.auditEntry.count();

describe('services', () => {
  it('records a creation with every field set, and an update with the fields that changed', async () => {
    const extRef = unique('SVC');
    const service = await services.createService(t.db, { name: 'Enrolments', extRef, queueCode: 'E' }, admin);
    await services.updateService(t.db, service.id, { name: 'Enrolment desk', active: false, queueCode: 'E' }, other);

    const [created, updated, ...more] = await entriesOf('service', String(service.id));
    expect(more).toEqual([]);
    expect(created).toMatchObject({
      actor: 'user:admin-1',
      action: 'service.create',
      entity: 'service',
      entityId: String(service.id),
      changes: [
        { field: 'name', before: null, after: '"Enrolments"' },
        { field: 'extRef', before: null, after: JSON.stringify(extRef) },
        { field: 'queueCode', before: null, after: '"E"' },
        { field: 'timeZone', before: null, after: '"UTC"' },
        { field: 'active', before: null, after: 'true' },
      ],
    });
    expect(created?.at).toBeInstanceOf(Date);
    expect(updated).toMatchObject({
      actor: 'key:ops0001',
      action: 'service.update',
      changes: [
        { field: 'name', before: '"Enrolments"', after: '"Enrolment desk"' },
        { field: 'active', before: 'true', after: 'false' },
      ],
    });
  });

  it('records nothing for an update that changes nothing', async () => {
    const service = await services.createService(t.db, { name: 'Unchanged', queueCode: 'U' }, admin);
    const before = await auditRows();
    await services.updateService(t.db, service.id, { name: 'Unchanged', queueCode: 'U', active: true }, admin);
    await services.updateService(t.db, service.id, {}, admin);
    expect(await auditRows()).toBe(before);
    expect(await entriesOf('service', String(service.id))).toHaveLength(1);
  });

  it('records nothing for a change that fails, and makes none', async () => {
    const taken = unique('TAKEN');
    const holder = await services.createService(t.db, { name: 'Holder', extRef: taken }, admin);
    const mover = await services.createService(t.db, { name: 'Mover' }, admin);
    const before = await auditRows();
    await expect(services.createService(t.db, { name: 'Copy', extRef: taken }, admin)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(services.updateService(t.db, mover.id, { name: 'Moved', extRef: taken }, admin)).rejects.toMatchObject(
      { code: 'CONFLICT', issue: { field: 'extRef' } },
    );
    await expect(services.updateService(t.db, 2_000_000_000, { name: 'Nobody' }, admin)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await auditRows()).toBe(before);
    expect((await t.db.service.findUniqueOrThrow({ where: { id: mover.id } })).name).toBe('Mover');
    expect(await entriesOf('service', String(holder.id))).toHaveLength(1);
  });
});

describe('customers', () => {
  it('records that their name and reference changed, never what they are', async () => {
    const name = unique('Marker Name');
    const extRef = unique('+358-40-marker');
    const customer = await referenceData.createCustomer(t.db, { name, extRef }, admin);
    const renamed = unique('Other Marker Name');
    await referenceData.updateCustomer(t.db, customer.id, { name: renamed, active: false }, admin);
    // Sending the same values again changes nothing, and is not recorded.
    await referenceData.updateCustomer(t.db, customer.id, { name: renamed, extRef, active: false }, admin);

    expect(await entriesOf('customer', String(customer.id))).toMatchObject([
      {
        action: 'customer.create',
        changes: [
          { field: 'name', before: null, after: null },
          { field: 'extRef', before: null, after: null },
          { field: 'active', before: null, after: 'true' },
        ],
      },
      {
        action: 'customer.update',
        changes: [
          { field: 'name', before: null, after: null },
          { field: 'active', before: 'true', after: 'false' },
        ],
      },
    ]);
    const { rows } = await t.sql.query<{ found: number }>(
      `SELECT count(*)::int AS found FROM audit_log WHERE changes::text LIKE '%Marker%' OR changes::text LIKE '%marker%'`,
    );
    expect(rows[0]?.found).toBe(0);
  });

  it('records nothing when a customer reference is taken', async () => {
    const extRef = unique('cust');
    await referenceData.createCustomer(t.db, { extRef }, admin);
    const before = await auditRows();
    await expect(referenceData.createCustomer(t.db, { extRef }, admin)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await auditRows()).toBe(before);
  });
});

describe('classifications and procedures', () => {
  it('records a classification by its code, with its services', async () => {
    const [one, two] = await Promise.all([
      services.createService(t.db, { name: 'One' }, admin),
      services.createService(t.db, { name: 'Two' }, admin),
    ]);
    // Created at once, so either may have the lower id; the log lists ids in ascending order.
    const both = [one.id, two.id].sort((a, b) => a - b);
    const code = unique('CLS');
    await referenceData.createClassification(t.db, { code, name: 'General', serviceIds: [two.id, one.id] }, admin);
    await referenceData.updateClassification(t.db, code, { serviceIds: [one.id] }, other);
    await referenceData.updateClassification(t.db, code, { serviceIds: [one.id], name: 'General' }, other);

    expect(await entriesOf('classification', code)).toMatchObject([
      {
        actor: 'user:admin-1',
        action: 'classification.create',
        entityId: code,
        changes: [
          { field: 'code', before: null, after: JSON.stringify(code) },
          { field: 'name', before: null, after: '"General"' },
          { field: 'active', before: null, after: 'true' },
          { field: 'serviceIds', before: null, after: JSON.stringify(both) },
        ],
      },
      {
        actor: 'key:ops0001',
        action: 'classification.update',
        changes: [
          {
            field: 'serviceIds',
            before: JSON.stringify(both),
            after: JSON.stringify([one.id]),
          },
        ],
      },
    ]);
    const before = await auditRows();
    await expect(
      referenceData.updateClassification(t.db, code, { serviceIds: [2_000_000_000] }, admin),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(referenceData.createClassification(t.db, { code, name: 'Again' }, admin)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await auditRows()).toBe(before);
  });

  it('records a procedure by its external reference: creation, changes and added options', async () => {
    const extRef = unique('PROC');
    await referenceData.createProcedure(
      t.db,
      { extRef, name: 'Transcript', options: [{ extRef: 'paper', name: 'On paper' }] },
      admin,
    );
    await referenceData.updateProcedure(t.db, extRef, { active: false }, admin);
    await referenceData.updateProcedure(t.db, extRef, { active: false, name: 'Transcript' }, admin);
    await referenceData.addProcedureOption(t.db, extRef, { extRef: 'email', name: 'By e-mail' }, admin);
    const before = await auditRows();
    await expect(
      referenceData.addProcedureOption(t.db, extRef, { extRef: 'email', name: 'Twice' }, admin),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await auditRows()).toBe(before);

    expect(await entriesOf('procedure', extRef)).toMatchObject([
      {
        action: 'procedure.create',
        changes: [
          { field: 'extRef', before: null, after: JSON.stringify(extRef) },
          { field: 'name', before: null, after: '"Transcript"' },
          { field: 'active', before: null, after: 'true' },
          { field: 'options', before: null, after: JSON.stringify([{ extRef: 'paper', name: 'On paper' }]) },
        ],
      },
      { action: 'procedure.update', changes: [{ field: 'active', before: 'true', after: 'false' }] },
      {
        action: 'procedure.addOption',
        changes: [{ field: 'options', before: null, after: JSON.stringify({ extRef: 'email', name: 'By e-mail' }) }],
      },
    ]);
  });
});

describe('Query.auditLog', () => {
  type Entry = {
    id: string;
    at: string;
    actor: string;
    action: string;
    entity: string;
    entityId: string;
    changes: { field: string; before: string | null; after: string | null }[];
  };
  type Variables = { first?: number; before?: string; entity?: string; entityId?: string };
  const AuditLog = parse(`
    query AuditLog($first: Int, $before: String, $entity: String, $entityId: String) {
      auditLog(first: $first, before: $before, entity: $entity, entityId: $entityId) {
        id at actor action entity entityId changes { field before after }
      }
    }`) as TypedDocumentNode<{ auditLog: Entry[] }, Variables>;
  const UpdateService = parse(
    'mutation ($id: Int!, $name: String!) { updateService(id: $id, input: { name: $name }) { id } }',
  ) as TypedDocumentNode<{ updateService: { id: number } }, { id: number; name: string }>;

  it('pages newest first, by the id of the last entry, and filters by entity and id', async () => {
    const service = await services.createService(t.db, { name: 'Paged 0' }, admin);
    for (let round = 1; round <= 4; round += 1)
      expectData(await t.request(UpdateService, { id: service.id, name: `Paged ${round}` }));
    const entityId = String(service.id);

    const firstPage = expectData(await t.request(AuditLog, { first: 2, entity: 'service', entityId })).auditLog;
    expect(firstPage.map((entry) => entry.changes[0]?.after)).toEqual(['"Paged 4"', '"Paged 3"']);
    expect(firstPage[0]).toMatchObject({ actor: 'open', action: 'service.update', entity: 'service', entityId });
    expect(Number.isNaN(Date.parse(firstPage[0]?.at ?? ''))).toBe(false);
    const rest = expectData(
      await t.request(AuditLog, { first: 10, entity: 'service', entityId, before: firstPage[1]?.id ?? '' }),
    ).auditLog;
    expect(rest.map((entry) => entry.action)).toEqual(['service.update', 'service.update', 'service.create']);
    expect(rest[2]?.actor).toBe('user:admin-1');

    // Unfiltered, page by page: every entry once, ids falling.
    const all = await t.sql.query<{ id: string }>('SELECT a.id::text AS id FROM audit_log a ORDER BY a.id DESC');
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = expectData(await t.request(AuditLog, { first: 3, ...(before ? { before } : {}) })).auditLog;
      seen.push(...page.map((entry) => entry.id));
      if (page.length < 3) break;
      before = page.at(-1)?.id;
    }
    expect(seen).toEqual(all.rows.map((row) => row.id));

    const onlyServices = expectData(await t.request(AuditLog, { first: 100, entity: 'service' })).auditLog;
    expect(onlyServices.length).toBeGreaterThanOrEqual(5);
    expect(new Set(onlyServices.map((entry) => entry.entity))).toEqual(new Set(['service']));
  });

  it('defaults to 50 entries and refuses pages it cannot give', async () => {
    const service = await services.createService(t.db, { name: 'Many 0' }, admin);
    for (let round = 1; round <= 55; round += 1)
      await services.updateService(t.db, service.id, { name: `Many ${round}` }, admin);
    expect(expectData(await t.request(AuditLog, {})).auditLog).toHaveLength(50);

    const refused: [Variables, string, string][] = [
      [{ first: 0 }, 'first', 'range'],
      [{ first: 101 }, 'first', 'range'],
      [{ before: 'abc' }, 'before', 'cursor'],
      [{ before: '99999999999999999999' }, 'before', 'cursor'],
      [{ entity: 'nothing' }, 'entity', 'oneOf'],
      [{ entityId: '1' }, 'entity', 'required'],
    ];
    for (const [variables, field, rule] of refused)
      expect(expectError(await t.request(AuditLog, variables)).extensions, JSON.stringify(variables)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
        rule,
      });
  });

  it('names in the contract every kind of thing the log records, and no other', () => {
    const { schema } = createSchema();
    const kinds = (description: string | null | undefined): string[] =>
      [...(description ?? '').matchAll(/`(\w+)`/g)].map(([, word]) => word ?? '').sort();
    const filter = schema
      .getQueryType()
      ?.getFields()
      ['auditLog']?.args.find((arg) => arg.name === 'entity');
    const entryType = schema.getType('AuditEntry');
    const field = entryType instanceof GraphQLObjectType ? entryType.getFields()['entity'] : undefined;
    expect(kinds(filter?.description)).toEqual([...AUDITED_ENTITIES].sort());
    expect(kinds(field?.description)).toEqual([...AUDITED_ENTITIES].sort());
  });
});
