import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Suites share one Postgres server; each uses its own schema or database, so files may run in parallel.
    pool: 'forks',
    fileParallelism: true,
  },
});
