// Service limits over real edges (GraphQL over HTTP and WebSocket, REST), with
// a person's token and API keys limited to one service: to such a credential,
// another service and its cases are not there. Every operation that names a
// case or a service answers one of another service exactly as an id that
// names nothing (status, code, message, field, path), so no answer tells
// whether it exists; enqueue checks the limit before any rule that reads what
// a service uses; a kiosk naming a customer gets one answer, whoever it names.
// Administration refuses a limited credential in the domain itself. Every
// FORBIDDEN is HTTP 403, over GraphQL as over REST, unless a root field has a value.
import { HeaderMap, type GraphQLResponse } from '@apollo/server';
import type { FormattedExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/generated/prisma/client.js';
import { FollowCaseDocument, FollowQueueDocument } from '../../src/generated/operations/graphql.js';
import { markErrorStatus } from '../../src/graphql/error-status.js';
import { DATABASE_UNAVAILABLE } from '../../src/queue/error-codes.js';
import { createSchema } from '../../src/graphql/schema.js';
import type { Actor } from '../../src/queue/actor.js';
import { CUSTOMER_READERS } from '../../src/queue/actor-rules.js';
import { listAudit } from '../../src/queue/audit.js';
import * as referenceData from '../../src/queue/reference-data.js';
import * as services from '../../src/queue/services.js';
import { issueKey, post, type TestKey } from '../helpers/credentials.js';
import * as given from '../helpers/given.js';
import { liveClient, type LiveClient } from '../helpers/live-client.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { startIdentityProvider, type TestIdentityProvider } from '../helpers/tokens.js';

/** An id no row has. */
const MISSING = 2_000_000_000;

let idp: TestIdentityProvider;
let t: TestGateway;
let origin: string;
let mine: Service;
let other: Service;
/** `Authorization` of an agent's token limited to `mine`, and of one for every service. */
let limitedAgent: string;
let agent: string;
/** A kiosk key limited to `mine`, and one for every service. */
let limitedKiosk: TestKey;
let kiosk: TestKey;
let stamp: string;

beforeAll(async () => {
  idp = await startIdentityProvider();
  t = await startTestGateway({}, { ...idp.env, AUTH_MODE: 'required' });
  origin = new URL(t.gateway.url).origin;
  stamp = Date.now().toString(36);
  mine = await given.service(t.db, { extRef: `scope-mine-${stamp}`, queueCode: 'M' });
  other = await given.service(t.db, { extRef: `scope-other-${stamp}`, queueCode: 'O' });
  limitedAgent = `Bearer ${await idp.mint({ sub: 'u-limited', name: 'Limited Desk', roles: ['agent'], services: [mine.id] })}`;
  agent = `Bearer ${await idp.mint({ sub: 'u-every', name: 'Every Desk', roles: ['agent'] })}`;
  limitedKiosk = await issueKey(t.db, 'KIOSK', [mine.id]);
  kiosk = await issueKey(t.db, 'KIOSK');
});

afterAll(async () => {
  await t.stop();
  await idp.close();
});

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An answer as text, with what it was asked about (an id, a reference)
 * replaced in its strings (messages): answers about two ids then compare
 * byte for byte, numbers such as error locations included.
 */
function shown(answer: Answer, asked: number | string): string {
  const pattern = new RegExp(`(?<![\\w-])${escaped(String(asked))}(?![\\w-])`, 'g');
  return JSON.stringify(answer, (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(pattern, '<asked>') : value,
  );
}

async function graphql(authorization: string, query: string): Promise<Answer> {
  const { status, body } = await post(t.gateway.url, query, { authorization });
  return { status, body };
}

async function rest(authorization: string, method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, body: JSON.parse(await response.text()) as unknown };
}

/** The first thing a subscription gets: a result, or how it ended. */
async function firstOf(subscription: ReturnType<LiveClient['subscribe']>): Promise<unknown> {
  try {
    return await subscription.next(10_000);
  } catch (error) {
    return { ended: error instanceof Error ? error.message : String(error) };
  } finally {
    subscription.stop();
  }
}

const codesOf = (answer: Answer): unknown[] => {
  const { errors } = answer.body as { errors?: { extensions?: { code?: unknown } }[] };
  return (errors ?? []).map((error) => error.extensions?.code);
};

const casesIn = (serviceId: number): Promise<number> => t.db.case.count({ where: { serviceId } });

describe('a case of another service answers as a missing case', () => {
  const operations: [string, (id: number) => string][] = [
    ['callCase', (id) => `mutation { callCase(input: { caseId: ${id} }) { id status } }`],
    ['cancelCase', (id) => `mutation { cancelCase(input: { caseId: ${id}, reason: "gone" }) { id status } }`],
  ];

  it.each(operations)('%s, for a waiting case', async (_name, document) => {
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });
    const refused = await graphql(limitedAgent, document(foreign.id));
    expect(shown(refused, foreign.id)).toBe(shown(await graphql(limitedAgent, document(MISSING)), MISSING));
    // And as a credential for every service is told of a missing case.
    expect(shown(refused, foreign.id)).toBe(shown(await graphql(agent, document(MISSING)), MISSING));
    expect(codesOf(refused)).toEqual(['NOT_FOUND']);
    expect((await t.db.case.findUniqueOrThrow({ where: { id: foreign.id } })).status).toBe('WAITING');
  });

  const inService: [string, (id: number) => string][] = [
    ['completeCase', (id) => `mutation { completeCase(input: { caseId: ${id} }) { id status } }`],
    [
      'returnToQueue',
      (id) => `mutation { returnToQueue(input: { caseId: ${id}, placement: FRONT, reason: "again" }) { id status } }`,
    ],
    // Not allowed from its status either: still not there, not ILLEGAL_TRANSITION.
    ['callCase', (id) => `mutation { callCase(input: { caseId: ${id} }) { id status } }`],
  ];

  it.each(inService)('%s, for a case in service', async (_name, document) => {
    const foreign = await given.caseIn(t.db, 'IN_SERVICE', { serviceId: other.id });
    const refused = await graphql(limitedAgent, document(foreign.id));
    expect(shown(refused, foreign.id)).toBe(shown(await graphql(limitedAgent, document(MISSING)), MISSING));
    expect(codesOf(refused)).toEqual(['NOT_FOUND']);
    expect((await t.db.case.findUniqueOrThrow({ where: { id: foreign.id } })).status).toBe('IN_SERVICE');
  });

  it('Query.case: null, as for a missing case', async () => {
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });
    const document = (id: number): string => `query { case(id: ${id}) { id ticket status } }`;
    const read = await graphql(limitedAgent, document(foreign.id));
    expect(read).toEqual({ status: 200, body: { data: { case: null } } });
    expect(shown(read, foreign.id)).toBe(shown(await graphql(limitedAgent, document(MISSING)), MISSING));
    // Its own cases it reads.
    const own = await given.waitingCase(t.db, { serviceId: mine.id });
    expect((await graphql(limitedAgent, document(own.id))).body).toEqual({
      data: { case: { id: own.id, ticket: own.ticket, status: 'WAITING' } },
    });
  });

  it('REST GET /api/Cases/{id}: 404, as for a missing case', async () => {
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });
    const read = await rest(limitedAgent, 'GET', `/api/Cases/${foreign.id}`);
    expect(read.status).toBe(404);
    expect(shown(read, foreign.id)).toBe(shown(await rest(limitedAgent, 'GET', `/api/Cases/${MISSING}`), MISSING));
    expect(shown(read, foreign.id)).toBe(shown(await rest(agent, 'GET', `/api/Cases/${MISSING}`), MISSING));
  });

  it('Subscription.caseChanged: the missing case’s answer, and nothing followed', async () => {
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });
    const live = liveClient(t.gateway.url, { authorization: limitedAgent });
    const everyService = liveClient(t.gateway.url, { authorization: agent });
    try {
      const refused = await firstOf(live.subscribe(FollowCaseDocument, { caseId: foreign.id }));
      const missing = await firstOf(live.subscribe(FollowCaseDocument, { caseId: MISSING }));
      expect(shown({ status: 0, body: refused }, foreign.id)).toBe(shown({ status: 0, body: missing }, MISSING));
      const missingToAll = await firstOf(everyService.subscribe(FollowCaseDocument, { caseId: MISSING }));
      expect(shown({ status: 0, body: missing }, MISSING)).toBe(shown({ status: 0, body: missingToAll }, MISSING));
      expect(JSON.stringify(refused)).toContain('NOT_FOUND');
    } finally {
      await live.close();
      await everyService.close();
    }
  });
});

