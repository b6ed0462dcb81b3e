import type { Amount } from '../../core/money.js';
import type { BalanceProvider } from '../../core/types.js';
import {
  amountField,
  createHttpProvider,
  errorMessage,
  type HttpProviderOptions,
  isFailure,
  objectField,
} from './http.js';
import {
  cnHostIsCny,
  type HttpAccountSettings,
  httpCurrency,
  httpOptions,
  type ProviderModule,
  readHttpSettings,
} from './module.js';
import { clip, type Failure } from './shared.js';

/** Options for {@link createKimiProvider}: Moonshot's origin (`https://api.moonshot.ai` USD, `.cn` CNY). */
export type KimiProviderOptions = HttpProviderOptions;

/** Path of Moonshot's balance endpoint, relative to the origin. */
export const KIMI_BALANCE_PATH = '/v1/users/me/balance';

const API = 'Moonshot API';
const BALANCE_FIELDS = ['available_balance', 'voucher_balance', 'cash_balance'] as const;

interface Reading {
  readonly ok: true;
  readonly available: Amount;
  readonly voucher: Amount;
  readonly cash: Amount;
}

/**
 * Reads the Moonshot (Kimi) balance from `GET {baseUrl}/v1/users/me/balance`.
 * `check()` never throws and settles within `timeoutMs`; a reading needs HTTP 200, JSON, `code === 0` and
 * three finite numbers, anything else is a failure whose reason never contains the API key.
 */
export function createKimiProvider(options: KimiProviderOptions): BalanceProvider {
  return createHttpProvider<Reading>(options, {
    id: 'kimi',
    api: API,
    async read({ getJson, redactor }) {
      const json = await getJson(KIMI_BALANCE_PATH);
      if (isFailure(json)) return json;
      if (json.code !== 0) {
        const message = errorMessage(json, redactor);
        if (json.code === undefined) {
          return {
            ok: false,
            reason: message ? `${API} returned an error: ${message}` : 'response has no code field',
          };
        }
        // A JSON number's text is its JSON (`4`), anything else is quoted as JSON (`"0"`).
        const code = clip(JSON.stringify(json.code), redactor);
        return { ok: false, reason: `${API} returned code ${code}${message ? `: ${message}` : ''}` };
      }
      const data = objectField(json, 'data');
      if (isFailure(data)) return { ok: false, reason: 'response has no data object' };
      const values: Amount[] = [];
      for (const field of BALANCE_FIELDS) {
        const value: Amount | Failure = amountField(data, field, 'number', `data.${field}`);
        if (isFailure(value)) return value;
        values.push(value);
      }
      const [available, voucher, cash] = values as [Amount, Amount, Amount];
      return { ok: true, available, voucher, cash };
    },
    figures: ({ available, voucher, cash }, checkedAt) => ({ available, voucher, cash, asOf: checkedAt }),
  });
}

/** Moonshot Kimi: `MOONSHOT_API_KEY`, `MOONSHOT_BASE_URL` (`.ai` USD, `.cn` CNY), `MOONSHOT_CURRENCY`. */
export const KIMI_MODULE: ProviderModule<HttpAccountSettings> = {
  id: 'kimi',
  label: 'Kimi',
  emoji: '🌙',
  envPrefix: 'MOONSHOT',
  parts: { voucher: 'voucher', cash: 'cash' },
  exampleValues: { API_KEY: 'sk-your-moonshot-key' },
  settings: (env) =>
    readHttpSettings(env, 'https://api.moonshot.ai', cnHostIsCny, { API_KEY: 'sk-your-moonshot-key' }),
  currency: (settings) => settings.currency,
  // The seed's moonshot/balance-log.txt is imported in the currency the configured host bills in, key or not.
  currencyOf: (env) => httpCurrency(env, 'https://api.moonshot.ai', cnHostIsCny),
  create: (settings, context) => createKimiProvider(httpOptions(settings, context)),
};
