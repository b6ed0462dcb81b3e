import { type BudgetAccountSettings, budgetProvider, readBudgetSettings } from './budget.js';
import type { ProviderModule } from './module.js';

/**
 * Anthropic against a monthly budget (postpaid, invoice billing): `ANTHROPIC_ADMIN_KEY` (an Admin key,
 * `sk-ant-admin…`, the same one Claude's estimate uses), `ANTHROPIC_MONTHLY_BUDGET` (USD),
 * `ANTHROPIC_BASE_URL`. The reading is what is left of the budget this calendar month (UTC), from
 * `GET /v1/organizations/cost_report` (see `cost-report.ts`).
 */
export const ANTHROPIC_MODULE: ProviderModule<BudgetAccountSettings> = {
  id: 'anthropic',
  label: 'Anthropic',
  emoji: '🔶',
  figure: 'monthly-budget',
  envPrefix: 'ANTHROPIC',
  settings: (env) => readBudgetSettings(env, 'https://api.anthropic.com'),
  currency: () => 'USD',
  create: (settings, context) => budgetProvider('anthropic', 'anthropic', settings, context),
};
