import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { oneLine } from '../../core/format.js';
import { type Amount, Big } from '../../core/money.js';
import type { DailySpend } from '../../core/types.js';
import {
  COST_API_NAME,
  CostCache,
  costAuthHeaders,
  dailySpend,
  startOfUtcDay,
  utcDay,
} from './cost-report.js';
import { createHttpRequester, isFailure } from './http.js';
import { type AccountSettingsReader, readBaseUrl } from './module.js';
import { MAX_REASON } from './shared.js';

/**
 * Claude's live estimate (issue 13): the latest `claude_api_usage` row is the anchor (B₀ as of t₀), and the
 * balance is B₀ − the spend Anthropic's cost report shows after t₀. The report has whole UTC days only: the
 * anchor's own day counts for the share of it after t₀ (of the part of the day that has passed, when that day
 * is today), every later day in full, today as reported so far.
 */

const DAY_MS = 86_400_000;

/** The Admin API settings of a Claude account's estimate. */
export interface ClaudeEstimateSettings {
  readonly adminKey: string;
  readonly baseUrl: string;
}

/** What the estimate found: the spend after the anchor, or why there is none (safe to show). */
export type EstimateOutcome =
  | { readonly ok: true; readonly spentSince: Amount; readonly days: readonly DailySpend[] }
  | { readonly ok: false; readonly reason: string };

/** Estimates the spend since an anchor; one per Claude account, holding its cache and HTTP agent. */
export interface ClaudeEstimator {
  /** Never throws; gives up (with a reason) at `deadline` (a `performance.now()` time). */
  spendSince(anchorAt: Date, now: Date, deadline: number): Promise<EstimateOutcome>;
  close(): Promise<void>;
}

/**
 * The spend after `anchorAt` from the days' costs (oldest first, the anchor's day first): the anchor's day
 * weighted by the share of it after t₀ — of the whole day, or of the part up to `now` when that day is today —
 * rounded to 1/10,000 USD, plus every later day as reported.
 */
export function spendAfter(anchorAt: Date, now: Date, days: readonly DailySpend[]): Amount {
  const anchorDay = utcDay(anchorAt);
  const dayStart = startOfUtcDay(anchorAt).getTime();
  const dayEnd = Math.min(dayStart + DAY_MS, Math.max(now.getTime(), anchorAt.getTime()));
  let total = new Big(0);
  for (const { day, amount } of days) {
    if (day < anchorDay) continue;
    if (day > anchorDay) {
      total = total.plus(amount);
      continue;
    }
    const span = dayEnd - dayStart;
    const after = dayEnd - anchorAt.getTime();
    if (span > 0 && after > 0) total = total.plus(amount.times(after).div(span).round(4));
  }
  return total;
}

/** `table figure; estimate unavailable: <reason>`: the note when the Admin API could not say. */
export function fallbackNote(reason: string): string {
  return `table figure; estimate unavailable: ${reason}`;
}

export function createClaudeEstimator(
  settings: ClaudeEstimateSettings,
  options: { readonly timeoutMs: number; readonly dispatcher?: Dispatcher },
): ClaudeEstimator {
  const api = COST_API_NAME.anthropic;
  const requester = createHttpRequester({
    id: 'claude',
    api,
    baseUrl: settings.baseUrl,
    apiKey: settings.adminKey,
    timeoutMs: options.timeoutMs,
    authHeaders: costAuthHeaders('anthropic'),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const { redactor } = requester;
  const cache = new CostCache();
  const say = (reason: string): EstimateOutcome => ({
    ok: false,
    reason: oneLine(redactor(reason), MAX_REASON),
  });

  return {
    async spendSince(anchorAt, now, deadline) {
      const budgetMs = Math.floor(deadline - performance.now());
      if (budgetMs <= 0) return say(`no time left for the ${api} within the check's timeout`);
      const session = requester.session();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<EstimateOutcome>((resolve) => {
        timer = setTimeout(() => resolve(say(`${api}: ${session.timeout()}`)), budgetMs);
      });
      try {
        return await Promise.race([
          dailySpend('anthropic', session.get, redactor, cache, anchorAt, now).then(
            (days): EstimateOutcome =>
              isFailure(days)
                ? say(days.reason.startsWith(api) ? days.reason : `${api}: ${days.reason}`)
                : { ok: true, spentSince: spendAfter(anchorAt, now, days), days },
            (error: unknown) => say(`${api}: ${session.fail(error)}`),
          ),
          late,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => requester.close(),
  };
}

/**
 * The estimate's settings of a Claude account: the default account reads `ANTHROPIC_ADMIN_KEY` and
 * `ANTHROPIC_BASE_URL` (the same key as the `anthropic` budget account), account `x` reads
 * `CLAUDE_X_ANTHROPIC_ADMIN_KEY` and `CLAUDE_X_ANTHROPIC_BASE_URL`. Without a key there is no estimate;
 * a base URL that is not usable is reported and leaves the account without one.
 */
export function readEstimateSettings(env: AccountSettingsReader): ClaudeEstimateSettings | undefined {
  const exact = env.account === undefined;
  const adminKey = exact ? env.exact('ANTHROPIC_ADMIN_KEY') : env.get('ANTHROPIC_ADMIN_KEY');
  if (adminKey === undefined) return undefined;
  const baseUrl = readBaseUrl(
    env,
    'ANTHROPIC_BASE_URL',
    'https://api.anthropic.com',
    'ANTHROPIC_ADMIN_KEY',
    exact,
  );
  return baseUrl === undefined ? undefined : { adminKey, baseUrl };
}
