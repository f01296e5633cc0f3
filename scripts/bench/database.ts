// Direct SQL the benchmark needs around the rows: filling queues fast and
// reading the server's settings. Not measured.
import pg from 'pg';

export interface ServerFacts {
  readonly version: string;
  readonly fsync: string;
  readonly synchronousCommit: string;
}

export class BenchDatabase {
  private constructor(private readonly client: pg.Client) {}

  static async connect(url: string): Promise<BenchDatabase> {
    const client = new pg.Client({ connectionString: url, statement_timeout: 120_000 });
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
    const result = await this.client.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE service_id = $1 AND status = 'WAITING'`, [serviceId]);
    return result.rows[0]?.n ?? 0;
  }

  async facts(): Promise<ServerFacts> {
    const show = async (setting: string) => (await this.client.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]?.[setting] ?? '?';
    return { version: await show('server_version'), fsync: await show('fsync'), synchronousCommit: await show('synchronous_commit') };
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
