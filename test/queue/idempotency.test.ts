// enqueueCase with an idempotency key: a retry returns the first case, a
// different request with the same key is refused, racing duplicates make one case.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { rowCounts, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;
let serviceId: number;

beforeAll(async () => {
  t = await startTestGateway();
  serviceId = (await given.service(t.db, { name: 'Retries', queueCode: 'R' })).id;
});

afterAll(async () => {
  await t.stop();
});

const enqueue = (idempotencyKey: string, subject = 'retry me') =>
  t.request(EnqueueCaseDocument, {
    input: {
      serviceId,
      subject,
      idempotencyKey,
      customProperties: [
        { key: 'b', value: '1' },
        { key: 'a', value: '2' },
      ],
    },
  });

describe('idempotency keys', () => {
  it('returns the original case for a retry, creating nothing', async () => {
    const key = randomUUID();
    const first = expectData(await enqueue(key)).enqueueCase;
    const before = await rowCounts(t.sql);
    const again = expectData(await enqueue(key)).enqueueCase;
    expect(again).toEqual({ ...first, position: again.position, estimatedWaitSeconds: again.estimatedWaitSeconds });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('refuses the same key for a different request', async () => {
    const key = randomUUID();
    expectData(await enqueue(key, 'one thing'));
    const before = await rowCounts(t.sql);
    const error = expectError(await enqueue(key, 'another thing'));
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', field: 'idempotencyKey' });
    expect(await rowCounts(t.sql)).toEqual(before);
  });

  it('makes one case of 20 concurrent duplicates', async () => {
    const key = randomUUID();
    const before = await rowCounts(t.sql);
    const responses = await Promise.all(Array.from({ length: 20 }, () => enqueue(key)));
    const caseIds = new Set(responses.map((response) => expectData(response).enqueueCase.caseId));
    expect(caseIds.size).toBe(1);
    expect(await rowCounts(t.sql)).toEqual({ cases: before.cases + 1, properties: before.properties + 2 });
  });

  it('keeps requests without a key independent', async () => {
    const before = await rowCounts(t.sql);
    const input = { serviceId, subject: 'no key' };
    const [a, b] = await Promise.all([
      t.request(EnqueueCaseDocument, { input }),
      t.request(EnqueueCaseDocument, { input }),
    ]);
    expect(expectData(a).enqueueCase.caseId).not.toBe(expectData(b).enqueueCase.caseId);
    expect((await rowCounts(t.sql)).cases).toBe(before.cases + 2);
  });
});

describe('a retry after what the request named changed', () => {
  // Each case: what the first request names, what is then deactivated, and
  // the rule a new request naming it breaks.
  const changes = {
    classification: async () => {
      const { id, code } = await given.classification(t.db);
      return {
        input: { classificationCode: code },
        deactivate: () => t.db.classification.update({ where: { id }, data: { active: false } }),
        field: 'classificationCode',
      };
    },
    procedure: async () => {
      const { id, extRef } = await given.procedure(t.db);
      return {
        input: { procedureExtRef: extRef },
        deactivate: () => t.db.procedure.update({ where: { id }, data: { active: false } }),
        field: 'procedureExtRef',
      };
    },
    'procedure option': async () => {
      const { extRef } = await given.procedure(t.db, { options: { create: [{ extRef: 'late', name: 'Late' }] } });
      return {
        input: { procedureExtRef: extRef, procedureOptionExtRef: 'late' },
        deactivate: () =>
          t.db.procedureOption.updateMany({ where: { procedure: { extRef } }, data: { active: false } }),
        field: 'procedureOptionExtRef',
      };
    },
    customer: async () => {
      const { id } = await given.customer(t.db);
      return {
        input: { customerId: id },
        deactivate: () => t.db.customer.update({ where: { id }, data: { active: false } }),
        field: 'customerId',
      };
    },
    service: async () => {
      const { id } = await given.service(t.db);
      return {
        input: { serviceId: id },
        deactivate: () => t.db.service.update({ where: { id }, data: { active: false } }),
        field: 'serviceId',
      };
    },
  };

  it.each(Object.keys(changes) as (keyof typeof changes)[])(
    'returns the first case after its %s was deactivated, and refuses only new requests',
    async (name) => {
      const change = await changes[name]();
      const input = { serviceId, subject: `names a ${name}`, ...change.input };
      const key = randomUUID();
      const first = expectData(await t.request(EnqueueCaseDocument, { input: { ...input, idempotencyKey: key } }));
      await change.deactivate();
      const before = await rowCounts(t.sql);
      const again = expectData(await t.request(EnqueueCaseDocument, { input: { ...input, idempotencyKey: key } }));
      expect(again.enqueueCase.caseId).toBe(first.enqueueCase.caseId);
      expect(again.enqueueCase.ticket).toBe(first.enqueueCase.ticket);

      // The key used for something else is still a conflict, not the rule.
      const other = expectError(
        await t.request(EnqueueCaseDocument, { input: { ...input, subject: 'else', idempotencyKey: key } }),
      );
      expect(other.extensions).toMatchObject({ code: 'CONFLICT', field: 'idempotencyKey' });
      // A new key (or none) meets the rule.
      for (const idempotencyKey of [randomUUID(), null]) {
        const refused = expectError(await t.request(EnqueueCaseDocument, { input: { ...input, idempotencyKey } }));
        expect(refused.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: change.field, rule: 'active' });
      }
      expect(await rowCounts(t.sql)).toEqual(before);
    },
  );
});
