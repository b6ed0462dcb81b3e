import type { Amount } from '../../core/money.js';
import type { BalanceProvider } from '../../core/types.js';
import {
  amountField,
  createHttpProvider,
  errorMessage,
  type HttpProviderOptions,
  isFailure,
  kind,
  objectField,
} from './http.js';
import {
  cnHostIsCny,
  type HttpAccountSettings,
  httpOptions,
  type ProviderModule,
  readHttpSettings,
} from './module.js';
import { clip } from './shared.js';

export type SiliconFlowProviderOptions = HttpProviderOptions;

export const SILICONFLOW_INFO_PATH = '/v1/user/info';
const API = 'SiliconFlow API';
const OK_CODE = 20000;

interface Reading {
  readonly ok: true;
  readonly total: Amount;
  readonly gift: Amount;
  readonly charged: Amount;
}

/**
 * `GET {baseUrl}/v1/user/info` → `{code:20000, status:true, data:{balance, chargeBalance, totalBalance}}` with
 * decimal strings: available = `totalBalance`, parts = gift `balance` and charged `chargeBalance`. Any other
 * `code`, or `status:false`, is a failure with the code and message.
 */
export function createSiliconFlowProvider(options: SiliconFlowProviderOptions): BalanceProvider {
  return createHttpProvider<Reading>(options, {
    id: 'siliconflow',
    api: API,
    async read({ getJson, redactor }) {
      const json = await getJson(SILICONFLOW_INFO_PATH);
      if (isFailure(json)) return json;
      if (json.code !== OK_CODE || json.status !== true) {
        const code =
          json.code === undefined
            ? 'no code'
            : // A number's JSON text is its text: one way for every type of code.
              `code ${clip(JSON.stringify(json.code), redactor)}`;
        const status =
          json.status === true
            ? ''
            : `, status ${kind(json.status) === 'boolean' ? json.status : kind(json.status)}`;
        const message = errorMessage(json, redactor);
        return { ok: false, reason: `${API} returned ${code}${status}${message ? `: ${message}` : ''}` };
      }
      const data = objectField(json, 'data');
      if (isFailure(data)) return data;
      const total = amountField(data, 'totalBalance', 'string', 'data.totalBalance');
      if (isFailure(total)) return total;
      const gift = amountField(data, 'balance', 'string', 'data.balance');
      if (isFailure(gift)) return gift;
      const charged = amountField(data, 'chargeBalance', 'string', 'data.chargeBalance');
      if (isFailure(charged)) return charged;
      return { ok: true, total, gift, charged };
    },
    figures: ({ total, gift, charged }, checkedAt) => ({
      available: total,
      voucher: gift,
      cash: charged,
      asOf: checkedAt,
    }),
  });
}

/** SiliconFlow: `SILICONFLOW_API_KEY`, `SILICONFLOW_BASE_URL` (`.cn` CNY, `.com` USD). */
export const SILICONFLOW_MODULE: ProviderModule<HttpAccountSettings> = {
  id: 'siliconflow',
  label: 'SiliconFlow',
  emoji: '🧊',
  envPrefix: 'SILICONFLOW',
  parts: { voucher: 'gift', cash: 'charged' },
  settings: (env) => readHttpSettings(env, 'https://api.siliconflow.cn', cnHostIsCny),
  currency: (settings) => settings.currency,
  create: (settings, context) => createSiliconFlowProvider(httpOptions(settings, context)),
};
