import { Big } from 'big.js';

/** Currencies a provider can bill in. Moonshot's `.cn` host bills in CNY, everything else in USD. */
export type Currency = 'USD' | 'CNY';

const SYMBOL: Record<Currency, string> = { USD: '$', CNY: '¥' };

export type Amount = Big;

/**
 * Parses a decimal amount (`12.30`, `-1.5`, `+5`, `.5`, `1e-07`) without going through float arithmetic.
 * Throws a `RangeError` on anything that is not a finite decimal.
 */
export function parseAmount(value: string | number): Amount {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new RangeError(`not a finite number: ${value}`);
  }
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) {
    throw new RangeError(`not a decimal number: ${JSON.stringify(value).slice(0, 40)}`);
  }
  // big.js rejects a leading `+` that the pattern above accepts.
  return new Big(text.startsWith('+') ? text.slice(1) : text);
}

/**
 * No real prepaid balance reaches this size (a quadrillion). A figure at or beyond it, or one that is not
 * finite, is a provider's or a table's mistake: kept, it would fill every message with hundreds of digits
 * and throw the charts and forecasts off, so it is refused as an "implausible amount".
 */
export const IMPLAUSIBLE_AMOUNT: Amount = new Big('1e15');

/** True when `amount` is at or beyond {@link IMPLAUSIBLE_AMOUNT} either way. */
export function isImplausible(amount: Amount): boolean {
  return amount.abs().gte(IMPLAUSIBLE_AMOUNT);
}

/**
 * The failure reason for an implausible figure: `implausible amount: available 1.000e+2100 (no real balance
 * reaches 1e15)`. A decimal is shown in short exponent form; any other text (`Infinity`) is clipped.
 */
export function implausibleReason(field: string, figure: Amount | string): string {
  const shown = typeof figure === 'string' ? figure.slice(0, 24) : figure.toExponential(3);
  return `implausible amount: ${field} ${shown} (no real balance reaches 1e15)`;
}

/** How {@link formatMoney} writes an amount. */
export interface MoneyStyle {
  /** Thousands separated by commas (`$1,234.50`), as on a chart's axis. Default: none (`$1234.50`), as in the seed. */
  readonly grouped?: boolean;
}

/**
 * `$12.30`, `-$0.50`, `¥8.00`: two decimals, rounded half-up, the currency's symbol; `grouped`: `$1,234.50`.
 * A number (a chart's tick) is read exactly as JavaScript prints it.
 */
export function formatMoney(amount: Amount | number, currency: Currency, style: MoneyStyle = {}): string {
  const value = typeof amount === 'number' ? new Big(amount) : amount;
  const fixed = value.abs().toFixed(2);
  const negative = value.lt(0) && fixed !== '0.00';
  const shown = style.grouped ? fixed.replace(/\B(?=(\d{3})+\.)/g, ',') : fixed;
  return `${negative ? '-' : ''}${SYMBOL[currency]}${shown}`;
}

/** The one "low" rule: strictly below the threshold (the seed documents "OK (balance >= $5)"). */
export function isLow(available: Amount, threshold: Amount): boolean {
  return available.lt(threshold);
}

/** The one shape of an amount a person types: digits, then optionally a dot (or a comma, refused) and digits. */
const TYPED_AMOUNT = /^(\d+)(?:([.,])(\d+))?$/;

/** What an amount typed by a person (`/threshold set`, `claude:record`) may be. */
export interface TypedAmountRules {
  readonly maxDecimals: number;
  /** The largest amount accepted; the smallest is 0. */
  readonly max: Amount;
}

/** Why a typed amount was refused, for the caller to put in its own words. */
export type TypedAmountProblem =
  | { readonly kind: 'negative' }
  | { readonly kind: 'symbol' }
  | { readonly kind: 'comma' }
  | { readonly kind: 'decimals'; readonly decimals: number; readonly rounded: Amount }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'not-a-number' };

/**
 * A non-negative decimal typed by a person — `8.07`, `12.5`, `5` — within `rules`, or why not: a sign
 * (`-3`), a currency before it (`$8`, `USD 8`), too many decimals (with the amount rounded to the allowed
 * ones), a decimal comma (`8,07`), more than `rules.max`, or anything else (`1e3`, `+5`, `.5`, `eight`).
 */
export function parseTypedAmount(
  text: string,
  rules: TypedAmountRules,
):
  | { readonly ok: true; readonly amount: Amount }
  | { readonly ok: false; readonly problem: TypedAmountProblem } {
  const t = text.trim();
  const refuse = (problem: TypedAmountProblem) => ({ ok: false as const, problem });
  if (t.startsWith('-')) return refuse({ kind: 'negative' });
  if (/^[^\d.\s]+\s*\d/.test(t)) return refuse({ kind: 'symbol' });
  const m = TYPED_AMOUNT.exec(t);
  if (!m) return refuse({ kind: 'not-a-number' });
  const [, whole, separator, decimals = ''] = m;
  const amount = new Big(`${whole}.${decimals || '0'}`);
  if (decimals.length > rules.maxDecimals) {
    return refuse({ kind: 'decimals', decimals: decimals.length, rounded: amount.round(rules.maxDecimals) });
  }
  if (separator === ',') return refuse({ kind: 'comma' });
  if (amount.gt(rules.max)) return refuse({ kind: 'too-large' });
  return { ok: true, amount };
}

/** The symbol alone, for labels such as `threshold ($)`. */
export function currencySymbol(currency: Currency): string {
  return SYMBOL[currency];
}

/** Canonical text for storage: exact, no exponent, no trailing zeros lost in meaning (`12.3` stays `12.3`). */
export function amountToText(amount: Amount): string {
  return amount.toFixed();
}

export { Big };
