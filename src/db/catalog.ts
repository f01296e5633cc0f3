// A plain-data description of a database's public schema, for telling
// whether two databases have the same structure (migrations vs. the
// datamodel). Prisma's own introspection cannot read PostgreSQL catalogs
// through the driver adapter, so this asks the catalogs directly.
import { connectPostgres } from './postgres-pool.js';
import { sessionOptions } from './session-settings.js';

export interface Catalog {
  readonly columns: string[];
  readonly constraints: string[];
  readonly indexes: string[];
  readonly enums: string[];
}

const IGNORED_TABLE = '_prisma_migrations';

export async function readCatalog(databaseUrl: string): Promise<Catalog> {
  const client = await connectPostgres(databaseUrl, { options: sessionOptions() });
  try {
    const rows = async (sql: string): Promise<string[]> =>
      (await client.query<{ line: string }>(sql, [IGNORED_TABLE])).rows.map((row) => row.line);
    // Column order is left out: ALTER TABLE appends, a fresh CREATE does not.
    const columns = await rows(`
      SELECT format('%s.%s %s%s default %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, coalesce(pg_get_expr(d.adbin, d.adrelid), 'none')) AS line
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> $1
       ORDER BY 1`);
    const constraints = await rows(`
      SELECT format('%s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid)) AS line
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       WHERE c.relname <> $1
       ORDER BY 1`);
    const indexes = await rows(
      `SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' AND tablename <> $1 ORDER BY 1`,
    );
    const enums = await rows(`
      SELECT format('%s: %s', t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)) AS line
        FROM pg_type t
        JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
       WHERE $1::text IS NOT NULL
       GROUP BY t.typname
       ORDER BY 1`);
    return { columns, constraints, indexes, enums };
  } finally {
    await client.end();
  }
}