describe('another service answers as a missing service', () => {
  it('callNext: NOT_FOUND, and nothing handed out', async () => {
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });
    const document = (id: number): string => `mutation { callNext(input: { serviceIds: [${id}] }) { id } }`;
    const refused = await graphql(limitedAgent, document(other.id));
    expect(shown(refused, other.id)).toBe(shown(await graphql(limitedAgent, document(MISSING)), MISSING));
    expect(shown(refused, other.id)).toBe(shown(await graphql(agent, document(MISSING)), MISSING));
    expect(codesOf(refused)).toEqual(['NOT_FOUND']);
    expect((await t.db.case.findUniqueOrThrow({ where: { id: foreign.id } })).status).toBe('WAITING');
  });

  it('Query.service: null, so its queue and statistics cannot be reached', async () => {
    const document = (id: number): string =>
      `query { service(id: ${id}) { id name queue { totalCount } statistics { waitingCount } } }`;
    const read = await graphql(limitedAgent, document(other.id));
    expect(read).toEqual({ status: 200, body: { data: { service: null } } });
    expect(shown(read, other.id)).toBe(shown(await graphql(limitedAgent, document(MISSING)), MISSING));
    expect((await graphql(limitedAgent, document(mine.id))).body).toMatchObject({
      data: { service: { id: mine.id, queue: {}, statistics: {} } },
    });
  });

  it('Query.services and Classification.services list its own services only', async () => {
    const shared = await given.classification(t.db, {
      services: { create: [{ serviceId: mine.id }, { serviceId: other.id }] },
    });
    const listed = await graphql(limitedAgent, '{ services { id } classifications { code services { id } } }');
    const body = listed.body as {
      data: { services: { id: number }[]; classifications: { code: string; services: { id: number }[] }[] };
    };
    expect(body.data.services).toEqual([{ id: mine.id }]);
    expect(body.data.classifications.find((each) => each.code === shared.code)?.services).toEqual([{ id: mine.id }]);
    // A credential for every service sees both.
    const all = (await graphql(agent, '{ services { id } }')).body as { data: { services: { id: number }[] } };
    expect(all.data.services.map((each) => each.id)).toEqual(expect.arrayContaining([mine.id, other.id]));
  });

  it('Subscription.queueChanged: the missing service’s answer', async () => {
    const live = liveClient(t.gateway.url, { authorization: limitedAgent });
    const everyService = liveClient(t.gateway.url, { authorization: agent });
    try {
      const refused = await firstOf(live.subscribe(FollowQueueDocument, { serviceId: other.id }));
      const missing = await firstOf(live.subscribe(FollowQueueDocument, { serviceId: MISSING }));
      const missingToAll = await firstOf(everyService.subscribe(FollowQueueDocument, { serviceId: MISSING }));
      expect(shown({ status: 0, body: refused }, other.id)).toBe(shown({ status: 0, body: missing }, MISSING));
      expect(shown({ status: 0, body: missing }, MISSING)).toBe(shown({ status: 0, body: missingToAll }, MISSING));
      expect(JSON.stringify(refused)).toContain('NOT_FOUND');
    } finally {
      await live.close();
      await everyService.close();
    }
  });
});

