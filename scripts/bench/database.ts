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
   * Puts `count` valid waiting cases at the back of a service's queue in one
   * statement: tickets numbered 1..count for today (the service must have no
   * tickets today), queue order from the column defaults.
   */
  async fillQueue(serviceId: number, count: number): Promise<void> {
    await this.client.query(
      `INSERT INTO cases (service_id, subject, ticket_day, ticket_number, ticket)
       SELECT $1, 'bench', current_date, g, 'Q' || lpad(g::text, 3, '0') FROM generate_series(1, $2::int) AS g`,
      [serviceId, count],
    );
    // Fresh statistics, so the plans of the measured row do not depend on when autovacuum last ran.
    await this.client.query('ANALYZE cases');
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
