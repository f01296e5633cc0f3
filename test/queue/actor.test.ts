// Who acts: the agent a credential names, the history that records it, the
// idempotency keys it owns and the services it is limited to. Mostly the
// domain's rules on their own, called with actors of the test's making (as
// the edge hands them principals); the agent rules and the error mapping over
// GraphQL too, with the gateway running open.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { GraphQLError, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallCaseDocument, CallNextDocument, EnqueueCaseDocument } from '../../src/generated/operations/graphql.js';
import { errorFormatter } from '../../src/graphql/errors.js';
import { createLiveHub, type Announcements } from '../../src/live/live-hub.js';
import { silentLogger } from '../../src/log.js';
import { OPEN_ACTOR, type Actor } from '../../src/queue/actor.js';
import { KEY_SCOPE_SEPARATOR, requireEveryService } from '../../src/queue/actor-rules.js';
import { createCaller } from '../../src/queue/call-next.js';
import { findCase } from '../../src/queue/case-reads.js';
import { createEnqueuer } from '../../src/queue/enqueue-case.js';
import { GatewayError } from '../../src/queue/errors.js';
import { queuePage, queueStatistics } from '../../src/queue/queue-reads.js';
import { callCase, cancelCase, completeCase, returnToQueue } from '../../src/queue/transitions.js';
import { fromGatewayError } from '../../src/rest/rest-errors.js';
import * as given from '../helpers/given.js';
import { expectData, expectError } from '../helpers/graphql-client.js';
import { expectHandedOutInQueueOrder, type HandOut } from '../helpers/hand-outs.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});

afterAll(async () => {
  await t.stop();
});

/** An actor as the edge would make one of a credential. */
const actor = (
  id: string,
  { services = null, agent = null }: { services?: number[] | null; agent?: string | null } = {},
): Actor => ({
  id,
  agent,
  services: services === null ? null : new Set(services),
});

/** The stored status of a case and how many history events it has: what a refused action must leave alone. */
async function footprint(caseId: number): Promise<{ status: string; events: number; lastAgent: string | null }> {
  const { rows } = await t.sql.query<{ status: string; events: number; last_agent: string | null }>(
    `SELECT c.status::text, c.last_agent, (SELECT count(*)::int FROM case_events e WHERE e.case_id = c.id) AS events
       FROM cases c WHERE c.id = $1`,
    [caseId],
  );
  const [row] = rows;
  if (!row) throw new Error(`case ${caseId} is missing`);
  return { status: row.status, events: row.events, lastAgent: row.last_agent };
}

/** The `actor` column of a case's history, oldest first, with each event's action. */
async function actorsOf(caseId: number): Promise<{ action: string; agent: string | null; actor: string | null }[]> {
  const { rows } = await t.sql.query<{ action: string; agent: string | null; actor: string | null }>(
    'SELECT action::text, agent, actor FROM case_events WHERE case_id = $1 ORDER BY id',
    [caseId],
  );
  return rows;
}

const casesOf = (serviceId: number): Promise<number> => t.db.case.count({ where: { serviceId } });

