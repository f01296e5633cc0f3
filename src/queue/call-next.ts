// Call next: hand the oldest waiting cases of some services to the agents
// who ask, each case to exactly one agent.
//
// Exactly once, without waiting: the candidate rows are locked with
// FOR UPDATE SKIP LOCKED, so of several statements running at once each locks
// different cases, and none waits for another's transaction. The statement
// looks at the first few waiting cases of each service (an index scan each),
// orders them, and locks the oldest ones nobody else has locked: within a
// service those are always the oldest cases not already being handed out.
// Only when some of those candidates are taken by others at that moment does
// it look further (a wider candidate list), so a busy queue cannot make a
// call come back empty while cases wait.
//
// Group commit: calls for the same services that arrive while a hand-out for
// them is in flight go together in one statement and one commit; the oldest
// case goes to the call that arrived first, the next to the second, and so on.
// Each call brings its agent and its credential's id, which the history
// event records; a credential limited to some services is refused the others
// before anything is locked, with the answer for a service that does not exist.
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/prisma-client.js';
import { commitUnknown } from '../db/prisma-errors.js';
import { Prisma } from '../generated/prisma/client.js';
import type { Case } from '../generated/prisma/client.js';
import type { Actor } from './actor.js';
import { actingAgent, requireService } from './actor-rules.js';
import { caseColumns } from './case-columns.js';
import { noService } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { serviceIdsByExtRef } from './references.js';
import { callNextRules, parseInput, type CallNextRequest } from './input-rules.js';
import { settleOutcome, settleWindowSeconds } from './unknown-outcome.js';

export interface Caller {
  /** The case handed to the acting agent, or null when no case waits in those services. */
  callNext(request: CallNextRequest, actor: Actor): Promise<Case | null>;
}

/** One call of a batch: who calls (the agent) and with which credential (the actor's id). */
interface Call {
  readonly serviceIds: readonly number[];
  readonly agent: string;
  readonly actor: string;
}

/** What every row of the statement carries besides the case. */
interface Counts {
  /** Waiting cases the statement considered. */
  readonly candidates: number;
  /** How many of the requested services exist. */
  readonly known: number;
}

/** The row when no case was locked: every case column is null. */
type NullCase = { [K in keyof Case]: null };
type CalledRow = (Case & Counts & { readonly ord: number }) | (NullCase & Counts & { readonly ord: null });

// Candidates per service on each try (at least as many as calls in the batch); the last is unbounded.
export const CANDIDATES = [16, 1024, 2 ** 31 - 1];

/** Most calls one statement answers. */
export const MAX_BATCH = 64;

/**
 * The hand-out statement: the oldest `agents.length` free cases, the first to
 * `agents[0]` (acting with credential `actors[0]`, `open` when not given);
 * `candidates` is how many waiting cases of each service it considers.
 */
export function callNextSql(
  serviceIds: readonly number[],
  agents: readonly string[],
  candidates: number,
  actors: readonly string[] = agents.map(() => 'open'),
  tokens: readonly (string | null)[] = agents.map(() => null),
): Prisma.Sql {
  // The candidate ids go to the lock step as an array, so it fetches them by
  // primary key whatever the planner thinks of the list's size.
  return Prisma.sql`/* hot: call next */
    WITH known AS (
      -- A desk set up with a service that does not exist gets an error, not an empty queue.
      SELECT count(*)::int AS services FROM services WHERE id = ANY(${serviceIds}::int[])
    ), candidate AS (
      SELECT c.id
        FROM unnest(${serviceIds}::int[]) AS s(id)
        CROSS JOIN LATERAL (
          SELECT id FROM cases
           WHERE service_id = s.id AND status = 'WAITING'
           ORDER BY queued_at, queue_seq
           LIMIT ${candidates}
        ) c
    ), next AS (
      SELECT id, queued_at, queue_seq FROM cases
       WHERE id = ANY(ARRAY(SELECT id FROM candidate)) AND status = 'WAITING'
         AND (SELECT services FROM known) = ${serviceIds.length}
       ORDER BY queued_at, queue_seq
       LIMIT ${agents.length}
         FOR UPDATE SKIP LOCKED
    ), assigned AS (
      -- Oldest case to the first call.
      SELECT n.id, a.agent, a.actor, a.token, a.ord::int AS ord
        FROM (SELECT id, row_number() OVER (ORDER BY queued_at, queue_seq) AS ord FROM next) n
        JOIN unnest(${agents}::text[], ${actors}::text[], ${tokens}::uuid[]) WITH ORDINALITY AS a(agent, actor, token, ord)
          ON a.ord = n.ord
    ), called AS (
      UPDATE cases c
         SET status = 'IN_SERVICE', called_at = clock_timestamp(), updated_at = clock_timestamp(),
             last_action = 'CALL_NEXT', last_agent = assigned.agent, write_token = assigned.token
        FROM assigned
       WHERE c.id = assigned.id
      RETURNING ${caseColumns('c')}, assigned.ord
    ), event AS (
      INSERT INTO case_events (case_id, action, agent, actor, from_status, to_status, at)
      SELECT c.id, 'CALL_NEXT', c."lastAgent", a.actor, 'WAITING', 'IN_SERVICE', c."calledAt"
        FROM called c JOIN assigned a ON a.id = c.id ORDER BY c.ord
    )
    SELECT called.*, (SELECT count(*)::int FROM candidate) AS candidates, (SELECT services FROM known) AS known
      FROM (VALUES (1)) AS always(one) LEFT JOIN called ON TRUE`;
}

