// Direct SQL the benchmark needs around the rows: filling queues fast and
// reading the server's settings. Not measured.
import pg from 'pg';
import { sessionOptions } from '../../src/db/session-settings.js';

export interface ServerFacts {
  readonly version: string;
  readonly fsync: string;
  readonly synchronousCommit: string;
}

/** One statement's share of a row, from pg_stat_statements. */
export interface StatementFigures {
  /** What the gateway's statement does (`enqueue batch`), or the statement's first words. */
  readonly name: string;
  readonly calls: number;
  readonly rows: number;
  /** Planning and execution time, summed over the calls, in ms. */
  readonly planMs: number;
  readonly execMs: number;
}

// pg_stat_statements keeps a statement's text without its leading comment,
// so the gateway's statements are told apart by how they begin.
const KNOWN_STATEMENTS: readonly (readonly [string, string])[] = [
  ['WITH request AS', 'enqueue batch'],
  ['WITH known AS', 'call-next batch'],
  ['WITH asked AS', 'standings (position, wait)'],
  ['WITH followed AS', 'live: service state'],
];

const statementName = (query: string): string => {
  const text = query.replace(/\s+/g, ' ').trim();
  return KNOWN_STATEMENTS.find(([start]) => text.startsWith(start))?.[1] ?? text.slice(0, 48);
};

export class BenchDatabase {
  private constructor(private readonly client: pg.Client) {}

  static async connect(url: string): Promise<BenchDatabase> {
    const client = new pg.Client({ connectionString: url, statement_timeout: 120_000, options: sessionOptions() });
    // A server going away (Ctrl-C reaches it too) fails the next query; without a listener it would crash the clean-up.
    client.on('error', () => undefined);
    await client.connect();
    return new BenchDatabase(client);
  }

  /**
   * Puts `count` valid waiting cases at the back of a service's queue: tickets
   * numbered 1..count for today (the service must have no tickets today),
   * queue order from the column defaults. Plain INSERTs into `cases`, so
   * whatever triggers `cases` has run as they do for the gateway's own
   * writes; in statements of `chunk` rows, each well within the timeout.
   */
  async fillQueue(serviceId: number, count: number, chunk = 100_000): Promise<void> {
    for (let from = 0; from < count; from += chunk)
      await this.client.query(
        `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket)
         SELECT $1, 'bench', current_date, g, 'Q' || CASE WHEN g < 1000 THEN lpad(g::text, 3, '0') ELSE g::text END
           FROM generate_series($2::int, $3::int) AS g`,
        [serviceId, from + 1, Math.min(count, from + chunk)],
      );
    // Fresh statistics and visibility map, so the plans and index-only scans of the measured
    // rows do not depend on when autovacuum last ran (a queue that took hours to grow has had it).
    await this.client.query('VACUUM (ANALYZE) cases');
  }

  /** Ids of the waiting cases of a service at these places of its queue (0 = head), in queue order. */
  async waitingCaseIds(serviceId: number, places: readonly number[]): Promise<number[]> {
    const { rows } = await this.client.query<{ id: number }>(
      `SELECT id FROM (SELECT id, row_number() OVER (ORDER BY queued_at, queue_seq) - 1 AS place
                         FROM cases WHERE service_id = $1 AND status = 'WAITING') ranked
        WHERE place = ANY($2::bigint[]) ORDER BY place`,
      [serviceId, places],
    );
    return rows.map((row) => row.id);
  }

  /**
   * The PostGraphile peer's own schema and table, shaped like a minimal case;
   * it sees nothing else of the database.
   */
  async createPeerTable(schema: string): Promise<void> {
    await this.client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await this.client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.cases (
         id serial PRIMARY KEY,
         service_id int NOT NULL,
         subject text NOT NULL,
         enqueued_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async waitingCases(serviceId: number): Promise<number> {
    const result = await this.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cases WHERE service_id = $1 AND status = 'WAITING'`,
      [serviceId],
    );
    return result.rows[0]?.n ?? 0;
  }

  async facts(): Promise<ServerFacts> {
    const show = async (setting: string) =>
      (await this.client.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]?.[setting] ?? '?';
    return {
      version: await show('server_version'),
      fsync: await show('fsync'),
      synchronousCommit: await show('synchronous_commit'),
    };
  }

  /** pg_stat_statements, when the server preloads it (the benchmark's scratch server does). */
  async enableStatements(): Promise<void> {
    await this.client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  }

  async resetStatements(): Promise<void> {
    await this.client.query('SELECT pg_stat_statements_reset()');
  }

  /** The statements that took the most server time since the last reset (this session's own left out). */
  async topStatements(limit: number): Promise<StatementFigures[]> {
    const { rows } = await this.client.query<{
      query: string;
      calls: string;
      rows: string;
      plan: number;
      exec: number;
    }>(
      `SELECT query, calls, rows, total_plan_time AS plan, total_exec_time AS exec FROM pg_stat_statements
        WHERE query NOT LIKE '%pg_stat_statements%' AND query NOT IN ('BEGIN', 'COMMIT')
        ORDER BY total_plan_time + total_exec_time DESC LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      name: statementName(row.query),
      calls: Number(row.calls),
      rows: Number(row.rows),
      planMs: row.plan,
      execMs: row.exec,
    }));
  }

  /** How many times statements starting with `start` ran since the last reset. */
  async callsOf(start: string): Promise<number> {
    const { rows } = await this.client.query<{ calls: string | null }>(
      `SELECT sum(calls) AS calls FROM pg_stat_statements WHERE ltrim(query) LIKE $1 || '%'`,
      [start],
    );
    return Number(rows[0]?.calls ?? 0);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
