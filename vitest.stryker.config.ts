import { defineConfig } from 'vitest/config';

/**
 * The tests StrykerJS runs against each mutant (`npm run mutation`): the in-process unit tests and the HTTP
 * providers' tests (Kimi's own, the contract suite and the budget accounts', whose stores are SQLite files)
 * against local HTTP servers. The Postgres, CLI and Discord end-to-end suites stay out:
 * they share one database server, spawn processes and take minutes, while the modules mutated here are
 * pinned by the fast tests (a mutant only they would kill counts as a gap to close in test/unit).
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/kimi*.test.ts',
      'test/integration/providers*.test.ts',
      'test/integration/budgets.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