describe('enqueue into another service answers as an unknown service', () => {
  const enqueue = (input: string): string => `mutation { enqueueCase(input: { ${input} }) { caseId } }`;

  it('by serviceId', async () => {
    const before = await casesIn(other.id);
    const refused = await graphql(limitedKiosk.authorization, enqueue(`serviceId: ${other.id}`));
    expect(shown(refused, other.id)).toBe(
      shown(await graphql(limitedKiosk.authorization, enqueue(`serviceId: ${MISSING}`)), MISSING),
    );
    expect(shown(refused, other.id)).toBe(
      shown(await graphql(kiosk.authorization, enqueue(`serviceId: ${MISSING}`)), MISSING),
    );
    expect(codesOf(refused)).toEqual(['NOT_FOUND']);
    expect(await casesIn(other.id)).toBe(before);
  });

  it('by serviceIdExtRef, whatever classification or procedure the request names', async () => {
    const before = await casesIn(other.id);
    // Used by this credential's service alone: "not used by this service" would say the other exists.
    const onlyMine = await given.classification(t.db, { services: { create: [{ serviceId: mine.id }] } });
    // Used by the other service alone.
    const onlyOther = await given.classification(t.db, { services: { create: [{ serviceId: other.id }] } });
    const inactive = await given.classification(t.db, { active: false });
    const procedure = await given.procedure(t.db);
    const unknown = `scope-nothing-${stamp}`;
    const extras = [
      '',
      `classificationCode: "${onlyMine.code}"`,
      `classificationCode: "${onlyOther.code}"`,
      `classificationCode: "${inactive.code}"`,
      `classificationCode: "NO-SUCH-${stamp}"`,
      `procedureExtRef: "NO-SUCH-${stamp}"`,
      `procedureExtRef: "${procedure.extRef}", procedureOptionExtRef: "NO-SUCH-${stamp}"`,
    ];
    for (const extra of extras) {
      const refused = await graphql(
        limitedKiosk.authorization,
        enqueue(`serviceIdExtRef: "${other.extRef ?? ''}", ${extra}`),
      );
      const missing = await graphql(limitedKiosk.authorization, enqueue(`serviceIdExtRef: "${unknown}", ${extra}`));
      expect(shown(refused, other.extRef ?? ''), extra).toBe(shown(missing, unknown));
      expect(codesOf(refused), extra).toEqual(['NOT_FOUND']);
      expect((refused.body as { errors: { extensions: { field: string } }[] }).errors[0]?.extensions.field).toBe(
        'serviceIdExtRef',
      );
    }
    expect(await casesIn(other.id)).toBe(before);
  });

  it('by REST, with ServiceId or ServiceIdExtRef', async () => {
    const before = await casesIn(other.id);
    const onlyMine = await given.classification(t.db, { services: { create: [{ serviceId: mine.id }] } });
    const byId = (id: number) => `{"ServiceId": ${id}}`;
    const refusedById = await rest(limitedKiosk.authorization, 'POST', '/api/Cases', byId(other.id));
    expect(shown(refusedById, other.id)).toBe(
      shown(await rest(limitedKiosk.authorization, 'POST', '/api/Cases', byId(MISSING)), MISSING),
    );
    const byRef = (ref: string) => `{"ServiceIdExtRef": "${ref}", "ClassificationCode": "${onlyMine.code}"}`;
    const unknown = `scope-nothing-${stamp}`;
    const refusedByRef = await rest(limitedKiosk.authorization, 'POST', '/api/Cases', byRef(other.extRef ?? ''));
    expect(shown(refusedByRef, other.extRef ?? '')).toBe(
      shown(await rest(limitedKiosk.authorization, 'POST', '/api/Cases', byRef(unknown)), unknown),
    );
    expect([refusedById.status, refusedByRef.status]).toEqual([400, 400]);
    expect(await casesIn(other.id)).toBe(before);
  });

  it('names a classification only other services use as an unknown one', async () => {
    const onlyOther = await given.classification(t.db, { services: { create: [{ serviceId: other.id }] } });
    const unknown = `NO-SUCH-${stamp}`;
    const refused = await graphql(
      limitedKiosk.authorization,
      enqueue(`serviceId: ${mine.id}, classificationCode: "${onlyOther.code}"`),
    );
    const missing = await graphql(
      limitedKiosk.authorization,
      enqueue(`serviceId: ${mine.id}, classificationCode: "${unknown}"`),
    );
    expect(shown(refused, onlyOther.code)).toBe(shown(missing, unknown));
    expect(codesOf(refused)).toEqual(['NOT_FOUND']);
    // Nor does `classifications` list it to this credential; it does to one for every service.
    const listed = (await graphql(limitedKiosk.authorization, '{ classifications { code } }')).body as {
      data: { classifications: { code: string }[] };
    };
    expect(listed.data.classifications.map((each) => each.code)).not.toContain(onlyOther.code);
    const all = (await graphql(kiosk.authorization, '{ classifications { code } }')).body as {
      data: { classifications: { code: string }[] };
    };
    expect(all.data.classifications.map((each) => each.code)).toContain(onlyOther.code);
  });
});

