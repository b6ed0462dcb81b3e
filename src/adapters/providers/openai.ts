import { type BudgetAccountSettings, budgetProvider, readBudgetSettings } from './budget.js';
import type { ProviderModule } from './module.js';

/**
 * OpenAI against a monthly budget (it has no balance API): `OPENAI_ADMIN_KEY` (an Admin key),
 * `OPENAI_MONTHLY_BUDGET` (USD), `OPENAI_BASE_URL`. The reading is what is left of the budget this calendar
 * month (UTC), from `GET /v1/organization/costs` (see `cost-report.ts`).
 */
export const OPENAI_MODULE: ProviderModule<BudgetAccountSettings> = {
  id: 'openai',
  label: 'OpenAI',
  emoji: '🤖',
  figure: 'monthly-budget',
  envPrefix: 'OPENAI',
  settings: (env) => readBudgetSettings(env, 'https://api.openai.com'),
  currency: () => 'USD',
  create: (settings, context) => budgetProvider('openai', 'openai', settings, context),
};
