// What must hold in the database after any sequence of requests. Each check
// is a query for the rows that break it: none may come back.
import type pg from 'pg';
import type { Ledger } from './ledger.js';
import type { Json } from './values.js';

/** A pool, or one of its clients inside a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

interface Check {
  readonly name: string;
  readonly sql: string;
}

/** Which action may follow which status, and where it leads (src/queue/transitions.ts, enqueue-statement.ts). */
const ALLOWED = `(VALUES
  ('ENQUEUE', NULL, 'WAITING'), ('AUTO_CLOSE', NULL, 'COMPLETED'),
  ('CALL_NEXT', 'WAITING', 'IN_SERVICE'), ('CALL_CASE', 'WAITING', 'IN_SERVICE'),
  ('COMPLETE', 'IN_SERVICE', 'COMPLETED'), ('RETURN_TO_QUEUE', 'IN_SERVICE', 'WAITING'),
  ('CANCEL', 'WAITING', 'CANCELLED'), ('CANCEL', 'IN_SERVICE', 'CANCELLED')) AS allowed(action, from_status, to_status)`;

const EVENTS = `(SELECT e.*, row_number() OVER w AS n, lag(e.to_status) OVER w AS previous_to, lag(e.at) OVER w AS previous_at,
                        count(*) OVER (PARTITION BY e.case_id) AS total
                   FROM case_events e WINDOW w AS (PARTITION BY e.case_id ORDER BY e.id)) ev`;

const LATEST = `LEFT JOIN LATERAL (SELECT * FROM case_events e WHERE e.case_id = c.id ORDER BY e.id DESC LIMIT 1) latest ON true`;

const PAD = `lpad(c.ticket_number::text, greatest(3, length(c.ticket_number::text)), '0')`;

