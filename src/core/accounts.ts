import type { AccountSettingsReader, ProviderModule } from '../adapters/providers/module.js';
import { PROVIDER_MODULES, providerModule } from '../adapters/providers/registry.js';
import type { FigureKind } from './digest.js';
import { type Amount, Big, type Currency, parseTypedAmount } from './money.js';

/**
 * An account id: a provider module's id (`kimi`), or that id and an account name (`kimi:cn`). Thresholds,
 * history, alert state and forecasts are keyed by it; the default account's id is the provider's id, so
 * data kept before accounts existed (`claude`, `kimi`) belongs to the default accounts unchanged.
 */
export type AccountId = string;

/** `[a-z0-9-]{1,20}`: the part after the colon. */
export const ACCOUNT_NAME = /^[a-z0-9-]{1,20}$/;

/** What posts, commands and alerts show of an account. */
export interface AccountInfo {
  readonly id: AccountId;
  /** The provider module's id (`kimi` for `kimi:cn`). */
  readonly provider: string;
  /** `cn` for `kimi:cn`; `undefined` for the default account. */
  readonly name: string | undefined;
  /** `Kimi (cn)`, `Kimi`. */
  readonly label: string;
  readonly emoji: string;
  /** How posts name the reading's voucher and cash parts (absent: not shown). */
  readonly parts: { readonly voucher?: string; readonly cash?: string };
}

/** Splits `kimi:cn` into provider and account name; `null` when it is not well formed. */
export function parseAccountId(id: string): { provider: string; name: string | undefined } | null {
  const [provider, name, extra] = id.split(':');
  if (provider === undefined || provider === '' || extra !== undefined) return null;
  if (name !== undefined && !ACCOUNT_NAME.test(name)) return null;
  return { provider, name };
}

/**
 * The display facts of an account, from its provider's module (`Kimi (cn)`). An id no module declares is
 * shown as it is, so history of a provider removed since still reads.
 */
export function accountInfo(id: AccountId): AccountInfo {
  const parsed = parseAccountId(id);
  const module = parsed ? providerModule(parsed.provider) : undefined;
  if (!parsed || !module)
    return { id, provider: parsed?.provider ?? id, name: parsed?.name, label: id, emoji: '💰', parts: {} };
  return {
    id,
    provider: module.id,
    name: parsed.name,
    label: parsed.name === undefined ? module.label : `${module.label} (${parsed.name})`,
    emoji: module.emoji,
    parts: module.parts ?? {},
  };
}

/** The environment variable of an account's setting: `MOONSHOT` + `team-b` + `API_KEY` → `MOONSHOT_TEAM_B_API_KEY`. */
export function accountVariable(prefix: string, name: string | undefined, setting: string): string {
  return name === undefined
    ? `${prefix}_${setting}`
    : `${prefix}_${name.toUpperCase().replaceAll('-', '_')}_${setting}`;
}

/**
 * Whether the account's figure is a balance or what is left of a monthly budget, from its provider's module
 * (`openai:team` is a budget); an id no module declares is a balance.
 */
export function figureKind(id: AccountId): FigureKind {
  const parsed = parseAccountId(id);
  return (parsed ? providerModule(parsed.provider)?.figure : undefined) ?? 'balance';
}

/** What a post needs to show an account: `{ label: 'Kimi (cn)', emoji: '🌙', parts }`. */
export function accountDisplay(id: AccountId): Pick<AccountInfo, 'label' | 'emoji' | 'parts'> {
  const { label, emoji, parts } = accountInfo(id);
  return { label, emoji, parts };
}

/** An account the configuration enables: its provider's module and its parsed settings. */
export interface ConfiguredAccount {
  readonly id: AccountId;
  readonly module: ProviderModule<unknown>;
  readonly settings: unknown;
  readonly currency: Currency;
  /** Its own default threshold (`P_THRESHOLD`, `P_X_THRESHOLD`), in its currency; else `DEFAULT_THRESHOLD`. */
  readonly threshold: Amount | undefined;
}

/**
 * `PROVIDERS`' entries (`kimi,kimi:cn,deepseek`) as account ids, each once, in summary order: providers in
 * registry order, each provider's default account first, then its named accounts as listed. Problems (an
 * unknown provider, a malformed account) are added to `problems`.
 */