describe('a kiosk naming a customer', () => {
  it('gets one answer whatever the customer (active, inactive, missing), nothing written; agents still name one', async () => {
    const active = await given.customer(t.db);
    const inactive = await given.customer(t.db, { active: false });
    const before = await casesIn(mine.id);
    for (const key of [kiosk, limitedKiosk]) {
      const answers = await Promise.all(
        [active.id, inactive.id, MISSING].map(async (customerId) =>
          shown(
            await graphql(
              key.authorization,
              `mutation { enqueueCase(input: { serviceId: ${mine.id}, customerId: ${customerId} }) { caseId } }`,
            ),
            customerId,
          ),
        ),
      );
      expect(new Set(answers).size).toBe(1);
      expect(answers[0]).toContain('"code":"FORBIDDEN"');
      expect(answers[0]).toContain('"field":"customerId"');
      const overRest = await Promise.all(
        [active.id, inactive.id, MISSING].map(async (customerId) =>
          shown(
            await rest(
              key.authorization,
              'POST',
              '/api/Cases',
              `{"ServiceId": ${mine.id}, "CustomerId": ${customerId}}`,
            ),
            customerId,
          ),
        ),
      );
      expect(new Set(overRest).size).toBe(1);
      expect(overRest[0]).toContain('"status":403');
    }
    expect(await casesIn(mine.id)).toBe(before);

    // Credentials that may read customers name them as before; the rule and the contract agree on which.
    const { requirements } = createSchema();
    for (const coordinate of ['Query.customer', 'Case.customer'])
      expect([...(requirements.get(coordinate) ?? [])].sort(), coordinate).toEqual([...CUSTOMER_READERS].sort());
    const named = await graphql(
      limitedAgent,
      `mutation { enqueueCase(input: { serviceId: ${mine.id}, customerId: ${active.id} }) { customerId } }`,
    );
    expect(named.body).toEqual({ data: { enqueueCase: { customerId: active.id } } });
  });
});

