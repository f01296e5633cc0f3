// Enqueue: a new case joins the back of its service's queue, with a ticket.
//
// Each request is validated on its own (input rules, then the classification
// and procedure it names), so a bad request fails alone and early; a retry
// whose idempotency key already made a case gets that case, whatever rule
// would refuse it now. Valid ones
// go through group commit: requests that arrive while a write is in flight
// are written together, in arrival order, by one statement under their
// services' locks (enqueue-statement.ts holds the FIFO and ticket rules).
// That shared write never waits for a lock: a request whose service another
// transaction holds is passed on to a lane of its own service, which waits
// for it, so one held service never holds up the others. Each request is
// answered after the commit of the statement that wrote it. A request left
// out (an unknown or inactive service or customer, a service the credential
// may not act on, an idempotency key used before) is explained on its own.
//
// A credential limited to some services has the case's service checked
// against its limit first, before any rule that reads what a service uses,
// and a service outside it is answered as an unknown one (actor-rules.ts).
import type { Case, CaseProperty } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { commitUnknown, isForeignKeyViolation, refusedByDatabase } from '../db/prisma-errors.js';
import { coversService, type Actor } from './actor.js';
import { requireCustomerReader, requireService, scopedIdempotencyKey } from './actor-rules.js';
import { propertiesByCase } from './case-reads.js';
import {
  enqueuedWithTokens,
  enqueueOutcomes,
  enqueueSql,
  requestHash,
  type EnqueueAnswer,
  type EnqueueOutcome,
  type LockMode,
} from './enqueue-statement.js';
import { badInput, conflict, noService, noServiceWithExtRef, notFound, GatewayError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { caseEnqueueRules, parseInput, type CaseEnqueue, type CaseEnqueueRequest } from './input-rules.js';
import { keepEstimates } from './estimate-accuracy.js';
import { standings } from './queue-reads.js';
import { NOT_WAITING, type Standing } from './standing.js';
import { checkCaseReferences } from './references.js';
import { afterWrite, readConfirmed, settleOutcome, settleWindowSeconds } from './unknown-outcome.js';

/** The stored case with what an enqueue's answer adds to it. */
export interface EnqueuedCase extends Case {
  /** The external reference of the case's service. */
  readonly serviceExtRef: string | null;
  /** The custom properties as stored, in request order. */
  readonly customProperties: readonly CaseProperty[];
  /** Position and estimated wait, read after the commit on first use: one read per batch, shared. */
  standing(): Promise<Standing>;
}

export interface EnqueuerOptions {
  /** Writes that wait for held services at once (each holds a connection of `db` meanwhile). */
  readonly maxWaiting?: number;
  /** Told when the estimates a batch answered with could not be kept (the answers are not affected). */
  readonly onEstimatesNotKept?: (error: unknown) => void;
}

export interface Enqueuer {
  /**
   * Enqueues the case for `actor`, or returns the case an earlier request of
   * the same credential with the same idempotency key created.
   */
  enqueue(request: CaseEnqueueRequest, actor: Actor): Promise<EnqueuedCase>;
}

/** A request of the batch and the credential it came with. */
interface Enqueue {
  readonly input: CaseEnqueue;
  readonly actor: Actor;
}

/** Most cases one statement writes; more waiting go in the next. */
export const MAX_BATCH = 256;

/** Keeps the estimates a batch answered with (estimate-accuracy.ts); never fails. */
type Keeper = (caseIds: readonly number[], given: readonly Standing[]) => Promise<void>;

/**
 * One standings read for a whole batch, made when the first answer asks for
 * it; `keep` keeps the estimates it gives. An answer to a retry (an earlier
 * case read back) keeps none: its first answer did.
 */
function sharedStandings(
  db: Database,
  caseIds: readonly number[],
  keep?: Keeper,
): (caseId: number) => Promise<Standing> {
  let read: Promise<Map<number, Standing>> | undefined;
  return async (caseId) => {
    // After the commit: a failover now must not fail the answer (unknown-outcome.ts, afterWrite).
    read ??= afterWrite(db, () => standings(db, caseIds)).then(async (list) => {
      await keep?.(caseIds, list);
      return new Map(caseIds.map((id, index) => [id, list[index] ?? NOT_WAITING]));
    });
    return (await read).get(caseId) ?? NOT_WAITING;
  };
}

function enqueued(
  row: Case,
  serviceExtRef: string | null,
  customProperties: readonly CaseProperty[],
  standing: (caseId: number) => Promise<Standing>,
): EnqueuedCase {
  return Object.assign(row, { serviceExtRef, customProperties, standing: () => standing(row.id) });
}

/** An earlier case, answered again to a retry: everything is read back. */
async function storedCase(db: Database, row: Case): Promise<EnqueuedCase> {
  const [service, [properties = []]] = await Promise.all([
    db.service.findUnique({ where: { id: row.serviceId }, select: { extRef: true } }),
    propertiesByCase(db, [row.id]),
  ]);
  return enqueued(row, service?.extRef ?? null, properties, sharedStandings(db, [row.id]));
}

/**
 * The case an earlier request of the same credential with the same
 * idempotency key created (a conflict when that request asked for something
 * else), or undefined when there is none, or none the credential may see
 * now (its limit narrowed since).
 */
async function earlierCase(db: Database, { input, actor }: Enqueue): Promise<EnqueuedCase | GatewayError | undefined> {
  const key = scopedIdempotencyKey(actor, input.idempotencyKey);
  if (key === null) return undefined;
  // What a first try wrote on an old primary that has not yet stopped is no answer (unknown-outcome.ts).
  const earlier = await readConfirmed(
    db,
    (tx) => tx.case.findUnique({ where: { idempotencyKey: key } }),
    (row) => row !== null,
  );
  if (!earlier || !coversService(actor, earlier.serviceId)) return undefined;
  if (earlier.requestHash === requestHash(input)) return storedCase(db, earlier);
  return conflict('idempotencyKey', 'was used before for a different request');
}

/**
 * Idempotency comes first: a retry gets the case its key created whatever
 * changed since (a classification, procedure, service or customer
 * deactivated), so a rule the request broke is told only when its key
 * names no case. Looked up only once a rule refused, so a request that
 * passes pays nothing for it; the statement applies the same order to the
 * rules it checks (whyNothingWasWritten).
 */
async function unlessRetried(db: Database, request: Enqueue, refusal: unknown): Promise<EnqueuedCase> {
  const retried = refusal instanceof GatewayError ? await earlierCase(db, request) : undefined;
  if (retried === undefined) throw refusal;
  if (retried instanceof GatewayError) throw retried;
  return retried;
}

/**
 * Nothing was written for this request: a retry, a service the credential
 * may not act on, or a reference that names nothing usable. (The statement
 * leaves a row out of a service outside the credential's limit without
 * saying so; this read tells it from the other reasons.)
 */
async function whyNothingWasWritten(db: Database, { input, actor }: Enqueue): Promise<EnqueuedCase | GatewayError> {
  const retried = await earlierCase(db, { input, actor });
  if (retried) return retried;
  const service =
    input.serviceId !== null
      ? await db.service.findUnique({
          where: { id: input.serviceId },
          select: { id: true, extRef: true, active: true },
        })
      : await db.service.findUnique({
          where: { extRef: input.serviceIdExtRef ?? '' },
          select: { id: true, extRef: true, active: true },
        });
  const serviceField = input.serviceId !== null ? 'serviceId' : 'serviceIdExtRef';
  // Outside the credential's limit, the service is not there to it.
  if (!service || !coversService(actor, service.id)) return unknownService(input);
  if (input.serviceId !== null && input.serviceIdExtRef !== null && service.extRef !== input.serviceIdExtRef) {
    return badInput(
      'serviceIdExtRef',
      'matchesServiceId',
      `"${input.serviceIdExtRef}" is not the external reference of service ${input.serviceId}`,
    );
  }
  if (!service.active) return badInput(serviceField, 'active', 'the service is inactive: it takes no new cases');
  if (input.customerId !== null) {
    const customer = await db.customer.findUnique({ where: { id: input.customerId }, select: { active: true } });
    if (!customer) return notFound('customerId', `no customer has the id ${input.customerId}`);
    if (!customer.active) return badInput('customerId', 'active', `the customer ${input.customerId} is inactive`);
  }
  // Everything checks out now, so something changed while the statement ran
  // (a reference deactivated and restored, a racing request with the same key
  // rolled back), or the key names a case of a service the credential no
  // longer covers. Nothing was written.
  const key = scopedIdempotencyKey(actor, input.idempotencyKey);
  const holder =
    key === null ? null : await db.case.findUnique({ where: { idempotencyKey: key }, select: { serviceId: true } });
  if (holder && !coversService(actor, holder.serviceId))
    return conflict('idempotencyKey', 'was used before for a different request');
  return key !== null
    ? conflict('idempotencyKey', 'a request with this key was in progress; nothing was written, send it again')
    : conflict(
        serviceField,
        'the service or customer changed while the case was written; nothing was written, send it again',
      );
}

/** The answer for a service that does not exist, named as the request names it. */
function unknownService(input: CaseEnqueue): GatewayError {
  return input.serviceId !== null
    ? noService('serviceId', input.serviceId)
    : noServiceWithExtRef(input.serviceIdExtRef ?? '');
}

/**
 * A credential limited to some services: the case's service must be one of
 * them, checked before any rule reads what a service uses (a classification's
 * services), so that no answer tells what another service uses, or whether
 * it exists. By id this reads nothing; by external reference, one read of a
 * unique index, for limited credentials only. (The statement checks the
 * limit again on the service it resolves itself.)
 */
async function requireServiceInLimit(db: Database, input: CaseEnqueue, actor: Actor): Promise<void> {
  if (actor.services === null) return;
  if (input.serviceId !== null) {
    requireService(actor, input.serviceId, 'serviceId');
    return;
  }
  const service = await db.service.findUnique({ where: { extRef: input.serviceIdExtRef ?? '' }, select: { id: true } });
  if (!service || !coversService(actor, service.id)) throw unknownService(input);
}

/** The request's service was held by another transaction: it goes to the lane that waits for that service. */
class Held {
  // Not `serviceId`: a case has one too, and TypeScript compares shapes, not classes.
  constructor(readonly heldServiceId: number) {}
}
type Written = EnqueuedCase | Held;

/** The answer to a request the statement left out; a failed read fails that request alone. */
function leftOut(
  db: Database,
  request: Enqueue,
  row: EnqueueOutcome | undefined,
  lock: LockMode,
): Promise<Written | Error> | Written {
  // Held: the service exists, takes cases and the credential may act on it, but another transaction had its lock.
  if (lock === 'skip-held' && row && !row.serviceLocked && row.serviceResolved !== null && row.serviceActive)
    return new Held(row.serviceResolved);
  return whyNothingWasWritten(db, request).catch((error: unknown) =>
    error instanceof Error ? error : new Error(String(error)),
  );
}

/** How a batch is written: the connections, and how long a lost commit is looked for. */
interface Writing {
  readonly db: Database;
  readonly writer: Database;
  readonly lock: LockMode;
  readonly keep: Keeper;
}

/** An answer for a request of a batch whose commit was lost and is found to have written its case. */
function recovered(
  row: Case & { readonly serviceExtRef: string | null },
  request: Enqueue,
  standing: (caseId: number) => Promise<Standing>,
): EnqueuedCase {
  const { serviceExtRef, ...stored } = row;
  return enqueued(stored, serviceExtRef, storedProperties(row.id, request.input), standing);
}

/**
 * The batch's commit was lost (unknown-outcome.ts): what it wrote is read
 * back by its tokens, and the requests it did not write are written again.
 */
async function settleBatch(
  writing: Writing,
  requests: readonly Enqueue[],
  tokens: readonly string[],
  sentAt: number,
): Promise<(Written | Error)[]> {
  const { writer } = writing;
  const rows = await settleOutcome<Case & { serviceExtRef: string | null }>(
    writer,
    enqueuedWithTokens(tokens, settleWindowSeconds(writer)),
    sentAt,
  );
  const byToken = new Map(rows.map((row) => [row.writeToken, row]));
  const standing = sharedStandings(
    writer,
    rows.map((row) => row.id),
    writing.keep,
  );
  const again = requests.filter((_, ord) => !byToken.has(tokens[ord] ?? null));
  const rewritten = again.length > 0 ? await writeBatch(writing, again) : [];
  let next = 0;
  return requests.map((request, ord) => {
    const row = byToken.get(tokens[ord] ?? null);
    if (row) return recovered(row, request, standing);
    return rewritten[next++] ?? new Error('enqueue: a rewritten request got no answer');
  });
}

/** The custom properties a request writes, as stored. */
function storedProperties(caseId: number, input: CaseEnqueue): CaseProperty[] {
  return input.customProperties.map((property, index) => ({
    caseId,
    key: property.key,
    value: property.value,
    position: index + 1,
  }));
}

/** Writes one batch; one answer per request, in order. */
async function writeBatch(writing: Writing, requests: readonly Enqueue[]): Promise<(Written | Error)[]> {
  const { db, writer, lock } = writing;
  const inputs = requests.map((request) => request.input);
  const tokens = requests.map(() => randomUUID());
  let rows: EnqueueOutcome[];
  const sentAt = performance.now();
  try {
    rows = enqueueOutcomes(
      await writer.$queryRaw<EnqueueAnswer>(
        enqueueSql(
          inputs,
          lock,
          requests.map((request) => request.actor),
          tokens,
        ),
      ),
    );
  } catch (error) {
    if (commitUnknown(error)) return settleBatch(writing, requests, tokens, sentAt);
    // The database refused the statement (a customer deleted since it was
    // checked, a deadlock between two batches over idempotency keys), so
    // nothing of the batch was written: write each request alone, one after
    // another in arrival order, so only the one at fault fails. Any other
    // error (the connection lost) may have come after the commit, so it is
    // not retried.
    if (!refusedByDatabase(error)) throw error;
    if (inputs.length === 1) {
      if (isForeignKeyViolation(error))
        return [notFound('customerId', `no customer has the id ${inputs[0]?.customerId}`)];
      throw error;
    }
    const answers: (Written | Error)[] = [];
    for (const request of requests) {
      answers.push(
        ...(await writeBatch(writing, [request]).catch((failed: unknown) => [
          failed instanceof Error ? failed : new Error(String(failed)),
        ])),
      );
    }
    return answers;
  }
  const byOrd = new Map(rows.map((row) => [row.ord, row]));
  const standing = sharedStandings(
    writer,
    rows.flatMap((row) => (row.id === null ? [] : [row.id])),
    writing.keep,
  );
  return Promise.all(
    requests.map(async (request, ord) => {
      const row = byOrd.get(ord);
      if (!row || row.id === null) return leftOut(db, request, row, lock);
      const {
        ord: _ord,
        writtenOrd: _writtenOrd,
        serviceResolved: _resolved,
        serviceLocked: _locked,
        serviceActive: _active,
        serviceExtRef,
        ...stored
      } = row;
      return enqueued(stored, serviceExtRef, storedProperties(row.id, request.input), standing);
    }),
  );
}

/**
 * The enqueue entry point of a gateway, created once at start-up. The shared
 * writes run on `hot` (connections that never wait for a lock); the rest,
 * including writes that wait for a held service, on `db`.
 */
export function createEnqueuer(
  db: Database,
  hot: Database = db,
  { maxWaiting = 4, onEstimatesNotKept = () => undefined }: EnqueuerOptions = {},
): Enqueuer {
  // Kept on `db`: a measurement, not the hot path's business.
  const keep: Keeper = (caseIds, given) => keepEstimates(db, caseIds, given).catch(onEstimatesNotKept);
  // One shared lane for every service, and a waiting lane per held service.
  const sharedWriting: Writing = { db, writer: hot, lock: 'skip-held', keep };
  const waitWriting: Writing = { db, writer: db, lock: 'wait', keep };
  const shared = new GroupCommit<Enqueue, Written>((requests) => writeBatch(sharedWriting, requests), MAX_BATCH);
  // Waiting writes hold a connection of `db` while they wait: a few at most,
  // so that held services cannot take every connection reads need.
  const waitSlots = pLimit(maxWaiting);
  const waiting = new GroupCommit<Enqueue, Written>(
    (requests) => waitSlots(() => writeBatch(waitWriting, requests)),
    MAX_BATCH,
  );
  return {
    async enqueue(request, actor) {
      const input = parseInput(caseEnqueueRules, request);
      // Whatever the id: the same answer for every customer id.
      if (input.customerId !== null) requireCustomerReader(actor);
      const item = { input, actor };
      try {
        // A retry gets its case even if its service's external reference moved since.
        await requireServiceInLimit(db, input, actor);
        await checkCaseReferences(db, input, actor);
      } catch (refusal) {
        return unlessRetried(db, item, refusal);
      }
      const written = await shared.submit('', item);
      if (!(written instanceof Held)) return written;
      const waited = await waiting.submit(String(written.heldServiceId), item);
      // A statement that waits for its lock never reports the service held.
      if (waited instanceof Held)
        throw new Error(`enqueue: service ${waited.heldServiceId} was reported held after waiting for it`);
      return waited;
    },
  };
}
