import { providerModule } from './providers/registry.js';

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

/** What a post needs to show an account: `{ label: 'Kimi (cn)', emoji: '🌙', parts }`. */
export function accountDisplay(id: AccountId): Pick<AccountInfo, 'label' | 'emoji' | 'parts'> {
  const { label, emoji, parts } = accountInfo(id);
  return { label, emoji, parts };
}