export const CHECKS: readonly Check[] = [
  {
    name: 'every case starts with one ENQUEUE (AUTO_CLOSE for autoClose cases) from no status',
    sql: `SELECT c.id, ev.action, ev.from_status FROM cases c LEFT JOIN ${EVENTS} ON ev.case_id = c.id AND ev.n = 1
           WHERE ev.id IS NULL OR ev.from_status IS NOT NULL
              OR ev.action::text <> CASE WHEN c.auto_close THEN 'AUTO_CLOSE' ELSE 'ENQUEUE' END`,
  },
  {
    name: 'a case’s status, last action and last agent are those of its latest event',
    sql: `SELECT c.id, c.status, latest.to_status, c.last_action, latest.action FROM cases c ${LATEST}
           WHERE latest.id IS NULL OR c.status <> latest.to_status OR c.last_action <> latest.action
              OR c.last_agent IS DISTINCT FROM latest.agent`,
  },
  {
    name: 'each event starts from the status the one before left, by an allowed transition',
    sql: `SELECT ev.case_id, ev.id, ev.action, ev.from_status, ev.to_status, ev.previous_to FROM ${EVENTS}
           WHERE ev.from_status IS DISTINCT FROM ev.previous_to
              OR NOT EXISTS (SELECT 1 FROM ${ALLOWED} WHERE allowed.action = ev.action::text
                               AND allowed.from_status IS NOT DISTINCT FROM ev.from_status::text
                               AND allowed.to_status = ev.to_status::text)`,
  },
  {
    name: 'events of a case are in time order',
    sql: `SELECT ev.case_id, ev.id, ev.at, ev.previous_at FROM ${EVENTS} WHERE ev.at < ev.previous_at`,
  },
  {
    name: 'tickets are unique per service and day',
    sql: `SELECT service_id, ticket_day, ticket, count(*) FROM cases GROUP BY service_id, ticket_day, ticket HAVING count(*) > 1
          UNION ALL
          SELECT service_id, ticket_day, ticket_number::text, count(*) FROM cases GROUP BY service_id, ticket_day, ticket_number HAVING count(*) > 1`,
  },
  {
    name: 'a ticket is a queue code of at most 10 characters and the zero-padded running number, from 1',
    sql: `SELECT c.id, c.ticket, c.ticket_number FROM cases c
           WHERE c.ticket_number < 1 OR right(c.ticket, length(${PAD})) <> ${PAD}
              OR length(c.ticket) - length(${PAD}) > 10 OR left(c.ticket, length(c.ticket) - length(${PAD})) !~ '^[A-Z0-9]*$'`,
  },
  {
    name: 'queue sequence numbers are unique',
    sql: `SELECT queue_seq, count(*) FROM cases GROUP BY queue_seq HAVING count(*) > 1`,
  },
  {
    name: "every service with cases has a ticket counter on its latest ticket day, at or past that day's highest number",
    sql: `SELECT c.service_id, max(c.ticket_day), t.day, t.last_number FROM cases c
            LEFT JOIN ticket_counters t ON t.service_id = c.service_id
           GROUP BY c.service_id, t.service_id, t.day, t.last_number
          HAVING t.service_id IS NULL OR max(c.ticket_day) > t.day
              OR t.last_number < (SELECT max(x.ticket_number) FROM cases x WHERE x.service_id = t.service_id AND x.ticket_day = t.day)`,
  },
  {
    name: 'no two open cases of a service share a ticket',
    sql: `SELECT service_id, ticket, count(*) FROM cases WHERE status IN ('WAITING', 'IN_SERVICE')
           GROUP BY service_id, ticket HAVING count(*) > 1`,
  },
  {
    name: 'closed cases have closed_at, the time of their closing event; active ones have none',
    sql: `SELECT c.id, c.status, c.closed_at, latest.at FROM cases c ${LATEST}
           WHERE (c.status IN ('COMPLETED', 'CANCELLED')) <> (c.closed_at IS NOT NULL)
              OR (c.closed_at IS NOT NULL AND c.closed_at <> latest.at)`,
  },
  {
    name: 'called_at is the time of the latest call, and set exactly when the case was ever called',
    sql: `SELECT c.id, c.called_at, called.at FROM cases c
            LEFT JOIN LATERAL (SELECT max(e.at) AS at FROM case_events e
                                WHERE e.case_id = c.id AND e.action IN ('CALL_NEXT', 'CALL_CASE')) called ON true
           WHERE c.called_at IS DISTINCT FROM called.at OR (c.status = 'IN_SERVICE' AND c.called_at IS NULL)`,
  },
  {
    name: 'autoClose cases are COMPLETED at their enqueue time with one event',
    sql: `SELECT c.id, c.status, c.closed_at, c.enqueued_at FROM cases c
           WHERE c.auto_close AND (c.status <> 'COMPLETED' OR c.closed_at IS DISTINCT FROM c.enqueued_at
                 OR (SELECT count(*) FROM case_events e WHERE e.case_id = c.id) <> 1)`,
  },
  {
    name: 'a case never returned to the queue is queued at its enqueue time',
    sql: `SELECT c.id, c.queued_at, c.enqueued_at FROM cases c
           WHERE c.queued_at <> c.enqueued_at
             AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.action = 'RETURN_TO_QUEUE')`,
  },
  {
    name: 'idempotency keys are unique, each with its request hash',
    sql: `SELECT idempotency_key, count(*) FROM cases WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key HAVING count(*) > 1
          UNION ALL
          SELECT id::text, 0 FROM cases WHERE (idempotency_key IS NULL) <> (request_hash IS NULL)`,
  },
  {
    name: 'a case’s custom properties are numbered 1..n in request order',
    sql: `SELECT case_id, count(*), min(position), max(position) FROM case_properties GROUP BY case_id
          HAVING min(position) <> 1 OR max(position) <> count(*) OR count(DISTINCT position) <> count(*)`,
  },
  {
    // The fuzz never sends U+FFFD: one stored means invalid UTF-8 was decoded instead of refused (issue 8, item 9).
    name: 'no stored text holds U+FFFD',
    sql: `SELECT 'case', id::text FROM cases
           WHERE concat_ws('|', subject, notes, ext_ref, classification_code, procedure_ext_ref, procedure_option_ext_ref,
                           idempotency_key, last_agent) LIKE '%' || U&'\\FFFD' || '%'
          UNION ALL SELECT 'property', case_id::text FROM case_properties WHERE key || value LIKE '%' || U&'\\FFFD' || '%'
          UNION ALL SELECT 'event', id::text FROM case_events WHERE concat_ws('|', agent, reason) LIKE '%' || U&'\\FFFD' || '%'
          UNION ALL SELECT 'service', id::text FROM services WHERE concat_ws('|', name, ext_ref) LIKE '%' || U&'\\FFFD' || '%'`,
  },
];

/** Broken checks, each with up to five of the rows that break it. */
export async function brokenInvariants(sql: Queryable): Promise<string[]> {
  const broken: string[] = [];
  for (const check of CHECKS) {
    const { rows } = await sql.query(`SELECT * FROM (${check.sql}) broken LIMIT 5`);
    if (rows.length > 0) broken.push(`${check.name}: ${JSON.stringify(rows)}`);
  }
  return broken;
}

interface StoredCase {
  id: number;
  service_id: number;
  customer_id: number | null;
  ext_ref: string | null;
  notes: string | null;
  subject: string | null;
  classification_code: string | null;
  auto_close: boolean;
  procedure_ext_ref: string | null;
  procedure_option_ext_ref: string | null;
  idempotency_key: string | null;
  properties: { key: string; value: string }[];
}

const asList = (value: Json): Json =>
  value === null ? [] : Array.isArray(value) ? (value as readonly Json[]) : [value];

const given = (input: Readonly<Record<string, Json>>, name: string): Json => input[name] ?? null;

