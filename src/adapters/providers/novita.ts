import { type Amount, Big } from '../../core/money.js';
import type { BalanceProvider } from '../../core/types.js';
import { amountField, createHttpProvider, type HttpProviderOptions, isFailure } from './http.js';
import {
  type HttpAccountSettings,
  httpOptions,
  type ProviderModule,
  readHttpSettings,
  usdOnly,
} from './module.js';

export type NovitaProviderOptions = HttpProviderOptions;

export const NOVITA_BALANCE_PATH = '/openapi/v1/billing/balance/detail';
const API = 'Novita API';
/** Novita counts money in 1/10,000 USD: `"1234500"` is $123.45. */
const UNITS_PER_USD = new Big(10_000);
const FIELDS = [
  'availableBalance',
  'cashBalance',
  'creditLimit',
  'pendingCharges',
  'outstandingInvoices',
] as const;
type Field = (typeof FIELDS)[number];

interface Reading {
  readonly ok: true;
  readonly figures: Readonly<Record<Field, Amount>>;
}

/**
 * `GET {baseUrl}/openapi/v1/billing/balance/detail` → `{availableBalance, cashBalance, creditLimit,
 * pendingCharges, outstandingInvoices}`, decimal strings in 1/10,000 USD. Available = `availableBalance`,
 * cash = `cashBalance`; the others are kept as details.
 */
export function createNovitaProvider(options: NovitaProviderOptions): BalanceProvider {
  return createHttpProvider<Reading>(options, {
    id: 'novita',
    api: API,
    async read({ getJson }) {
      const json = await getJson(NOVITA_BALANCE_PATH);
      if (isFailure(json)) return json;
      const figures: Partial<Record<Field, Amount>> = {};
      for (const field of FIELDS) {
        const amount = amountField(json, field, 'string', field, UNITS_PER_USD);
        if (isFailure(amount)) return amount;
        figures[field] = amount;
      }
      return { ok: true, figures: figures as Record<Field, Amount> };
    },
    figures: ({ figures }, checkedAt) => ({
      available: figures.availableBalance,
      cash: figures.cashBalance,
      asOf: checkedAt,
      details: {
        creditLimit: figures.creditLimit,
        pendingCharges: figures.pendingCharges,
        outstandingInvoices: figures.outstandingInvoices,
      },
    }),
  });
}

/** Novita AI: `NOVITA_API_KEY`, `NOVITA_BASE_URL`. */
export const NOVITA_MODULE: ProviderModule<HttpAccountSettings> = {
  id: 'novita',
  label: 'Novita',
  emoji: '✨',
  envPrefix: 'NOVITA',
  parts: { cash: 'cash' },
  settings: (env) => readHttpSettings(env, 'https://api.novita.ai', usdOnly),
  currency: (settings) => settings.currency,
  create: (settings, context) => createNovitaProvider(httpOptions(settings, context)),
};
