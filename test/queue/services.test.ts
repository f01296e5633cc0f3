// createService, service(id) and services over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateServiceDocument, ServiceDocument, ServicesDocument } from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

const serviceCount = async (): Promise<number> =>
  (await t.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM services')).rows[0]!.n;

describe('services', () => {
  it('creates a service and reads it back by id and in the list', async () => {
    const { createService: created } = expectData(
      await t.request(CreateServiceDocument, { input: { name: 'Enrolments', extRef: 'ENR', queueCode: 'A1' } }),
    );
    expect(created).toMatchObject({ name: 'Enrolments', extRef: 'ENR', queueCode: 'A1' });
    const { service } = expectData(await t.request(ServiceDocument, { id: created.id }));
    expect(service).toEqual(created);
    const { services } = expectData(await t.request(ServicesDocument, {}));
    expect(services).toContainEqual(created);
  });

  it('answers null for an id that names no service', async () => {
    const { service } = expectData(await t.request(ServiceDocument, { id: 987_654 }));
    expect(service).toBeNull();
  });

  it('answers CONFLICT for a duplicate external reference, writing nothing', async () => {
    await given.service(t.db, { name: 'First', extRef: 'DUP' });
    const before = await serviceCount();
    const error = expectError(await t.request(CreateServiceDocument, { input: { name: 'Second', extRef: 'DUP' } }));
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'extRef', rule: 'unique' });
    expect(await serviceCount()).toBe(before);
  });

  it('lets only one of two racing creations with one external reference win', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        t.request(CreateServiceDocument, { input: { name: `Racer ${index}`, extRef: 'RACE' } }),
      ),
    );
    expect(attempts.filter((response) => response.data?.createService).length).toBe(1);
    for (const response of attempts.filter((each) => each.errors))
      expect(expectError(response).extensions.code).toBe('CONFLICT');
  });

  it.each([
    [{ name: '   ' }, 'name', 'notBlank'],
    [{ name: '' }, 'name', 'minLength'],
    [{ name: 'n'.repeat(101) }, 'name', 'maxLength'],
    [{ name: 'ok', queueCode: 'a' }, 'queueCode', 'pattern'],
    [{ name: 'ok', queueCode: 'ABCDEFGHIJK' }, 'queueCode', 'maxLength'],
    [{ name: 'ok', extRef: '' }, 'extRef', 'minLength'],
  ])('rejects %j: %s breaks %s', async (input, field, rule) => {
    const before = await serviceCount();
    const error = expectError(await t.request(CreateServiceDocument, { input }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field, rule });
    expect(await serviceCount()).toBe(before);
  });
});
