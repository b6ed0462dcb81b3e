import { type Amount, Big, type Currency } from '../../core/money.js';
import type { BalanceProvider } from '../../core/types.js';
import {
  amountField,
  createHttpProvider,
  type HttpProviderOptions,
  isFailure,
  isRecord,
  kind,
} from './http.js';
import {
  type HttpAccountSettings,
  httpOptions,
  type ProviderModule,
  readHttpSettings,
  usdOnly,
} from './module.js';
import type { Failure } from './shared.js';

/** Options for {@link createDeepSeekProvider}. */
export interface DeepSeekProviderOptions extends HttpProviderOptions {
  /**
   * The balance row to read when `DEEPSEEK_CURRENCY` is set; omitted, the one funded row is read (none funded:
   * USD). `currency` is then only what a failure is labelled with.
   */
  readonly pick?: Currency;
}

export const DEEPSEEK_BALANCE_PATH = '/user/balance';
const API = 'DeepSeek API';
const ZERO = new Big(0);

interface Row {
  readonly currency: Currency;
  readonly total: Amount;
  readonly granted: Amount;
  readonly toppedUp: Amount;
}
interface Reading {
  readonly ok: true;
  readonly row: Row;
  readonly available: boolean;
}

/**
 * `GET {baseUrl}/user/balance`: `{is_available, balance_infos:[{currency, total_balance, granted_balance,
 * topped_up_balance}]}` with decimal strings, one row per currency in no fixed order. The configured
 * currency picks the row; without one, the funded row is read, so a `USD "0.00"` row listed before a funded
 * CNY row never hides the CNY funds.
 */
export function createDeepSeekProvider(options: DeepSeekProviderOptions): BalanceProvider {
  return createHttpProvider<Reading>(options, {
    id: 'deepseek',
    api: API,
    async read({ getJson }) {
      const json = await getJson(DEEPSEEK_BALANCE_PATH);
      if (isFailure(json)) return json;
      if (typeof json.is_available !== 'boolean') {
        return { ok: false, reason: `is_available is not a boolean (got ${kind(json.is_available)})` };
      }
      const infos = json.balance_infos;
      if (!Array.isArray(infos)) {
        return {
          ok: false,
          reason:
            infos === undefined
              ? 'balance_infos is missing'
              : `balance_infos is not an array (got ${kind(infos)})`,
        };
      }
      const rows: Row[] = [];
      for (const [index, info] of infos.entries()) {
        const row = readRow(info, `balance_infos[${index}]`);
        if (isFailure(row)) return row;
        rows.push(row);
      }
      const row = choose(rows, options.pick);
      if (isFailure(row)) return row;
      return { ok: true, row, available: json.is_available };
    },
    figures: ({ row, available }, checkedAt) => ({
      currency: row.currency,
      available: row.total,
      voucher: row.granted,
      cash: row.toppedUp,
      asOf: checkedAt,
      ...(available ? {} : { note: 'DeepSeek says the account is not available (is_available: false)' }),
    }),
  });
}

function readRow(info: unknown, path: string): Row | Failure {
  if (!isRecord(info)) return { ok: false, reason: `${path} is not an object (got ${kind(info)})` };
  const currency = info.currency;
  if (currency !== 'USD' && currency !== 'CNY') {
    return {
      ok: false,
      reason: `${path}.currency is not USD or CNY (got ${typeof currency === 'string' ? JSON.stringify(currency.slice(0, 12)) : kind(currency)})`,
    };
  }
  const total = amountField(info, 'total_balance', 'string', `${path}.total_balance`);
  if (isFailure(total)) return total;
  const granted = amountField(info, 'granted_balance', 'string', `${path}.granted_balance`);
  if (isFailure(granted)) return granted;
  const toppedUp = amountField(info, 'topped_up_balance', 'string', `${path}.topped_up_balance`);
  if (isFailure(toppedUp)) return toppedUp;
  return { currency, total, granted, toppedUp };
}

function choose(rows: readonly Row[], pick: Currency | undefined): Row | Failure {
  const listed = rows.map((r) => r.currency).join(', ') || 'none';
  if (pick !== undefined) {
    const row = rows.find((r) => r.currency === pick);
    return row ?? { ok: false, reason: `the reply has no ${pick} balance row (rows: ${listed})` };
  }
  const funded = rows.filter((r) => r.total.gt(0));
  if (funded.length > 1) {
    return {
      ok: false,
      reason: `the account is funded in ${funded.map((r) => r.currency).join(' and ')}; set DEEPSEEK_CURRENCY to pick one (or watch both as two accounts)`,
    };
  }
  if (funded.length === 1) return funded[0] as Row;
  // Nothing funded: the balance is zero whatever the currency, and USD is DeepSeek's default.
  if (rows.length === 0) return { ok: false, reason: 'balance_infos is empty' };
  return (
    rows.find((r) => r.currency === 'USD') ?? { currency: 'USD', total: ZERO, granted: ZERO, toppedUp: ZERO }
  );
}

/** DeepSeek: `DEEPSEEK_API_KEY`, `DEEPSEEK_BASE_URL`, `DEEPSEEK_CURRENCY` (picks the balance row). */
export const DEEPSEEK_MODULE: ProviderModule<HttpAccountSettings> = {
  id: 'deepseek',
  label: 'DeepSeek',
  emoji: '🐋',
  envPrefix: 'DEEPSEEK',
  parts: { voucher: 'granted', cash: 'topped-up' },
  settings: (env) => readHttpSettings(env, 'https://api.deepseek.com', usdOnly),
  currency: (settings) => settings.currency,
  create: (settings, context) =>
    createDeepSeekProvider({
      ...httpOptions(settings, context),
      ...(settings.currencySet ? { pick: settings.currency } : {}),
    }),
};
