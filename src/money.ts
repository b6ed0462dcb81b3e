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

/** `$12.30`, `-$0.50`, `¥8.00`: two decimals, rounded half-up, the currency's symbol. */
export function formatMoney(amount: Amount, currency: Currency): string {
  const fixed = amount.abs().toFixed(2);
  const negative = amount.lt(0) && fixed !== '0.00';
  return `${negative ? '-' : ''}${SYMBOL[currency]}${fixed}`;
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
