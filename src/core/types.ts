import type { Amount, Currency } from './money.js';

/**
 * An account id: a provider module's id (`kimi`), or that id and an account name (`kimi:cn`); see
 * `src/core/accounts.ts`. Every result, threshold, history row and alert state is keyed by it.
 */
export type ProviderId = string;

/**
 * Providers the configuration accepts today (the five HTTP providers are not wired into it yet). The order
 * here is the order of lines in every summary.
 */
export const PROVIDER_IDS: readonly ProviderId[] = ['claude', 'kimi'];

/** A successful balance check. */
export interface BalanceReading {
  readonly ok: true;
  readonly provider: ProviderId;
  readonly currency: Currency;
  /** What the provider says can be spent. */
  readonly available: Amount;
  /** Kimi only: the voucher and cash parts of `available` (cash may be negative). */
  readonly voucher?: Amount;
  readonly cash?: Amount;
  /** What the reading means beyond its amount, shown on its line: `key limit`, `DeepSeek says the account is not available`. */
  readonly note?: string;
  /** Further figures the provider gives (Novita's `creditLimit`, …), for `check --json`. */
  readonly details?: Readonly<Record<string, Amount>>;
  /**
   * When the provider's figure was true. Kimi: the check time; Claude: the row's `updated_at`. `null` when the
   * source gives no time (a Claude row whose `updated_at` is NULL): the age is unknown, never a made-up date,
   * and the reading counts as stale (see {@link isStale}).
   */
  readonly asOf: Date | null;
  /** When creditwatch asked. */
  readonly checkedAt: Date;
  readonly latencyMs: number;
  /**
   * What the provider noticed about its source and set aside (e.g. Claude rows dated in the future); the
   * service logs each at warn. Safe to show: never holds a secret.
   */
  readonly warnings?: readonly string[];
  /**
   * Spend per UTC day as the provider's own cost report gives it (Anthropic's and OpenAI's Admin APIs),
   * oldest first, in the reading's currency. Absent for providers without one: their daily spend is derived
   * from the falls in their balance history instead (top-ups excluded).
   */
  readonly spendByDay?: readonly DailySpend[];
  /**
   * A monthly budget account (`openai`, `anthropic`): `available` is `amount − spent` for the calendar month
   * (UTC) from `periodStart` to `periodEnd`. The rise at the next month's start is the budget resetting,
   * neither a top-up nor spend.
   */
  readonly budget?: BudgetPeriod;
  /**
   * An estimate, not a measured balance (Claude with an Admin key): `available` is `anchor − spentSince`,
   * the latest table row less what the cost report says was spent after it. Shown with `≈` everywhere.
   */
  readonly estimate?: BalanceEstimate;
}

/** A budget's calendar month (UTC) and what was spent in it so far. */
export interface BudgetPeriod {
  readonly amount: Amount;
  readonly spent: Amount;
  /** 00:00 UTC on the month's 1st. */
  readonly periodStart: Date;
  /** 00:00 UTC on the next month's 1st (exclusive). */
  readonly periodEnd: Date;
}

/** What an estimated balance rests on. */
export interface BalanceEstimate {
  /** The latest measured balance (B₀) … */
  readonly anchor: Amount;
  /** … as of this time (t₀). */
  readonly anchorAt: Date;
  /** Spend reported after t₀ (whole-day buckets; see the README). */
  readonly spentSince: Amount;
}

/** What was spent on one UTC day (`day` is `YYYY-MM-DD`). Today's entry holds what was reported so far. */
export interface DailySpend {
  readonly day: string;
  readonly amount: Amount;
}

/** A check that produced no trustworthy balance. `reason` is safe to show: it never holds a secret. */
export interface BalanceFailure {
  readonly ok: false;
  readonly provider: ProviderId;
  readonly currency: Currency;
  readonly reason: string;
  readonly checkedAt: Date;
  readonly latencyMs: number;
}

export type CheckResult = BalanceReading | BalanceFailure;

/**
 * A source of one provider's balance. `check` never throws and never outlives the configured
 * timeout: every failure comes back as a `BalanceFailure` whose reason says what happened.
 */
export interface BalanceProvider {
  readonly id: ProviderId;
  readonly currency: Currency;
  check(): Promise<CheckResult>;
  close(): Promise<void>;
  /** For a source whose figure can age (Claude's table): older than this, a reading is stale. */
  readonly staleAfterMs?: number;
}

/** True when the reading's figure is older than `staleAfterMs` at `now`; always true when its age is unknown. */
export function isStale(reading: Pick<BalanceReading, 'asOf'>, staleAfterMs: number, now: Date): boolean {
  const age = readingAgeMs(reading, now);
  return age === null || age > staleAfterMs;
}

/**
 * How old the reading's figure is at `now` (never negative: a source a little ahead of our clock is "now");
 * `null` when its as-of time is unknown.
 */
export function readingAgeMs(reading: Pick<BalanceReading, 'asOf'>, now: Date): number | null {
  if (reading.asOf === null || Number.isNaN(reading.asOf.getTime())) return null;
  return Math.max(0, now.getTime() - reading.asOf.getTime());
}