describe('the agent a request acts as', () => {
  const unreadable: [string, string, string][] = [
    ['blank', '', 'minLength'],
    ['a zero-width space', '\u200B', 'printable'],
    ['a bare right-to-left override', '\u202E', 'printable'],
    ['a leading space', ' desk-1', 'trimmed'],
    ['101 characters', 'd'.repeat(101), 'maxLength'],
  ];

  it.each(unreadable)('refuses %s as an agent name over GraphQL, writing nothing', async (_what, agent, rule) => {
    const serviceId = (await given.service(t.db)).id;
    const waiting = await given.waitingCase(t.db, { serviceId });
    const before = await footprint(waiting.id);
    expect(
      expectError(await t.request(CallCaseDocument, { input: { caseId: waiting.id, agent } })).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'agent', rule });
    expect(
      expectError(await t.request(CallNextDocument, { input: { serviceIds: [serviceId], agent } })).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'agent', rule });
    expect(await footprint(waiting.id)).toEqual(before);
  });

  it('requires an agent when the credential names none (open access, API keys)', async () => {
    const serviceId = (await given.service(t.db)).id;
    const waiting = await given.waitingCase(t.db, { serviceId });
    expect(
      expectError(await t.request(CallNextDocument, { input: { serviceIds: [serviceId] } })).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'agent', rule: 'required' });
    await expect(completeCase(t.db, { caseId: waiting.id }, actor('key:kiosk01'))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      issue: { field: 'agent', rule: 'required' },
    });
    expect((await footprint(waiting.id)).status).toBe('WAITING');
  });

  it("takes a person's agent name from the credential, and refuses another", async () => {
    const ada = actor('user:ada', { agent: 'Ada Lovelace' });
    const serviceId = (await given.service(t.db)).id;
    const [first, second, third] = [
      await given.waitingCase(t.db, { serviceId }),
      await given.waitingCase(t.db, { serviceId }),
      await given.waitingCase(t.db, { serviceId }),
    ];
    const called = await createCaller(t.db).callNext({ serviceIds: [serviceId] }, ada);
    expect(called).toMatchObject({ id: first.id, lastAgent: 'Ada Lovelace' });
    expect((await callCase(t.db, { caseId: second.id, agent: 'Ada Lovelace' }, ada)).lastAgent).toBe('Ada Lovelace');

    const before = await footprint(third.id);
    await expect(callCase(t.db, { caseId: third.id, agent: 'Grace Hopper' }, ada)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      issue: { field: 'agent', rule: 'matchesCredential' },
    });
    await expect(createCaller(t.db).callNext({ serviceIds: [serviceId], agent: 'desk-9' }, ada)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      issue: { field: 'agent', rule: 'matchesCredential' },
    });
    expect(await footprint(third.id)).toEqual(before);
  });

  it("checks a credential's own agent name like any other", async () => {
    const waiting = await given.waitingCase(t.db);
    await expect(callCase(t.db, { caseId: waiting.id }, actor('user:odd', { agent: '\u200B' }))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      issue: { field: 'agent', rule: 'printable' },
    });
    expect((await footprint(waiting.id)).status).toBe('WAITING');
  });
});

describe('history records who acted', () => {
  it('writes the credential of every step: enqueue, call next, call, return, complete, cancel', async () => {
    const serviceId = (await given.service(t.db)).id;
    const kiosk = actor('key:kiosk01');
    const ada = actor('user:ada', { agent: 'Ada' });
    const desk = actor('key:desk07');
    const enqueuer = createEnqueuer(t.db);
    const served = await enqueuer.enqueue({ serviceId, subject: 'served' }, kiosk);
    const cancelled = await enqueuer.enqueue({ serviceId, subject: 'cancelled' }, kiosk);

    expect((await createCaller(t.db).callNext({ serviceIds: [serviceId] }, ada))?.id).toBe(served.id);
    await returnToQueue(t.db, { caseId: served.id, reason: 'missing papers' }, ada);
    await callCase(t.db, { caseId: served.id, agent: 'desk-7' }, desk);
    await completeCase(t.db, { caseId: served.id, agent: 'desk-7' }, desk);
    await cancelCase(t.db, { caseId: cancelled.id, agent: 'desk-7', reason: 'left' }, desk);

    expect(await actorsOf(served.id)).toEqual([
      { action: 'ENQUEUE', agent: null, actor: 'key:kiosk01' },
      { action: 'CALL_NEXT', agent: 'Ada', actor: 'user:ada' },
      { action: 'RETURN_TO_QUEUE', agent: 'Ada', actor: 'user:ada' },
      { action: 'CALL_CASE', agent: 'desk-7', actor: 'key:desk07' },
      { action: 'COMPLETE', agent: 'desk-7', actor: 'key:desk07' },
    ]);
    expect(await actorsOf(cancelled.id)).toEqual([
      { action: 'ENQUEUE', agent: null, actor: 'key:kiosk01' },
      { action: 'CANCEL', agent: 'desk-7', actor: 'key:desk07' },
    ]);
  });

  it('records each caller of a batched call next, and each kiosk of a batched enqueue', async () => {
    const serviceId = (await given.service(t.db)).id;
    const enqueuer = createEnqueuer(t.db);
    const kiosks = Array.from({ length: 6 }, (_, index) => actor(`key:kiosk${index}`));
    const enqueued = await Promise.all(
      kiosks.map((kiosk, index) => enqueuer.enqueue({ serviceId, subject: `batch ${index}` }, kiosk)),
    );
    for (const [index, each] of enqueued.entries())
      expect((await actorsOf(each.id))[0]).toMatchObject({ action: 'ENQUEUE', actor: `key:kiosk${index}` });

    const caller = createCaller(t.db);
    const agents = Array.from({ length: 6 }, (_, index) => actor(`user:agent${index}`, { agent: `Agent ${index}` }));
    const called = await Promise.all(agents.map((agent) => caller.callNext({ serviceIds: [serviceId] }, agent)));
    for (const [index, each] of called.entries()) {
      expect(each?.lastAgent).toBe(`Agent ${index}`);
      expect((await actorsOf(each?.id ?? 0))[1]).toEqual({
        action: 'CALL_NEXT',
        agent: `Agent ${index}`,
        actor: `user:agent${index}`,
      });
    }
  });

  it('shows it as CaseEvent.actor, null for steps recorded before identities', async () => {
    const { caseId } = expectData(
      await t.request(EnqueueCaseDocument, { input: { serviceId: (await given.service(t.db)).id } }),
    ).enqueueCase;
    expectData(await t.request(CallCaseDocument, { input: { caseId, agent: 'desk-1' } }));
    // The enqueue as an older gateway wrote it.
    await t.sql.query(`UPDATE case_events SET actor = NULL WHERE case_id = $1 AND action = 'ENQUEUE'`, [caseId]);
    const history = parse(
      'query ($id: Int!) { case(id: $id) { history { action agent actor } } }',
    ) as TypedDocumentNode<
      { case: { history: { action: string; agent: string | null; actor: string | null }[] } | null },
      { id: number }
    >;
    expect(expectData(await t.request(history, { id: caseId })).case?.history).toEqual([
      { action: 'ENQUEUE', agent: null, actor: null },
      { action: 'CALL_CASE', agent: 'desk-1', actor: 'open' },
    ]);
  });
});