/** Differences between an acknowledged enqueue's input and the case stored for it. */
function differences(input: Readonly<Record<string, Json>>, stored: StoredCase): string[] {
  const expected: Record<string, Json> = {
    customer_id: given(input, 'customerId'),
    ext_ref: given(input, 'extRef'),
    notes: given(input, 'notes'),
    subject: given(input, 'subject'),
    classification_code: given(input, 'classificationCode'),
    auto_close: given(input, 'autoClose') ?? false,
    procedure_ext_ref: given(input, 'procedureExtRef'),
    procedure_option_ext_ref: given(input, 'procedureOptionExtRef'),
    idempotency_key: given(input, 'idempotencyKey'),
    // GraphQL takes a single value where a list is expected as a list of one.
    properties: asList(given(input, 'customProperties')),
    ...(input['serviceId'] !== undefined && input['serviceId'] !== null ? { service_id: input['serviceId'] } : {}),
  };
  const actual = stored as unknown as Record<string, unknown>;
  return Object.entries(expected)
    .filter(([column, value]) => JSON.stringify(actual[column]) !== JSON.stringify(value))
    .map(([column, value]) => `${column}: asked ${JSON.stringify(value)}, stored ${JSON.stringify(actual[column])}`);
}

/**
 * No partial writes, nothing acknowledged lost, nothing refused written:
 * every acknowledged enqueue is stored whole, as asked; every acknowledged
 * transition is in its case's history; a refused enqueue's key names no
 * case; cases nobody was told about number no more than the answers that
 * could not say; unused ticket numbers no more than reused keys explain.
 */
export async function brokenPromises(sql: Queryable, ledger: Ledger): Promise<string[]> {
  const broken: string[] = [];
  const { rows } = await sql.query<StoredCase>(
    `SELECT c.id, c.service_id, c.customer_id, c.ext_ref, c.notes, c.subject, c.classification_code, c.auto_close,
            c.procedure_ext_ref, c.procedure_option_ext_ref, c.idempotency_key,
            coalesce((SELECT json_agg(json_build_object('key', p.key, 'value', p.value) ORDER BY p.position)
                        FROM case_properties p WHERE p.case_id = c.id), '[]') AS properties
       FROM cases c`,
  );
  const stored = new Map(rows.map((row) => [row.id, row]));
  const acked = new Set(ledger.rawCaseIds);
  for (const ack of ledger.enqueueAcks) {
    acked.add(ack.caseId);
    const row = stored.get(ack.caseId);
    if (!row) broken.push(`acknowledged case ${ack.caseId} is not stored`);
    else {
      const diff = differences(ack.input, row);
      if (diff.length > 0) broken.push(`case ${ack.caseId} is not stored as acknowledged: ${diff.join('; ')}`);
    }
  }
  const byKey = new Map<string, Set<number>>();
  for (const ack of ledger.enqueueAcks) {
    const key = ack.input['idempotencyKey'];
    if (typeof key === 'string') byKey.set(key, (byKey.get(key) ?? new Set()).add(ack.caseId));
  }
  for (const [key, ids] of byKey)
    if (ids.size > 1) broken.push(`idempotency key ${key} was answered with cases ${[...ids].join(', ')}`);

  const unacknowledged = rows.filter((row) => !acked.has(row.id)).length;
  if (unacknowledged > ledger.unknownEnqueues)
    broken.push(
      `${unacknowledged} stored cases were never acknowledged, but only ${ledger.unknownEnqueues} answers left an enqueue's outcome unknown`,
    );

  // Keys PostgreSQL could not even compare (NUL, lone surrogates) cannot have been stored.
  const onceSent = ledger.refusedKeys.filter(
    (key) => ledger.keyUses.get(key) === 1 && key.isWellFormed() && !key.includes('\u0000'),
  );
  const { rows: written } = await sql.query<{ id: number; idempotency_key: string }>(
    'SELECT id, idempotency_key FROM cases WHERE idempotency_key = ANY($1::text[])',
    [onceSent],
  );
  for (const row of written)
    broken.push(`refused enqueue with key ${row.idempotency_key} was written as case ${row.id}`);

  const { rows: events } = await sql.query<{ case_id: number; action: string; agent: string | null }>(
    `SELECT case_id, action::text, agent FROM case_events WHERE agent IS NOT NULL`,
  );
  const recorded = new Set(events.map((event) => JSON.stringify([event.case_id, event.action, event.agent])));
  for (const ack of ledger.transitionAcks)
    if (!recorded.has(JSON.stringify([ack.caseId, ack.action, ack.agent])))
      broken.push(`acknowledged ${ack.action} of case ${ack.caseId} by ${ack.agent} is not in its history`);

  const [gaps] = (
    await sql.query<{ gaps: number }>(
      // The counter's current run numbered the cases of its days since it started from 1.
      `SELECT coalesce(sum(t.last_number - (SELECT count(*) FROM cases c
                                              WHERE c.service_id = t.service_id AND c.ticket_day >= t.started_on)), 0)::int AS gaps
         FROM ticket_counters t`,
    )
  ).rows;
  if ((gaps?.gaps ?? 0) > ledger.keyReuses())
    broken.push(
      `${gaps?.gaps} ticket numbers were drawn but not used, more than the ${ledger.keyReuses()} enqueues that reused a key explain`,
    );
  return broken;
}
