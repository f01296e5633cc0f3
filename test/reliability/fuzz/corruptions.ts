// Damage the checks must notice: each statement breaks one promise of the
// model in a database the fuzz left consistent. Applied one at a time inside
// a transaction that is rolled back, they show the checks are not vacuous.
export interface Corruption {
  readonly name: string;
  readonly sql: string;
  /** A fragment of the report the checks must then give. */
  readonly noticedAs: string;
}

const A_WAITING_CASE = `(SELECT id FROM cases WHERE status = 'WAITING' ORDER BY id LIMIT 1)`;
const A_CALLED_CASE = `(SELECT id FROM cases WHERE called_at IS NOT NULL ORDER BY id LIMIT 1)`;
const A_CASE_WITH_PROPERTIES = `(SELECT case_id FROM case_properties ORDER BY case_id LIMIT 1)`;

export const CORRUPTIONS: readonly Corruption[] = [
  {
    name: 'a case loses its enqueue event',
    sql: `DELETE FROM case_events WHERE id = (SELECT min(id) FROM case_events)`,
    noticedAs: 'starts with one ENQUEUE',
  },
  {
    name: 'a waiting case is marked completed without an event',
    sql: `UPDATE cases SET status = 'COMPLETED' WHERE id = ${A_WAITING_CASE}`,
    noticedAs: 'are those of its latest event',
  },
  {
    name: 'a completed case loses closed_at',
    sql: `UPDATE cases SET closed_at = NULL WHERE id = (SELECT id FROM cases WHERE status = 'COMPLETED' ORDER BY id LIMIT 1)`,
    noticedAs: 'closed cases have closed_at',
  },
  {
    name: 'a called case loses called_at',
    sql: `UPDATE cases SET called_at = NULL WHERE id = ${A_CALLED_CASE}`,
    noticedAs: 'called_at is the time of the latest call',
  },
  {
    name: 'two cases share a ticket',
    sql: `UPDATE cases c SET ticket = o.ticket FROM cases o
           WHERE o.service_id = c.service_id AND o.ticket_day = c.ticket_day AND o.id < c.id
             AND c.id = (SELECT max(id) FROM cases x WHERE EXISTS (SELECT 1 FROM cases y WHERE y.service_id = x.service_id AND y.ticket_day = x.ticket_day AND y.id < x.id))`,
    noticedAs: 'tickets are unique per service and day',
  },
  {
    name: 'two cases share a queue sequence number',
    sql: `UPDATE cases SET queue_seq = (SELECT min(queue_seq) FROM cases) WHERE id = (SELECT max(id) FROM cases)`,
    noticedAs: 'queue sequence numbers are unique',
  },
  {
    name: 'an event is written out of order',
    sql: `INSERT INTO case_events (case_id, action, agent, from_status, to_status)
          SELECT id, 'COMPLETE', 'x', 'IN_SERVICE', 'COMPLETED' FROM cases WHERE id = ${A_WAITING_CASE}`,
    noticedAs: 'by an allowed transition',
  },
  {
    name: 'a case loses one of its custom properties (a partial write)',
    sql: `DELETE FROM case_properties WHERE case_id = ${A_CASE_WITH_PROPERTIES} AND position = 1`,
    noticedAs: 'is not stored as acknowledged',
  },
  {
    name: "an open case shows another open case's ticket, numbered on another day",
    sql: `UPDATE cases c SET ticket = o.ticket, ticket_day = o.ticket_day - 1 FROM cases o
           WHERE c.id = (SELECT max(x.id) FROM cases x WHERE x.status IN ('WAITING', 'IN_SERVICE')
                            AND EXISTS (SELECT 1 FROM cases y WHERE y.service_id = x.service_id AND y.id < x.id
                                           AND y.status IN ('WAITING', 'IN_SERVICE')))
             AND o.id = (SELECT min(y.id) FROM cases y WHERE y.service_id = c.service_id AND y.status IN ('WAITING', 'IN_SERVICE'))`,
    noticedAs: 'no two open cases of a service share a ticket',
  },
  {
    name: 'a ticket counter skips numbers',
    sql: `UPDATE ticket_counters SET last_number = last_number + 100000`,
    noticedAs: 'ticket numbers were drawn but not used',
  },
  {
    name: 'a case appears that nobody was told about',
    sql: `INSERT INTO cases (service_id, status, ticket_day, ticket_number, ticket)
          SELECT c.service_id, 'WAITING', c.ticket_day, 900000 + g, (900000 + g)::text FROM (SELECT * FROM cases ORDER BY id LIMIT 1) c, generate_series(1, 5000) g`,
    noticedAs: 'were never acknowledged',
  },
  {
    name: 'invalid UTF-8 stored as U+FFFD',
    sql: `UPDATE cases SET subject = 'a' || U&'\\FFFD' WHERE id = (SELECT min(id) FROM cases)`,
    noticedAs: 'no stored text holds U+FFFD',
  },
];
