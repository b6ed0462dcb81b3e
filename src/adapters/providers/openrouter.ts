import type { Amount } from '../../core/money.js';
import type { BalanceProvider } from '../../core/types.js';
import {
  amountField,
  createHttpProvider,
  type HttpProviderOptions,
  isFailure,
  jsonObject,
  objectField,
  statusFailure,
} from './http.js';
import {
  type HttpAccountSettings,
  httpOptions,
  type ProviderModule,
  readHttpSettings,
  usdOnly,
} from './module.js';

export type OpenRouterProviderOptions = HttpProviderOptions;

export const OPENROUTER_CREDITS_PATH = '/v1/credits';
export const OPENROUTER_KEY_PATH = '/v1/key';
const API = 'OpenRouter API';

interface Reading {
  readonly ok: true;
  readonly available: Amount;
  /** Set when the figure is the key's remaining limit (an ordinary key), not the account's credits. */
  readonly keyLimit?: Amount;
  readonly credits?: Amount;
  readonly usage?: Amount;
}

/**
 * `GET {baseUrl}/v1/credits` → `{data:{total_credits, total_usage}}`: credits − usage, USD. That endpoint
 * needs a management key; an ordinary key gets 403, and then `GET /v1/key` → `{data:{limit,
 * limit_remaining, usage}}` gives the key's remaining limit (the reading says "key limit"). A key without
 * a limit has nothing to read: a failure asking for a management key, never $0.
 */
export function createOpenRouterProvider(options: OpenRouterProviderOptions): BalanceProvider {
  return createHttpProvider<Reading>(options, {
    id: 'openrouter',
    api: API,
    async read({ get, redactor }) {
      const reply = await get(OPENROUTER_CREDITS_PATH);
      if (isFailure(reply)) return reply;
      if (reply.status !== 403) {
        const json = jsonObject(API, reply, redactor);
        if (isFailure(json)) return json;
        const data = objectField(json, 'data');
        if (isFailure(data)) return data;
        const credits = amountField(data, 'total_credits', 'number', 'data.total_credits');
        if (isFailure(credits)) return credits;
        const usage = amountField(data, 'total_usage', 'number', 'data.total_usage');
        if (isFailure(usage)) return usage;
        return { ok: true, available: credits.minus(usage), credits, usage };
      }
      const refused = statusFailure(API, reply, redactor).reason;
      const keyReply = await get(OPENROUTER_KEY_PATH);
      if (isFailure(keyReply)) return { ok: false, reason: `${refused}; then /v1/key: ${keyReply.reason}` };
      const json = jsonObject(API, keyReply, redactor);
      if (isFailure(json)) return { ok: false, reason: `${refused}; then /v1/key: ${json.reason}` };
      const data = objectField(json, 'data');
      if (isFailure(data)) return { ok: false, reason: `/v1/key: ${data.reason}` };
      if (data.limit === null) {
        return {
          ok: false,
          reason:
            '/v1/credits needs a management key (HTTP 403) and this key has no credit limit to read instead; set OPENROUTER_API_KEY to a management key',
        };
      }
      const limit = amountField(data, 'limit', 'number', 'data.limit');
      if (isFailure(limit)) return { ok: false, reason: `/v1/key: ${limit.reason}` };
      const remaining = amountField(data, 'limit_remaining', 'number', 'data.limit_remaining');
      if (isFailure(remaining)) return { ok: false, reason: `/v1/key: ${remaining.reason}` };
      return { ok: true, available: remaining, keyLimit: limit };
    },
    figures: (reading, checkedAt) => ({
      available: reading.available,
      asOf: checkedAt,
      ...(reading.keyLimit === undefined
        ? { details: { totalCredits: reading.credits as Amount, totalUsage: reading.usage as Amount } }
        : { note: 'key limit', details: { keyLimit: reading.keyLimit } }),
    }),
  });
}

/** OpenRouter: `OPENROUTER_API_KEY` (a management key reads the credits), `OPENROUTER_BASE_URL`. */
export const OPENROUTER_MODULE: ProviderModule<HttpAccountSettings> = {
  id: 'openrouter',
  label: 'OpenRouter',
  emoji: '🔀',
  envPrefix: 'OPENROUTER',
  settings: (env) => readHttpSettings(env, 'https://openrouter.ai/api', usdOnly),
  currency: (settings) => settings.currency,
  create: (settings, context) => createOpenRouterProvider(httpOptions(settings, context)),
};