/** Nothing to hand out: tells a quiet queue from a service that does not exist. */
async function requireServices(db: Database, serviceIds: readonly number[]): Promise<void> {
  const found = await db.service.findMany({ where: { id: { in: [...serviceIds] } }, select: { id: true } });
  const missing = serviceIds.find((id) => !found.some((service) => service.id === id));
  if (missing !== undefined) throw noService('serviceIds', missing);
}

/** The cases handed out with `tokens` (within the last `withinSeconds`), as the statement returns them. */
function calledWithTokens(serviceIds: readonly number[], tokens: readonly string[], withinSeconds: number): Prisma.Sql {
  return Prisma.sql`
    SELECT ${caseColumns('c')} FROM cases c
     WHERE c.service_id = ANY(${serviceIds}::int[]) AND c.called_at >= now() - make_interval(secs => ${withinSeconds})
       AND c.write_token = ANY(${tokens}::uuid[])`;
}

/** How a batch of calls is written: the connections, and how long a lost commit is looked for. */
interface Calling {
  readonly db: Database;
  readonly hot: Database;
}

/**
 * A hand-out's commit was lost (unknown-outcome.ts): the calls whose case it
 * committed get that case, read back by their tokens; the others call again.
 */
async function settleCalls(
  calling: Calling,
  serviceIds: readonly number[],
  calls: readonly Call[],
  tokens: readonly string[],
  sentAt: number,
): Promise<(Case | null | Error)[]> {
  const { hot } = calling;
  const rows = await settleOutcome<Case>(hot, calledWithTokens(serviceIds, tokens, settleWindowSeconds(hot)), sentAt);
  const byToken = new Map(rows.map((row) => [row.writeToken, row]));
  const again = calls.filter((_, index) => !byToken.has(tokens[index] ?? null));
  const retried = again.length > 0 ? await callBatch(calling, serviceIds, again) : [];
  let next = 0;
  return calls.map((_, index) => byToken.get(tokens[index] ?? null) ?? retried[next++] ?? null);
}

/** Answers a batch of calls on the same services, in arrival order: a case, null, or an error for each. */
async function callBatch(
  calling: Calling,
  serviceIds: readonly number[],
  calls: readonly Call[],
): Promise<(Case | null | Error)[]> {
  const { db, hot } = calling;
  const answers: (Case | null)[] = [];
  for (const candidates of CANDIDATES) {
    const waiting = calls.slice(answers.length);
    const tokens = waiting.map(() => randomUUID());
    let rows: CalledRow[];
    const sentAt = performance.now();
    try {
      // Room for this batch's cases, and for as many held by other gateways.
      rows = await hot.$queryRaw<CalledRow[]>(
        callNextSql(
          serviceIds,
          waiting.map((call) => call.agent),
          Math.max(candidates, 2 * waiting.length),
          waiting.map((call) => call.actor),
          tokens,
        ),
      );
    } catch (error) {
      if (commitUnknown(error))
        return [...answers, ...(await settleCalls(calling, serviceIds, waiting, tokens, sentAt))];
      // Cases handed out by an earlier try are committed: those calls get them.
      if (answers.length === 0) throw error;
      const failed = error instanceof Error ? error : new Error(String(error));
      return calls.map((_, index) => answers[index] ?? failed);
    }
    const [first] = rows;
    if (!first) break;
    if (first.known !== serviceIds.length) await requireServices(db, serviceIds);
    const called = rows.flatMap((row) => (row.ord === null ? [] : [row])).sort((a, b) => a.ord - b.ord);
    for (const { ord: _ord, candidates: _candidates, known: _known, ...handed } of called) answers.push(handed);
    // Done when every call has its case, or when no candidate was left over
    // (nothing else waits); otherwise others held some: look further.
    if (answers.length === calls.length || first.candidates <= called.length) break;
  }
  return calls.map((_, index) => answers[index] ?? null);
}

/** The call-next entry point of a gateway, created once at start-up; hand-outs run on `hot`. */
export function createCaller(db: Database, hot: Database = db): Caller {
  const calling: Calling = { db, hot };
  const lanes = new GroupCommit<Call, Case | null>(async (calls) => {
    const [first] = calls;
    return first ? callBatch(calling, first.serviceIds, calls) : [];
  }, MAX_BATCH);
  return {
    async callNext(request, actor) {
      const input = parseInput(callNextRules, request);
      const agent = actingAgent(actor, input.agent);
      // Named as a missing service is (requireServices): `serviceIds`, not its place in the list.
      for (const serviceId of input.serviceIds) requireService(actor, serviceId, 'serviceIds');
      // By external reference: one read more, and only then (outside the actor's services: NOT_FOUND).
      const byRef = await serviceIdsByExtRef(db, input.serviceExtRefs, 'serviceExtRefs', actor);
      const sorted = [...new Set([...input.serviceIds, ...byRef])].sort((a, b) => a - b);
      return lanes.submit(JSON.stringify(sorted), { serviceIds: sorted, agent, actor: actor.id });
    },
  };
}
