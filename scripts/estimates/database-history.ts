// A real queue's history for the backtest: every service's `case_events`,
// in the order they happened, read from any database of the gateway's.
import pg from 'pg';
import type { History, HistoryAction } from './realistic-days.js';

const ACTIONS: Readonly<Record<string, HistoryAction>> = {
  ENQUEUE: 'ENQUEUE',
  CALL_NEXT: 'CALL',
  CALL_CASE: 'CALL',
  COMPLETE: 'COMPLETE',
  // Closed without being served, as a no-show is.
  AUTO_CLOSE: 'CANCEL',
  CANCEL: 'CANCEL',
  RETURN_TO_QUEUE: 'RETURN',
};

interface EventRow {
  service_id: number;
  service: string;
  case_id: number;
  action: string;
  agent: string | null;
  at: Date;
}

/** One history per service with events (read whole into memory: months of a busy counter are a few hundred MB at most). */
export async function databaseHistories(databaseUrl: string): Promise<History[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<EventRow>(
      `SELECT c.service_id, s.name AS service, e.case_id, e.action::text AS action, e.agent, e.at
         FROM case_events e JOIN cases c ON c.id = e.case_id JOIN services s ON s.id = c.service_id
        ORDER BY e.at, e.id`,
    );
    const byService = new Map<number, { name: string; events: History['events'][number][] }>();
    for (const row of rows) {
      const action = ACTIONS[row.action];
      if (action === undefined) continue;
      const history = byService.get(row.service_id) ?? {
        name: `service ${row.service_id} (${row.service})`,
        events: [],
      };
      history.events.push({ at: row.at.getTime(), caseId: row.case_id, action, agent: row.agent });
      byService.set(row.service_id, history);
    }
    return [...byService.values()];
  } finally {
    await client.end();
  }
}
