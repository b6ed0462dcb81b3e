import type { Amount, Currency } from '../../core/money.js';
import type { BalanceProvider } from '../../core/types.js';
import { amountField, createHttpProvider, type HttpProviderOptions, isFailure } from './http.js';
import { type HttpAccountSettings, httpOptions, type ProviderModule, readHttpSettings } from './module.js';

export type StepFunProviderOptions = HttpProviderOptions;

export const STEPFUN_ACCOUNT_PATH = '/v1/accounts';
const API = 'StepFun API';

interface Reading {
  readonly ok: true;
  readonly balance: Amount;
  readonly cash: Amount;
  readonly voucher: Amount;
}

/**
 * `GET {baseUrl}/v1/accounts` → `{object:"account", type, balance, total_cash_balance,
 * total_voucher_balance}`, JSON numbers: available = `balance`, parts = voucher and cash.
 */
export function createStepFunProvider(options: StepFunProviderOptions): BalanceProvider {
  return createHttpProvider<Reading>(options, {
    id: 'stepfun',
    api: API,
    async read({ getJson }) {
      // `/v1` is part of StepFun's path, and the base URL's own `/v1` (OpenAI style) is dropped first.
      const json = await getJson(STEPFUN_ACCOUNT_PATH);
      if (isFailure(json)) return json;
      const balance = amountField(json, 'balance', 'number');
      if (isFailure(balance)) return balance;
      const cash = amountField(json, 'total_cash_balance', 'number');
      if (isFailure(cash)) return cash;
      const voucher = amountField(json, 'total_voucher_balance', 'number');
      if (isFailure(voucher)) return voucher;
      return { ok: true, balance, cash, voucher };
    },
    figures: ({ balance, cash, voucher }, checkedAt) => ({
      available: balance,
      voucher,
      cash,
      asOf: checkedAt,
    }),
  });
}

/** StepFun bills in CNY on its own platform (`api.stepfun.com`) and in USD on the international one (`.ai`). */
export const stepFunCurrency = (url: URL): Currency => (/\.ai$/i.test(url.hostname) ? 'USD' : 'CNY');

/** StepFun: `STEPFUN_API_KEY`, `STEPFUN_BASE_URL` (`.com` CNY, `.ai` USD). */
export const STEPFUN_MODULE: ProviderModule<HttpAccountSettings> = {
  id: 'stepfun',
  label: 'StepFun',
  emoji: '🪜',
  envPrefix: 'STEPFUN',
  parts: { voucher: 'voucher', cash: 'cash' },
  settings: (env) => readHttpSettings(env, 'https://api.stepfun.com', stepFunCurrency),
  currency: (settings) => settings.currency,
  create: (settings, context) => createStepFunProvider(httpOptions(settings, context)),
};
