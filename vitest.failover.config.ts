// npm run test:failover: PostgreSQL failover under load (test/failover/).
// Each file builds its own pg_auto_failover cluster (Debian's postgresql-15,
// postgresql-15-auto-failover and pg-auto-failover-cli; .ci/run installs
// them) and kills its nodes, so files run one at a time, with long timeouts;
// no shared PostgreSQL is started (no globalSetup).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The same alias as vitest.config.ts: one copy of graphql (its CommonJS build).
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/failover/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    pool: 'forks',
    fileParallelism: false,
    // CI also writes a JSON report, from which .ci/run prints a summary line.
    reporters: process.env['CI'] ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results.failover.json' },
    testTimeout: 900_000,
    hookTimeout: 300_000,
  },
});
