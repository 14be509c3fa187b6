/**
 * For test/cli/prerequisites.test.ts, which runs vitest on one other test to see how it is
 * reported: no global setup (dist/ is already built by the outer run, which may be using it), one
 * worker.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