describe('idempotency keys are scoped to the credential', () => {
  const storedKeyOf = async (caseId: number): Promise<string | null> =>
    (await t.db.case.findUniqueOrThrow({ where: { id: caseId }, select: { idempotencyKey: true } })).idempotencyKey;

  it('gives two credentials using one key two cases, and each its own case again on a retry', async () => {
    const serviceId = (await given.service(t.db)).id;
    const enqueuer = createEnqueuer(t.db);
    const [one, two] = [actor('key:kioskA'), actor('key:kioskB')];
    const request = { serviceId, subject: 'same key', idempotencyKey: 'ticket-0001' };
    const first = await enqueuer.enqueue(request, one);
    const second = await enqueuer.enqueue(request, two);
    expect(second.id).not.toBe(first.id);
    expect((await enqueuer.enqueue(request, one)).id).toBe(first.id);
    expect((await enqueuer.enqueue(request, two)).id).toBe(second.id);
    expect(await casesOf(serviceId)).toBe(2);
    expect(await storedKeyOf(first.id)).toBe(`key:kioskA${KEY_SCOPE_SEPARATOR}ticket-0001`);
    expect(await storedKeyOf(second.id)).toBe(`key:kioskB${KEY_SCOPE_SEPARATOR}ticket-0001`);

    // The same credential's key for another request is still a conflict, explained as before.
    await expect(enqueuer.enqueue({ ...request, subject: 'another' }, one)).rejects.toMatchObject({
      code: 'CONFLICT',
      issue: { field: 'idempotencyKey' },
    });
    expect(await casesOf(serviceId)).toBe(2);
  });

  it("keeps the open actor's keys as given, apart from every credential's", async () => {
    const serviceId = (await given.service(t.db)).id;
    const input = { serviceId, subject: 'open', idempotencyKey: `open-key-${serviceId}` };
    const open = expectData(await t.request(EnqueueCaseDocument, { input })).enqueueCase;
    expect(expectData(await t.request(EnqueueCaseDocument, { input })).enqueueCase.caseId).toBe(open.caseId);
    expect(await storedKeyOf(open.caseId)).toBe(input.idempotencyKey);
    expect((await createEnqueuer(t.db).enqueue(input, OPEN_ACTOR)).id).toBe(open.caseId);

    // A credential whose id and key spell what an open key could: still its own case.
    const keyed = await createEnqueuer(t.db).enqueue(input, actor('key:kioskC'));
    expect(keyed.id).not.toBe(open.caseId);
  });

  it('refuses keys with control characters, which could pass for a scoped one', async () => {
    const serviceId = (await given.service(t.db)).id;
    expect(
      expectError(
        await t.request(EnqueueCaseDocument, {
          input: { serviceId, idempotencyKey: `key:kioskA${KEY_SCOPE_SEPARATOR}ticket` },
        }),
      ).extensions,
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey', rule: 'printable' });
    expect(await casesOf(serviceId)).toBe(0);
  });

  it('hands each of several credentials racing with one key exactly one case', async () => {
    const serviceId = (await given.service(t.db)).id;
    const enqueuer = createEnqueuer(t.db);
    const kiosks = [actor('key:race1'), actor('key:race2'), actor('key:race3'), OPEN_ACTOR];
    const request = { serviceId, subject: 'raced', idempotencyKey: `race-${serviceId}` };
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, index) => {
        const kiosk = kiosks[index % kiosks.length] ?? OPEN_ACTOR;
        return enqueuer.enqueue(request, kiosk).then((stored) => ({ kiosk: kiosk.id, caseId: stored.id }));
      }),
    );
    const caseOf = new Map<string, Set<number>>();
    for (const { kiosk, caseId } of answers) caseOf.set(kiosk, (caseOf.get(kiosk) ?? new Set()).add(caseId));
    expect([...caseOf.values()].map((ids) => ids.size)).toEqual([1, 1, 1, 1]);
    expect(await casesOf(serviceId)).toBe(4);
  });
});