describe('administration by a credential limited to some services', () => {
  it('is refused in the domain, FORBIDDEN naming the credential, before anything is read or written', async () => {
    const limited: Actor = {
      id: 'user:limited-admin',
      agent: null,
      services: new Set([mine.id]),
      roles: new Set(['ADMIN']),
    };
    const classification = await given.classification(t.db);
    const procedure = await given.procedure(t.db);
    const auditBefore = await t.db.auditEntry.count();
    const attempts: [string, () => Promise<unknown>][] = [
      ['createService', () => services.createService(t.db, { name: 'Sneaky' }, limited)],
      ['updateService', () => services.updateService(t.db, other.id, { name: 'Renamed' }, limited)],
      ['updateService (missing)', () => services.updateService(t.db, MISSING, { name: 'Renamed' }, limited)],
      [
        'createClassification',
        () =>
          referenceData.createClassification(t.db, { code: `X-${stamp}`, name: 'X', serviceIds: [other.id] }, limited),
      ],
      [
        'updateClassification',
        () => referenceData.updateClassification(t.db, classification.code, { serviceIds: [other.id] }, limited),
      ],
      ['createProcedure', () => referenceData.createProcedure(t.db, { extRef: `P-${stamp}`, name: 'P' }, limited)],
      ['updateProcedure', () => referenceData.updateProcedure(t.db, procedure.extRef, { name: 'Q' }, limited)],
      [
        'addProcedureOption',
        () => referenceData.addProcedureOption(t.db, procedure.extRef, { extRef: 'O', name: 'O' }, limited),
      ],
      ['auditLog', () => listAudit(t.db, {}, limited)],
    ];
    for (const [what, attempt] of attempts)
      await expect(attempt(), what).rejects.toMatchObject({
        code: 'FORBIDDEN',
        issue: { field: 'credential', rule: 'everyService' },
      });
    expect(await t.db.auditEntry.count()).toBe(auditBefore);
    expect((await t.db.service.findUniqueOrThrow({ where: { id: other.id } })).name).toBe(other.name);
  });
});

