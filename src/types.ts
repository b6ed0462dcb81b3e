import type { Amount, Currency } from './money.js';

/** Providers creditwatch knows. The order here is the order of lines in every summary. */
export const PROVIDER_IDS = ['claude', 'kimi'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

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
  /** When the provider's figure was true. Kimi: the check time; Claude: the row's `updated_at`. */
  readonly asOf: Date;
  /** When creditwatch asked. */
  readonly checkedAt: Date;
  readonly latencyMs: number;
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
}

/** Display facts per provider (seed emoji and names). */
export const PROVIDER_INFO: Record<ProviderId, { label: string; emoji: string }> = {
  claude: { label: 'Claude', emoji: '💳' },
  kimi: { label: 'Kimi', emoji: '🌙' },
};
