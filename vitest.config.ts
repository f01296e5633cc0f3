import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds. Node, and so
    // Apollo Server, loads the CommonJS one; Vite would pick the ESM one for
    // our code. Two copies of graphql break its instanceof checks.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL server for the run; each test file gets its own database.
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // CI also writes a JSON report, from which .ci/run prints a summary line.
    reporters: process.env['CI'] ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results.json' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