describe('a credential limited to some services', () => {
  it('enqueues into them, and answers the others as unknown services, named by id or by external reference', async () => {
    const mine = await given.service(t.db, { extRef: `mine-${Date.now()}` });
    const other = await given.service(t.db, { extRef: `other-${Date.now()}` });
    const kiosk = actor('key:hallB', { services: [mine.id] });
    const enqueuer = createEnqueuer(t.db);

    expect((await enqueuer.enqueue({ serviceId: mine.id }, kiosk)).serviceId).toBe(mine.id);
    expect((await enqueuer.enqueue({ serviceIdExtRef: mine.extRef }, kiosk)).serviceId).toBe(mine.id);
    await expect(enqueuer.enqueue({ serviceId: other.id }, kiosk)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'serviceId', rule: 'exists', message: `no service has the id ${other.id}` },
    });
    await expect(enqueuer.enqueue({ serviceIdExtRef: other.extRef }, kiosk)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: {
        field: 'serviceIdExtRef',
        rule: 'exists',
        message: `no service has the external reference "${other.extRef}"`,
      },
    });
    // With a key too: nothing is stored, so the key stays free.
    await expect(
      enqueuer.enqueue({ serviceIdExtRef: other.extRef, idempotencyKey: 'scoped-out' }, kiosk),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await casesOf(other.id)).toBe(0);
    expect(await casesOf(mine.id)).toBe(2);
  });

  it('gets back, by its idempotency key, only a case of a service it still covers', async () => {
    const mine = await given.service(t.db);
    const other = await given.service(t.db);
    const enqueuer = createEnqueuer(t.db);
    const before = actor('key:narrowed', { services: [mine.id, other.id] });
    const after = actor('key:narrowed', { services: [mine.id] });
    const request = { serviceId: other.id, idempotencyKey: 'narrowed-1' };
    const made = await enqueuer.enqueue(request, before);
    expect((await enqueuer.enqueue(request, before)).id).toBe(made.id);
    // Its limit narrowed: the case is in a service that is no longer there to it.
    await expect(enqueuer.enqueue(request, after)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'serviceId', message: `no service has the id ${other.id}` },
    });
    await expect(enqueuer.enqueue({ ...request, serviceId: mine.id }, after)).rejects.toMatchObject({
      code: 'CONFLICT',
      issue: { field: 'idempotencyKey', message: 'was used before for a different request' },
    });
    expect(await casesOf(mine.id)).toBe(0);
  });

  it('answers allowed and refused requests sent at once each on their own', async () => {
    const mine = await given.service(t.db, { extRef: `batch-mine-${Date.now()}` });
    const other = await given.service(t.db, { extRef: `batch-other-${Date.now()}` });
    const kiosk = actor('key:hallC', { services: [mine.id] });
    const enqueuer = createEnqueuer(t.db);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, index) =>
        enqueuer.enqueue(
          { serviceIdExtRef: index % 3 === 0 ? other.extRef : mine.extRef, subject: `#${index}` },
          kiosk,
        ),
      ),
    );
    outcomes.forEach((outcome, index) => {
      if (index % 3 === 0) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
      else expect(outcome).toMatchObject({ status: 'fulfilled', value: { serviceId: mine.id } });
    });
    expect(await casesOf(other.id)).toBe(0);
    expect(await casesOf(mine.id)).toBe(20);
  });

  it('calls next from them only, answering another as a service that does not exist', async () => {
    const mine = await given.service(t.db);
    const other = await given.service(t.db);
    const waiting = await given.waitingCase(t.db, { serviceId: other.id });
    const agent = actor('user:bob', { services: [mine.id], agent: 'Bob' });
    await expect(createCaller(t.db).callNext({ serviceIds: [mine.id, other.id] }, agent)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'serviceIds', rule: 'exists', message: `no service has the id ${other.id}` },
    });
    expect((await footprint(waiting.id)).status).toBe('WAITING');
    expect(await createCaller(t.db).callNext({ serviceIds: [mine.id] }, agent)).toBeNull();
  });

  it("acts on the cases of its services only: another service's case is not there to it, and nothing is written", async () => {
    const mine = await given.service(t.db);
    const other = await given.service(t.db);
    const agent = actor('key:deskLimited', { services: [mine.id] });
    const asAgent = { agent: 'desk-limited' };
    const waiting = await given.caseIn(t.db, 'WAITING', { serviceId: other.id });
    const inService = await given.caseIn(t.db, 'IN_SERVICE', { serviceId: other.id });
    const refusals: [string, number, () => Promise<unknown>][] = [
      ['call', waiting.id, () => callCase(t.db, { caseId: waiting.id, ...asAgent }, agent)],
      ['cancel', waiting.id, () => cancelCase(t.db, { caseId: waiting.id, ...asAgent, reason: 'x' }, agent)],
      ['complete', inService.id, () => completeCase(t.db, { caseId: inService.id, ...asAgent }, agent)],
      [
        'return',
        inService.id,
        () => returnToQueue(t.db, { caseId: inService.id, ...asAgent, placement: 'FRONT', reason: 'x' }, agent),
      ],
      // Not allowed from its status either: the credential is what it is told.
      ['complete a waiting case', waiting.id, () => completeCase(t.db, { caseId: waiting.id, ...asAgent }, agent)],
    ];
    for (const [what, caseId, act] of refusals) {
      const before = await footprint(caseId);
      await expect(act(), what).rejects.toMatchObject({
        code: 'NOT_FOUND',
        issue: { field: 'caseId', rule: 'exists', message: `no case has the id ${caseId}` },
      });
      expect(await footprint(caseId), what).toEqual(before);
    }

    const own = await given.caseIn(t.db, 'WAITING', { serviceId: mine.id });
    await callCase(t.db, { caseId: own.id, ...asAgent }, agent);
    await returnToQueue(t.db, { caseId: own.id, ...asAgent, placement: 'BACK', reason: 'again' }, agent);
    await callCase(t.db, { caseId: own.id, ...asAgent }, agent);
    expect((await completeCase(t.db, { caseId: own.id, ...asAgent }, agent)).status).toBe('COMPLETED');
  });

  it('reads the cases, queues and figures of its services only: the others read as missing', async () => {
    const mine = await given.service(t.db);
    const other = await given.service(t.db);
    const screen = actor('key:screen', { services: [mine.id] });
    const own = await given.waitingCase(t.db, { serviceId: mine.id });
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });

    expect((await findCase(t.db, own.id, screen))?.id).toBe(own.id);
    expect(await findCase(t.db, 2_000_000_000, screen)).toBeNull();
    expect(await findCase(t.db, foreign.id, screen)).toBeNull();
    expect((await queuePage(t.db, mine.id, {}, screen)).edges.map((edge) => edge.node.id)).toEqual([own.id]);
    await expect(queuePage(t.db, other.id, {}, screen)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'id', rule: 'exists', message: `no service has the id ${other.id}` },
    });
    expect((await queueStatistics(t.db, mine.id, {}, screen)).waitingCount).toBe(1);
    await expect(queueStatistics(t.db, other.id, {}, screen)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      issue: { field: 'id', rule: 'exists' },
    });
  });

  it('follows the queues and cases of its services only, registering nothing for the others', async () => {
    const mine = await given.service(t.db);
    const other = await given.service(t.db);
    const foreign = await given.waitingCase(t.db, { serviceId: other.id });
    const own = await given.waitingCase(t.db, { serviceId: mine.id });
    const followed: number[] = [];
    // The hub's LISTEN side, as the test sees it: which services it asked the database to announce.
    const announcements: Announcements = {
      follow: (serviceId) => {
        followed.push(serviceId);
        return Promise.resolve();
      },
      unfollow: () => undefined,
    };
    const hub = createLiveHub({ db: t.db, announcements, log: silentLogger, minIntervalMs: 10 });
    const screen = actor('key:screen2', { services: [mine.id] });
    try {
      await expect(hub.followQueue({ serviceId: other.id }, screen)).rejects.toMatchObject({
        code: 'NOT_FOUND',
        issue: { field: 'serviceId', rule: 'exists', message: `no service has the id ${other.id}` },
      });
      // Refused alike whether the service exists or not: the refusal tells nothing.
      await expect(hub.followQueue({ serviceId: 2_000_000_000 }, screen)).rejects.toMatchObject({
        code: 'NOT_FOUND',
        issue: { field: 'serviceId', rule: 'exists', message: 'no service has the id 2000000000' },
      });
      await expect(hub.followCase({ caseId: foreign.id }, screen)).rejects.toMatchObject({
        code: 'NOT_FOUND',
        issue: { field: 'caseId', rule: 'exists', message: `no case has the id ${foreign.id}` },
      });
      expect(followed).toEqual([]);
      expect(hub.followedServices()).toBe(0);

      const updates = await hub.followCase({ caseId: own.id }, screen);
      expect((await updates.next()).value).toMatchObject({ caseId: own.id, position: 1 });
      expect(followed).toEqual([mine.id]);
      await updates.return?.();
    } finally {
      hub.stop();
    }
  });

  it('is refused administration with FORBIDDEN naming the credential, over GraphQL and as REST 403', () => {
    const limited = actor('key:admin?', { services: [9] });
    let error: unknown;
    try {
      requireEveryService(limited);
    } catch (refusal) {
      error = refusal;
    }
    if (!(error instanceof GatewayError)) throw new Error('a limited actor was not refused');
    const formatted = errorFormatter(silentLogger)(
      { message: error.message, path: ['updateService'] },
      new GraphQLError(error.message, { path: ['updateService'], originalError: error }),
    );
    expect(formatted.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'credential', rule: 'everyService' });
    const rest = fromGatewayError(error);
    expect(rest.status).toBe(403);
    expect(rest.code).toBe('FORBIDDEN');
    expect(() => requireEveryService(actor('key:admin'))).not.toThrow();
  });
});

