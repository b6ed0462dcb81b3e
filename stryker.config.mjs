// @ts-check
/**
 * Mutation testing: `npm run mutation` (every core module) or `npm run mutation -- --mutate src/core/money.ts`
 * (one module). Deliberately not part of `npm test`: a full run takes minutes of both cores.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  // Unit tests plus the HTTP providers' tests (see vitest.stryker.config.ts); `related` lets vitest pick, per run,
  // only the test files that import the mutated module, and perTest coverage then runs only the tests that
  // reach each mutant.
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/core/money.ts',
    'src/core/forecast.ts',
    'src/core/digest.ts',
    'src/core/format.ts',
    'src/core/alerts/engine.ts',
    'src/core/alerts/messages.ts',
    'src/adapters/storage/parse-balance-log.ts',
    'src/adapters/providers/kimi.ts',
    'src/adapters/providers/http.ts',
    'src/adapters/providers/deepseek.ts',
    'src/adapters/providers/openrouter.ts',
    'src/adapters/providers/siliconflow.ts',
    'src/adapters/providers/novita.ts',
    'src/adapters/providers/stepfun.ts',
    'src/adapters/providers/cost-report.ts',
    'src/adapters/providers/budget.ts',
    'src/core/spend.ts',
    'src/core/spend-digest.ts',
    'src/core/config.ts',
    'src/core/redact.ts',
    'src/core/retry.ts',
  ],
  // The build machine has two cores shared with other work.
  concurrency: 2,
  // Re-runs test only mutants whose code or covering tests changed. The file stays local (reports/ is not
  // committed): it is keyed to exact file contents, so a committed copy would be stale after any change and
  // a merge conflict whenever two branches touch a mutated module.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  ignorePatterns: ['dist', 'data', 'coverage'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 10_000,
};
