import type { Dispatcher } from 'undici';
import type { FigureKind } from '../../core/digest.js';
import type { Currency } from '../../core/money.js';
import type { BalanceProvider, ProviderId } from '../../core/types.js';
import type { HttpProviderOptions } from './http.js';

/**
 * The settings of one account, as its provider module sees them: names are given without the provider's
 * prefix (`API_KEY`), and the reader adds the prefix and the account (`MOONSHOT_CN_API_KEY` for `kimi:cn`).
 */
export interface AccountSettingsReader {
  /** The account name after the colon (`cn` in `kimi:cn`); `undefined` for the provider's default account. */
  readonly account: string | undefined;
  /** The full variable name of a setting: `API_KEY` → `MOONSHOT_CN_API_KEY`. */
  name(setting: string): string;
  /** The setting's value, blanks around it dropped; `undefined` when unset or blank. */
  get(setting: string): string | undefined;
  /**
   * A variable by its exact name, outside the prefix (the seed's `SUPABASE_DB_HOST`), blanks dropped. Only
   * for a provider's compatibility with settings that predate it.
   */
  exact(variable: string): string | undefined;
  /** Joins the one configuration error that lists every problem. Name the variable in the text. */
  problem(text: string): void;
  /** Why a missing required setting matters, completing "… is missing; <because>". */
  readonly because: string;
  /**
   * `false` for an account nobody asked for whose settings are checked anyway (a provider's default account
   * left out of `PROVIDERS`): a value that is set is still judged, but nothing is missing and no example value
   * is refused. Absent: required.
   */
  readonly required?: boolean;
}

/** The text that refuses a value `.env.example` ships, after the variable's name. */
export const EXAMPLE_VALUE_PROBLEM =
  'is still the example value from .env.example; replace it with your own (README.md "Configuration")';

/** What every check gets besides the account's own settings. */
export interface CheckContext {
  /** The account the check is for (`kimi:cn`, or `kimi` for the default account): results carry it. */
  readonly accountId: string;
  /** Upper bound of one check (`PROVIDER_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  readonly now?: () => Date;
  /** An undici dispatcher to send HTTP checks through (tests, a proxy); each provider's own Agent otherwise. */
  readonly dispatcher?: Dispatcher;
}

/**
 * Everything about one provider, declared in its own file under `src/adapters/providers/` and listed once in
 * `src/adapters/providers/registry.ts`. Nothing outside the module names the provider.
 */
export interface ProviderModule<Settings = unknown> {
  /** `deepseek`: what `PROVIDERS` lists and history, thresholds and alert state are keyed by. */
  readonly id: ProviderId;
  /** `DeepSeek`: how posts name it (`DeepSeek (cn)` for an account). */
  readonly label: string;
  readonly emoji: string;
  /** Settings prefix without the underscore: `DEEPSEEK` → `DEEPSEEK_API_KEY`, account `cn` → `DEEPSEEK_CN_API_KEY`. */
  readonly envPrefix: string;
  /**
   * `monthly-budget` for an account whose reading is what is left of a budget this UTC month (`openai`,
   * `anthropic`): the history's rule then counts the change across a month's 1st as the reset, neither a top-up
   * nor spend (`core/digest.ts`). Absent: a balance.
   */
  readonly figure?: FigureKind;
  /** How posts name a reading's `voucher` and `cash` parts on this provider (Kimi: voucher / cash). */
  readonly parts?: { readonly voucher?: string; readonly cash?: string };
  /**
   * Reads and validates one account's settings. Every problem goes to `env.problem` (the caller throws one
   * error listing all of them); returns `undefined` when the account can't be built.
   */
  settings(env: AccountSettingsReader): Settings | undefined;
  /** The account's currency: the one its host implies, unless `P_CURRENCY` says otherwise. */
  currency(settings: Settings): Currency;
  /** The account's check. `check()` never throws and never outlives `context.timeoutMs`. */
  create(settings: Settings, context: CheckContext): BalanceProvider;
  /** Values `.env.example` ships for this provider, refused by name ("still the example value"). */
  readonly exampleValues?: Readonly<Record<string, string>>;
  /**
   * The currency an account's settings imply even when they are incomplete (no key): import-logs reads the
   * seed's log files in it. Absent: the account's currency is only known from complete settings.
   */
  currencyOf?(env: AccountSettingsReader): Currency;
}

/** Settings every HTTP provider with a bearer key takes: `P_API_KEY`, `P_BASE_URL`, `P_CURRENCY`. */
export interface HttpAccountSettings {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly currency: Currency;
  /** True when `P_CURRENCY` set the currency (DeepSeek then reads that row). */
  readonly currencySet: boolean;
}

