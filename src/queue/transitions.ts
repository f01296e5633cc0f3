// The case life cycle: which action may start from which status, and where
// it leads. Every status change goes through `applyTransition`, one SQL
// statement that locks the case if the table below lets the action start from
// its current status, updates it and writes the history event; so two agents
// acting on one case at once are applied one after the other, and the second
// sees the first. (Call next, in call-next.ts, makes the same change to the
// case it picks.) The same statement leaves alone a case of a service the
// acting credential is not limited to: it is neither locked nor changed, and
// answered as a case that does not exist.
//
//   WAITING ──call──▶ IN_SERVICE ──complete──▶ COMPLETED
//      ▲                  │
//      └──return to queue─┘        WAITING or IN_SERVICE ──cancel──▶ CANCELLED
import { randomUUID } from 'node:crypto';
import { Prisma } from '../generated/prisma/client.js';
import type { Case, CaseAction, CaseStatus } from '../generated/prisma/client.js';
import type { Database } from '../db/prisma-client.js';
import { commitUnknown } from '../db/prisma-errors.js';
import { coversService, type Actor } from './actor.js';
import { actingAgent, serviceLimit } from './actor-rules.js';
import { caseColumns } from './case-columns.js';
import { illegalTransition, noCase } from './errors.js';
import {
  cancelCaseRules,
  caseActionRules,
  parseInput,
  returnToQueueRules,
  type CancelCaseRequest,
  type CaseActionRequest,
  type ReturnToQueue,
  type ReturnToQueueRequest,
} from './input-rules.js';
import { settleOutcome } from './unknown-outcome.js';

type AgentAction = Exclude<CaseAction, 'ENQUEUE' | 'AUTO_CLOSE'>;

export const TRANSITIONS: Record<AgentAction, { readonly from: readonly CaseStatus[]; readonly to: CaseStatus }> = {
  CALL_NEXT: { from: ['WAITING'], to: 'IN_SERVICE' },
  CALL_CASE: { from: ['WAITING'], to: 'IN_SERVICE' },
  COMPLETE: { from: ['IN_SERVICE'], to: 'COMPLETED' },
  RETURN_TO_QUEUE: { from: ['IN_SERVICE'], to: 'WAITING' },
  CANCEL: { from: ['WAITING', 'IN_SERVICE'], to: 'CANCELLED' },
};

const CLOSED: readonly CaseStatus[] = ['COMPLETED', 'CANCELLED'];

interface Transition {
  readonly caseId: number;
  /** Stamped on the case (unknown-outcome.ts). */
  readonly token?: string;
  readonly action: AgentAction;
  readonly agent: string;
  readonly actor: Actor;
  readonly reason: string | null;
  /** The new place in the queue, for returns: (queued_at, queue_seq), and the first queue_seq kept. */
  readonly place?: { readonly queuedAt: Prisma.Sql; readonly queueSeq: Prisma.Sql; readonly enqueueSeq: Prisma.Sql };
}

/** The case is in a service the actor may act on (`services`: its limit, null for none). */
const inServices = (services: number[] | null, column: Prisma.Sql): Prisma.Sql =>
  Prisma.sql`(${services}::int[] IS NULL OR ${column} = ANY(${services}::int[]))`;

/** Locks the case (when it may be returned), then its service: a return's place must be worked out under both locks. */
const lockForReturn = (caseId: number, actor: Actor): Prisma.Sql => Prisma.sql`
  SELECT c.id FROM cases c JOIN services s ON s.id = c.service_id
   WHERE c.id = ${caseId} AND c.status::text = ANY(${TRANSITIONS.RETURN_TO_QUEUE.from}::text[])
     AND ${inServices(serviceLimit(actor), Prisma.sql`c.service_id`)}
     FOR UPDATE OF c FOR NO KEY UPDATE OF s`;

async function applyTransition(db: Prisma.TransactionClient, change: Transition): Promise<Case> {
  const { from, to } = TRANSITIONS[change.action];
  const place = change.place ?? {
    queuedAt: Prisma.sql`c.queued_at`,
    queueSeq: Prisma.sql`c.queue_seq`,
    enqueueSeq: Prisma.sql`c.enqueue_seq`,
  };
  const rows = await db.$queryRaw<(Case & { fromStatus: CaseStatus })[]>`
    WITH target AS (
      -- Only a case the action may start from is locked: a refused action
      -- must not hide a waiting case from call next, even for a moment.
      SELECT id, status, service_id, enqueued_at FROM cases
       WHERE id = ${change.caseId} AND status::text = ANY(${from}::text[])
         AND ${inServices(serviceLimit(change.actor), Prisma.sql`service_id`)}
         FOR UPDATE
    ), stamp AS (
      SELECT clock_timestamp() AS at FROM target
    ), changed AS (
      UPDATE cases c
         SET status = ${to}::case_status,
             last_action = ${change.action}::case_action,
             last_agent = ${change.agent},
             updated_at = stamp.at,
             called_at = CASE WHEN ${to} = 'IN_SERVICE' THEN stamp.at ELSE c.called_at END,
             closed_at = CASE WHEN ${to} = ANY(${CLOSED}::text[]) THEN stamp.at ELSE c.closed_at END,
             queued_at = ${place.queuedAt},
             queue_seq = ${place.queueSeq},
             enqueue_seq = ${place.enqueueSeq},
             write_token = ${change.token ?? null}::uuid
        FROM target, stamp
       WHERE c.id = target.id
      RETURNING ${caseColumns('c')}, target.status::text AS "fromStatus"
    ), event AS (
      INSERT INTO case_events (case_id, action, agent, actor, reason, from_status, to_status, at)
      SELECT id, ${change.action}::case_action, ${change.agent}, ${change.actor.id}, ${change.reason},
             "fromStatus"::case_status, ${to}::case_status, "updatedAt"
        FROM changed
    )
    SELECT * FROM changed`;
  const [row] = rows;
  if (row) {
    const { fromStatus: _from, ...changed } = row;
    return changed;
  }
  // Nothing changed: say why. A case never changes service, so this read
  // agrees with the statement's on whether the actor may act on it; one of
  // another service is not there to the actor (actor-rules.ts), whatever its
  // status, and the same read was made either way.
  const current = await db.case.findUnique({
    where: { id: change.caseId },
    select: { status: true, serviceId: true },
  });
  if (!current || !coversService(change.actor, current.serviceId)) throw noCase('caseId', change.caseId);
  throw illegalTransition(change.action, current.status, change.caseId);
}