describe('limited and unlimited credentials at once', () => {
  it('hand every case out exactly once, in queue order, each to a credential that covers it', async () => {
    const CASES = 300;
    const a = (await given.service(t.db, { queueCode: 'XA' })).id;
    const b = (await given.service(t.db, { queueCode: 'XB' })).id;
    const services = [a, b];
    // This test's own enqueuer and caller beside the gateway's, as a second gateway would be.
    const enqueuer = createEnqueuer(t.db);
    const caller = createCaller(t.db);
    const kiosks = [actor('key:kioskA', { services: [a] }), actor('key:kioskB', { services: [b] })];

    let enqueuing = true;
    const enqueues = Promise.all(
      Array.from({ length: CASES }, async (_, index) => {
        const serviceId = services[index % 2] ?? a;
        // A third through the gateway, open; the rest by kiosks limited to their service, some with keys.
        if (index % 3 === 0)
          return expectData(await t.request(EnqueueCaseDocument, { input: { serviceId, subject: `open ${index}` } }))
            .enqueueCase.caseId;
        const kiosk = kiosks[index % 2] ?? OPEN_ACTOR;
        const key = index % 5 === 0 ? { idempotencyKey: `k-${index}` } : {};
        return (await enqueuer.enqueue({ serviceId, subject: `kiosk ${index}`, ...key }, kiosk)).id;
      }),
    ).finally(() => {
      enqueuing = false;
    });

    type Desk = { readonly serviceIds: number[]; readonly actor: Actor | null };
    const desks: Desk[] = [
      { serviceIds: [a], actor: actor('user:onlyA', { services: [a], agent: 'only A' }) },
      { serviceIds: [a], actor: actor('key:deskA', { services: [a] }) },
      { serviceIds: [b], actor: actor('user:onlyB', { services: [b], agent: 'only B' }) },
      { serviceIds: [a, b], actor: actor('user:both', { services: [a, b], agent: 'both' }) },
      { serviceIds: [a, b], actor: null },
      { serviceIds: [b], actor: null },
    ];
    const handOuts: (HandOut & { readonly actor: string; readonly agent: string })[] = [];
    let refused = 0;
    const agents = desks.map(async (desk, index) => {
      const agentName = desk.actor?.agent ?? `desk-${index}`;
      const actorId = desk.actor?.id ?? 'open';
      for (let round = 0; ; round += 1) {
        const wasEnqueuing = enqueuing;
        // Now and then a desk limited to one service tries the other, in the thick of it.
        if (desk.actor?.services?.size === 1 && round % 10 === 0) {
          const outside = desk.actor.services.has(a) ? b : a;
          await expect(caller.callNext({ serviceIds: [outside], agent: agentName }, desk.actor)).rejects.toMatchObject({
            code: 'NOT_FOUND',
          });
          refused += 1;
        }
        const sent = performance.now();
        const called =
          desk.actor === null
            ? expectData(
                await t.request(CallNextDocument, { input: { serviceIds: desk.serviceIds, agent: agentName } }),
              ).callNext
            : await caller.callNext({ serviceIds: desk.serviceIds, agent: agentName }, desk.actor);
        const answered = performance.now();
        if (!called) {
          if (!wasEnqueuing) return;
          continue;
        }
        const serviceId = 'serviceId' in called ? called.serviceId : called.service.id;
        expect(desk.serviceIds).toContain(serviceId);
        handOuts.push({ caseId: called.id, serviceId, sent, answered, actor: actorId, agent: agentName });
      }
    });
    const enqueued = await enqueues;
    await Promise.all(agents);

    const handed = handOuts.map((handOut) => handOut.caseId);
    expect(new Set(handed).size).toBe(handed.length);
    expect([...handed].sort((x, y) => x - y)).toEqual([...enqueued].sort((x, y) => x - y));
    expect(await expectHandedOutInQueueOrder(t.sql, services, handOuts)).toBe(CASES);
    expect(refused).toBeGreaterThan(0);

    // History: one CALL_NEXT per case, by the credential and agent that got it; enqueues by who made them.
    const { rows } = await t.sql.query<{ case_id: number; agent: string; actor: string }>(
      `SELECT e.case_id, e.agent, e.actor FROM case_events e JOIN cases c ON c.id = e.case_id
        WHERE c.service_id = ANY($1) AND e.action = 'CALL_NEXT'`,
      [services],
    );
    expect(rows).toHaveLength(CASES);
    const byCase = new Map(handOuts.map((handOut) => [handOut.caseId, handOut]));
    for (const row of rows)
      expect({ agent: row.agent, actor: row.actor }).toEqual({
        agent: byCase.get(row.case_id)?.agent,
        actor: byCase.get(row.case_id)?.actor,
      });
    const { rows: enqueuers } = await t.sql.query<{ actor: string; count: number }>(
      `SELECT e.actor, count(*)::int FROM case_events e JOIN cases c ON c.id = e.case_id
        WHERE c.service_id = ANY($1) AND e.action = 'ENQUEUE' GROUP BY e.actor ORDER BY e.actor`,
      [services],
    );
    expect(enqueuers).toEqual([
      { actor: 'key:kioskA', count: 100 },
      { actor: 'key:kioskB', count: 100 },
      { actor: 'open', count: 100 },
    ]);
  });
});