/** The options every HTTP provider is created with, from its account's settings and the check context. */
export function httpOptions(
  settings: Pick<HttpAccountSettings, 'apiKey' | 'baseUrl' | 'currency'>,
  context: CheckContext,
): HttpProviderOptions {
  return {
    baseUrl: settings.baseUrl,
    apiKey: settings.apiKey,
    currency: settings.currency,
    timeoutMs: context.timeoutMs,
    accountId: context.accountId,
    ...(context.now ? { now: context.now } : {}),
    ...(context.dispatcher ? { dispatcher: context.dispatcher } : {}),
  };
}

/**
 * Reads `API_KEY` (required), `BASE_URL` (http(s), default `defaultBaseUrl`) and `CURRENCY` (USD or CNY,
 * default `hostCurrency(baseUrl)`), reporting each problem with the variable's full name.
 */
export function readHttpSettings(
  env: AccountSettingsReader,
  defaultBaseUrl: string,
  hostCurrency: (baseUrl: URL) => Currency,
  exampleValues: Readonly<Record<string, string>> = {},
): HttpAccountSettings | undefined {
  let ok = true;
  const required = env.required !== false;
  const apiKey = env.get('API_KEY');
  if (apiKey === undefined) {
    if (required) env.problem(`${env.name('API_KEY')} is missing; ${env.because}`);
    ok = false;
  } else if (exampleValues.API_KEY === apiKey) {
    // A copied .env with this provider switched off still runs.
    if (required) env.problem(`${env.name('API_KEY')} ${EXAMPLE_VALUE_PROBLEM}`);
    ok = false;
  }
  const baseUrl = readBaseUrl(env, 'BASE_URL', defaultBaseUrl, 'API_KEY');
  const currencyRaw = env.get('CURRENCY')?.toUpperCase();
  if (currencyRaw !== undefined && currencyRaw !== 'USD' && currencyRaw !== 'CNY') {
    env.problem(`${env.name('CURRENCY')}=${JSON.stringify(currencyRaw.slice(0, 20))} must be USD or CNY`);
    ok = false;
  }
  if (!ok || apiKey === undefined || baseUrl === undefined) return undefined;
  const currencySet = currencyRaw === 'USD' || currencyRaw === 'CNY';
  return {
    apiKey,
    baseUrl,
    currency: currencySet ? currencyRaw : hostCurrency(new URL(baseUrl)),
    currencySet,
  };
}

/**
 * The currency `CURRENCY` and `BASE_URL` imply, whatever else is set or missing (an unreadable value counts as
 * unset; {@link readHttpSettings} reports it).
 */
export function httpCurrency(
  env: AccountSettingsReader,
  defaultBaseUrl: string,
  hostCurrency: (baseUrl: URL) => Currency,
): Currency {
  const set = env.get('CURRENCY')?.toUpperCase();
  if (set === 'USD' || set === 'CNY') return set;
  let url: URL;
  try {
    url = new URL(env.get('BASE_URL') ?? defaultBaseUrl);
  } catch {
    url = new URL(defaultBaseUrl);
  }
  return hostCurrency(url);
}

/** USD, or CNY for a host under `.cn`: the rule Moonshot, SiliconFlow and StepFun bill by. */
export const cnHostIsCny = (url: URL): Currency => (/\.cn$/i.test(url.hostname) ? 'CNY' : 'USD');
/** Always USD, whatever the host. */
export const usdOnly = (): Currency => 'USD';

/**
 * An http(s) base URL setting (`BASE_URL`, default `defaultBaseUrl`) without credentials in it (they go in
 * `keySetting`), trailing slashes dropped; `undefined` after reporting the problem. `exact`: the setting is a
 * full variable name read with `env.exact` (Claude's `ANTHROPIC_BASE_URL`).
 */
export function readBaseUrl(
  env: AccountSettingsReader,
  setting: string,
  defaultBaseUrl: string,
  keySetting: string,
  exact = false,
): string | undefined {
  const variable = exact ? setting : env.name(setting);
  const keyVariable = exact ? keySetting : env.name(keySetting);
  const rawUrl = (exact ? env.exact(setting) : env.get(setting)) ?? defaultBaseUrl;
  let baseUrl: URL;
  try {
    baseUrl = new URL(rawUrl);
  } catch {
    env.problem(`${variable} is not a valid URL`);
    return undefined;
  }
  if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') {
    env.problem(`${variable} must be an http(s) URL (got ${baseUrl.protocol})`);
    return undefined;
  }
  if (baseUrl.username !== '' || baseUrl.password !== '') {
    env.problem(`${variable} must not hold a user or password; the key goes in ${keyVariable}`);
    return undefined;
  }
  return baseUrl.toString().replace(/\/+$/, '');
}
