import { type Amount, Big, formatMoney, parseTypedAmount } from '../../core/money.js';
import { utcMonth } from '../../core/spend.js';
import type { BalanceProvider, DailySpend } from '../../core/types.js';
import { COST_API_NAME, type CostApi, CostCache, costAuthHeaders, dailySpend } from './cost-report.js';
import { createHttpProvider, type HttpProviderOptions, isFailure } from './http.js';
import { type AccountSettingsReader, httpOptions, readBaseUrl } from './module.js';

/** The largest monthly budget accepted (a typo guard, far above any real one). */
export const MAX_MONTHLY_BUDGET = new Big(1_000_000_000);

export interface BudgetProviderOptions extends HttpProviderOptions {
  /** Which Admin API reports the costs. */
  readonly api: CostApi;
  /** The module's id (`openai`); results are keyed by `accountId`. */
  readonly id: string;
  /** USD per calendar month (UTC). */
  readonly budget: Amount;
}

interface Reading {
  readonly ok: true;
  readonly spent: Amount;
  readonly days: readonly DailySpend[];
  readonly periodStart: Date;
  readonly periodEnd: Date;
}

/**
 * A postpaid account watched against a monthly budget: the reading is what is left of `budget` this calendar
 * month (UTC), budget − the month-to-date cost from the Admin API's daily cost report (today as reported so
 * far), with the month's spend per day. Completed days are cached in this provider instance.
 */
export function createBudgetProvider(options: BudgetProviderOptions): BalanceProvider {
  const now = options.now ?? (() => new Date());
  const cache = new CostCache();
  return createHttpProvider<Reading>(options, {
    id: options.id,
    api: COST_API_NAME[options.api],
    authHeaders: costAuthHeaders(options.api),
    async read({ get, redactor }) {
      let at: Date;
      try {
        at = now();
      } catch {
        at = new Date();
      }
      const { start, end } = utcMonth(at);
      const days = await dailySpend(options.api, get, redactor, cache, start, at);
      if (isFailure(days)) return days;
      const spent = days.reduce((sum, d) => sum.plus(d.amount), new Big(0));
      return { ok: true, spent, days, periodStart: start, periodEnd: end };
    },
    figures: ({ spent, days, periodStart, periodEnd }, checkedAt) => ({
      available: options.budget.minus(spent),
      asOf: checkedAt,
      note: `budget ${formatMoney(options.budget, 'USD')}, ${formatMoney(spent, 'USD')} spent this month`,
      spendByDay: days,
      budget: { amount: options.budget, spent, periodStart, periodEnd },
    }),
  });
}

/** A budget account's settings: `P_ADMIN_KEY`, `P_MONTHLY_BUDGET`, `P_BASE_URL`. */
export interface BudgetAccountSettings {
  readonly adminKey: string;
  readonly budget: Amount;
  readonly baseUrl: string;
}

/** Reads `ADMIN_KEY` (required), `MONTHLY_BUDGET` (USD, required, > 0) and `BASE_URL`. */
export function readBudgetSettings(
  env: AccountSettingsReader,
  defaultBaseUrl: string,
): BudgetAccountSettings | undefined {
  // An account nobody asked for is judged only on the values that are set.
  const required = env.required !== false;
  const adminKey = env.get('ADMIN_KEY');
  if (adminKey === undefined && required) {
    env.problem(`${env.name('ADMIN_KEY')} is missing; ${env.because}`);
  }
  const budgetText = env.get('MONTHLY_BUDGET');
  let budget: Amount | undefined;
  if (budgetText === undefined) {
    if (required)
      env.problem(`${env.name('MONTHLY_BUDGET')} is missing (USD a month, e.g. 200); ${env.because}`);
  } else {
    const typed = parseTypedAmount(budgetText, { maxDecimals: 2, max: MAX_MONTHLY_BUDGET });
    if (typed.ok && typed.amount.gt(0)) budget = typed.amount;
    else {
      env.problem(
        `${env.name('MONTHLY_BUDGET')}=${JSON.stringify(budgetText.slice(0, 20))} must be a plain number of USD above 0 with at most 2 decimals, e.g. 200 or 150.50`,
      );
    }
  }
  const baseUrl = readBaseUrl(env, 'BASE_URL', defaultBaseUrl, 'ADMIN_KEY');
  if (adminKey === undefined || budget === undefined || baseUrl === undefined) return undefined;
  return { adminKey, budget, baseUrl };
}

/** The budget provider of one account. */
export function budgetProvider(
  id: string,
  api: CostApi,
  settings: BudgetAccountSettings,
  context: Parameters<typeof httpOptions>[1],
): BalanceProvider {
  return createBudgetProvider({
    ...httpOptions({ apiKey: settings.adminKey, baseUrl: settings.baseUrl, currency: 'USD' }, context),
    id,
    api,
    budget: settings.budget,
  });
}
