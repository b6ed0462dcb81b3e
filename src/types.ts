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
  /**
   * What the provider noticed about its source and set aside (e.g. Claude rows dated in the future); the
   * service logs each at warn. Safe to show: never holds a secret.
   */
  readonly warnings?: readonly string[];
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

/**
 * `asOf` of a reading whose row has a NULL `updated_at`: its age is unknown, so it is dated at the epoch,
 * which makes it stale under any `staleAfterMs`. Formatters can recognise it with {@link hasUnknownAge}.
 */
export const UNKNOWN_AS_OF_MS = 0;

/** True when the reading's figure is older than `staleAfterMs` at `now` (always true for an unknown age). */
export function isStale(reading: Pick<BalanceReading, 'asOf'>, staleAfterMs: number, now: Date): boolean {
  const asOf = reading.asOf.getTime();
  if (Number.isNaN(asOf) || asOf === UNKNOWN_AS_OF_MS) return true;
  return now.getTime() - asOf > staleAfterMs;
}

/** True when the reading came from a row whose `updated_at` was NULL. */
export function hasUnknownAge(reading: Pick<BalanceReading, 'asOf'>): boolean {
  return reading.asOf.getTime() === UNKNOWN_AS_OF_MS;
}
