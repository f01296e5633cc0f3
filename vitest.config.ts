import { defineConfig, type ViteUserConfig } from 'vitest/config';

export const STUCK_TEST_REPORTER = './test/helpers/stuck-test-reporter.ts';

/**
 * Two suites share one set-up: `main` (npm test) and `reliability`
 * (npm run test:reliability, vitest.reliability.config.ts), which kills and
 * freezes servers, so its files start their own and run one at a time.
 */
export function suiteConfig(suite: 'main' | 'reliability'): ViteUserConfig {
  const reliability = suite === 'reliability';
  return defineConfig({
    resolve: {
      // graphql 16 ships CommonJS (main) and ESM (module) builds. Node, and so
      // Apollo Server, loads the CommonJS one; Vite would pick the ESM one for
      // our code. Two copies of graphql break its instanceof checks.
      alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
    },
    test: {
      include: reliability ? ['test/reliability/**/*.test.ts'] : ['test/**/*.test.ts'],
      // test/failover/ is a suite of its own (npm run test:failover, vitest.failover.config.ts).
      exclude: reliability ? ['**/node_modules/**'] : ['test/reliability/**', 'test/failover/**', '**/node_modules/**'],
      // One PostgreSQL server for the run; each test file gets its own database.
      globalSetup: ['test/helpers/global-setup.ts'],
      pool: 'forks',
      fileParallelism: !reliability,
      // CI also writes a JSON report, from which .ci/run prints a summary line.
      // The stuck-test reporter names a test, hook or file that runs far past its timeout.
      reporters: [...(process.env['CI'] ? ['default', 'json'] : ['default']), STUCK_TEST_REPORTER],
      outputFile: { json: reliability ? 'test-results.reliability.json' : 'test-results.json' },
      testTimeout: reliability ? 180_000 : 60_000,
      hookTimeout: 120_000,
    },
  });
}

export default suiteConfig('main');