describe('FORBIDDEN is HTTP 403, unless some root field has a value', () => {
  it('over GraphQL: a limited kiosk naming a customer, in its own service', async () => {
    const customer = await given.customer(t.db);
    const refused = await graphql(
      limitedKiosk.authorization,
      `mutation { enqueueCase(input: { serviceId: ${mine.id}, customerId: ${customer.id} }) { caseId } }`,
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      data: null,
      errors: [{ extensions: { code: 'FORBIDDEN', field: 'customerId', rule: 'readsCustomers' } }],
    });
  });

  it('over REST: the same refusal, 403 with Code FORBIDDEN', async () => {
    const customer = await given.customer(t.db);
    const refused = await rest(
      limitedKiosk.authorization,
      'POST',
      '/api/Cases',
      `{"ServiceId": ${mine.id}, "CustomerId": ${customer.id}}`,
    );
    expect(refused).toMatchObject({
      status: 403,
      body: { Code: 'FORBIDDEN', Field: 'CustomerId', Rule: 'readsCustomers' },
    });
  });

  // Every root field the schema has that can be refused FORBIDDEN by a rule
  // (enqueueCase, administration) is non-null, so a refusal nulls the whole
  // answer: a partial answer is shown here on the status rule itself.
  const answer = (result: FormattedExecutionResult): GraphQLResponse => ({
    http: { headers: new HeaderMap() },
    body: { kind: 'single', singleResult: result },
  });
  const forbidden = { message: 'customerId: only an AGENT or ADMIN ...', extensions: { code: 'FORBIDDEN' } };
  const unavailable = { message: 'try again later', extensions: { code: DATABASE_UNAVAILABLE } };

  it.each([
    ['no data at all', { data: null, errors: [forbidden] }, 403],
    ['only null root fields', { data: { refused: null, missing: null }, errors: [forbidden] }, 403],
    ['another root field with data', { data: { refused: null, done: { caseId: 7 } }, errors: [forbidden] }, undefined],
    ['an outage as well: 503 first, a retry tells the rest', { data: null, errors: [forbidden, unavailable] }, 503],
    [
      'errors without FORBIDDEN',
      { data: null, errors: [{ message: 'x', extensions: { code: 'NOT_FOUND' } }] },
      undefined,
    ],
  ] as const)('%s', (_name, result, status) => {
    const response = answer({ data: result.data, errors: [...result.errors] });
    markErrorStatus(response);
    // undefined: Apollo's 200.
    expect(response.http.status).toBe(status);
    expect(response.http.headers.get('retry-after')).toBe(status === 503 ? '2' : undefined);
  });
});