export function parseAccountList(raw: string, problems: string[]): AccountId[] {
  const known = PROVIDER_MODULES.map((m) => m.id);
  const listed = raw
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  if (listed.length === 0) problems.push(`PROVIDERS is empty; list at least one of ${known.join(', ')}`);
  const ids: AccountId[] = [];
  for (const entry of listed) {
    const parsed = parseAccountId(entry);
    if (parsed === null) {
      problems.push(
        `PROVIDERS entry ${JSON.stringify(entry.slice(0, 40))} must be provider or provider:account (account: a-z, 0-9 and -, at most 20)`,
      );
    } else if (!known.includes(parsed.provider)) {
      problems.push(
        `PROVIDERS names unknown provider ${JSON.stringify(parsed.provider.slice(0, 40))}; known: ${known.join(', ')}`,
      );
    } else if (!ids.includes(entry)) {
      ids.push(entry);
    }
  }
  const order = (id: AccountId): [number, number] => {
    const { provider, name } = parseAccountId(id) as { provider: string; name: string | undefined };
    return [known.indexOf(provider), name === undefined ? -1 : listed.indexOf(id)];
  };
  return ids.sort((a, b) => {
    const [pa, na] = order(a);
    const [pb, nb] = order(b);
    return pa - pb || na - nb;
  });
}

type Environment = Readonly<Record<string, string | undefined>>;

/** The reader of one account's settings its module is given (`kimi:cn` → `MOONSHOT_CN_…`). */
function settingsReader(
  env: Environment,
  module: ProviderModule<unknown>,
  account: string | undefined,
  problems: string[],
  because: string,
  required: boolean,
): AccountSettingsReader {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const name = (setting: string) => accountVariable(module.envPrefix, account, setting);
  return {
    account,
    name,
    get: (setting) => value(name(setting)),
    exact: value,
    problem: (text) => problems.push(text),
    because,
    required,
  };
}

/**
 * Reads each account's settings through its provider's module (`kimi:cn` → `MOONSHOT_CN_…`), plus its
 * `P_THRESHOLD`; every problem goes to `problems`, so the caller raises one error listing all of them.
 * `because(id)` completes "… is missing; <because>". The `unrequired` accounts (a provider's default account
 * nobody asked for) are judged too, but only on the values that are set, and are not returned.
 */
export function readAccounts(
  env: Environment,
  ids: readonly AccountId[],
  because: (id: AccountId) => string,
  problems: string[],
  unrequired: readonly AccountId[] = [],
): ConfiguredAccount[] {
  const accounts: ConfiguredAccount[] = [];
  const all = [...ids, ...unrequired.filter((id) => !ids.includes(id))];
  for (const id of parseAccountList(all.join(','), [])) {
    const parsed = parseAccountId(id);
    const module = parsed ? providerModule(parsed.provider) : undefined;
    if (!parsed || !module) continue; // reported by parseAccountList
    const required = ids.includes(id);
    const reader = settingsReader(env, module, parsed.name, problems, because(id), required);
    const name = reader.name;
    const settings = module.settings(reader);
    const thresholdText = reader.get('THRESHOLD');
    let threshold: Amount | undefined;
    if (thresholdText !== undefined) {
      const typed = parseTypedAmount(thresholdText, { maxDecimals: 2, max: new Big(1_000_000) });
      if (typed.ok) threshold = typed.amount;
      else
        problems.push(
          `${name('THRESHOLD')}=${JSON.stringify(thresholdText.slice(0, 20))} must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50`,
        );
    }
    if (settings === undefined || !required) continue;
    accounts.push({ id, module, settings, currency: module.currency(settings), threshold });
  }
  return accounts;
}

/**
 * The currency an account's settings imply even when they are incomplete (its module's `currencyOf`), or
 * `undefined` when its module can't tell without complete settings.
 */
export function impliedCurrency(env: Environment, id: AccountId): Currency | undefined {
  const parsed = parseAccountId(id);
  const module = parsed ? providerModule(parsed.provider) : undefined;
  if (!parsed || !module?.currencyOf) return undefined;
  return module.currencyOf(settingsReader(env, module, parsed.name, [], '', false));
}

/** Every provider's default account (`claude`, `kimi`, …), in registry order. */
export function defaultAccounts(): AccountId[] {
  return PROVIDER_MODULES.map((m) => m.id);
}