/**
 * A return puts the case back into its service's queue: like an enqueue, it
 * holds the service's lock, so the queue's order stays the commit order. Its
 * place is worked out in a second statement, whose snapshot is taken after
 * both locks are held and so sees every case committed before them.
 */
function attempt(db: Database, change: Transition): Promise<Case> {
  if (!change.place) return applyTransition(db, change);
  return db.$transaction(async (tx) => {
    await tx.$queryRaw(lockForReturn(change.caseId, change.actor));
    return applyTransition(tx, change);
  });
}

/**
 * Applies the change once. When its commit is lost (unknown-outcome.ts), the
 * case is read back by the change's token: found, the change committed;
 * not, it is applied again (and refused if the case moved on meanwhile).
 */
async function transition(db: Database, change: Transition): Promise<Case> {
  const token = randomUUID();
  const sentAt = performance.now();
  try {
    return await attempt(db, { ...change, token });
  } catch (error) {
    if (!commitUnknown(error)) throw error;
    const [committed] = await settleOutcome<Case>(
      db,
      Prisma.sql`SELECT ${caseColumns('c')} FROM cases c WHERE c.id = ${change.caseId} AND c.write_token = ${token}::uuid`,
      sentAt,
    );
    return committed ?? transition(db, change);
  }
}

/** A case and who acts on it, from a request: the agent as the credential allows it. */
function acting<T extends { caseId: number; agent: string | null }>(
  input: T,
  actor: Actor,
): Omit<T, 'agent'> & { agent: string; actor: Actor } {
  return { ...input, agent: actingAgent(actor, input.agent), actor };
}

export const callCase = async (db: Database, request: CaseActionRequest, actor: Actor): Promise<Case> =>
  transition(db, { ...acting(parseInput(caseActionRules, request), actor), action: 'CALL_CASE', reason: null });

export const completeCase = async (db: Database, request: CaseActionRequest, actor: Actor): Promise<Case> =>
  transition(db, { ...acting(parseInput(caseActionRules, request), actor), action: 'COMPLETE', reason: null });

export const cancelCase = async (db: Database, request: CancelCaseRequest, actor: Actor): Promise<Case> =>
  transition(db, { ...acting(parseInput(cancelCaseRules, request), actor), action: 'CANCEL' });

const NEXT_SEQ = Prisma.sql`nextval(pg_get_serial_sequence('cases', 'queue_seq'))`;
/**
 * The queue_seq the case was enqueued with: kept in enqueue_seq by the first
 * return that replaces it (SET reads the row as it was before the update), so
 * the enqueue statement, the hot path, never writes it.
 */
const FIRST_SEQ = Prisma.sql`coalesce(c.enqueue_seq, c.queue_seq)`;

/**
 * BACK: behind everyone waiting now. FRONT: ahead of everyone (a millisecond
 * before the head). ORIGINAL: where it first stood, by its enqueue time and
 * the sequence number it was enqueued with: exactly between the cases that
 * were enqueued before and after it and still stand where they did.
 */
const PLACE: Record<ReturnToQueue['placement'], NonNullable<Transition['place']>> = {
  BACK: { queuedAt: Prisma.sql`stamp.at`, queueSeq: NEXT_SEQ, enqueueSeq: FIRST_SEQ },
  FRONT: {
    queuedAt: Prisma.sql`least(stamp.at, (SELECT w.queued_at FROM cases w
                           WHERE w.service_id = target.service_id AND w.status = 'WAITING'
                           ORDER BY w.queued_at, w.queue_seq LIMIT 1)) - interval '1 millisecond'`,
    queueSeq: NEXT_SEQ,
    enqueueSeq: FIRST_SEQ,
  },
  ORIGINAL: { queuedAt: Prisma.sql`target.enqueued_at`, queueSeq: FIRST_SEQ, enqueueSeq: FIRST_SEQ },
};

export async function returnToQueue(db: Database, request: ReturnToQueueRequest, actor: Actor): Promise<Case> {
  const input = parseInput(returnToQueueRules, request);
  return transition(db, {
    caseId: input.caseId,
    agent: actingAgent(actor, input.agent),
    actor,
    reason: input.reason,
    action: 'RETURN_TO_QUEUE',
    place: PLACE[input.placement],
  });
}
