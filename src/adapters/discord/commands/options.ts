import type { ChatInputCommandInteraction, SlashCommandStringOption } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
import type { ProviderId } from '../../../core/types.js';
import { UserError } from '../errors.js';

/** Discord's limit on an option's choices, and on the answers to one autocomplete. */
export const MAX_CHOICES = 25;

/** The name of the option that selects an account (`/balance [account]`, `/threshold set account:…`). */
export const ACCOUNT_OPTION = 'account';

/**
 * The accounts offered for what has been typed: those whose id or label contains it (ids starting with it
 * first), at most {@link MAX_CHOICES}.
 */
export function accountSuggestions(
  accounts: readonly ProviderId[],
  typed: string,
): Array<{ name: string; value: string }> {
  const q = typed.trim().toLowerCase();
  const matches = accounts.filter((a) => a.includes(q) || accountDisplay(a).label.toLowerCase().includes(q));
  const rank = (a: string) => (a.startsWith(q) ? 0 : 1);
  return [...matches]
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, MAX_CHOICES)
    .map((a) => ({ name: accountDisplay(a).label, value: a }));
}

/**
 * The `account` option: the enabled accounts as choices (id `kimi:cn`, shown as "Kimi (cn)"), or by
 * autocomplete when there are more than 25.
 */
export function accountOption(
  option: SlashCommandStringOption,
  accounts: readonly ProviderId[],
  description: string,
  required = false,
): SlashCommandStringOption {
  const base = option.setName(ACCOUNT_OPTION).setDescription(description).setRequired(required);
  // Discord allows at most 25 choices; past that the accounts are offered by autocomplete as one types.
  if (accounts.length > MAX_CHOICES) return base.setAutocomplete(true);
  return base.addChoices(...accounts.map((a) => ({ name: accountDisplay(a).label, value: a })));
}

/**
 * Discord validates choices, but a crafted or stale payload can still carry anything: check again
 * and name what is allowed.
 */
export function checkAccount(value: string | null, enabled: readonly ProviderId[]): ProviderId | null {
  if (value === null) return null;
  if ((enabled as readonly string[]).includes(value)) return value as ProviderId;
  throw new UserError(
    `Unknown account "${value.slice(0, 40)}". Enabled: ${enabled.map((a) => `${accountDisplay(a).label} (${a})`).join(', ')}.`,
  );
}

/**
 * The account an interaction selects (checked by {@link checkAccount}), `null` for none. Commands registered
 * before the option was renamed still send `provider`: that is refused with what to do, not read as "all
 * accounts" (or, for `/threshold set`, a generic failure).
 */
export function accountFrom(
  options: Pick<ChatInputCommandInteraction['options'], 'get' | 'getString'>,
  enabled: readonly ProviderId[],
  required = false,
): ProviderId | null {
  const value = options.getString(ACCOUNT_OPTION);
  if (value === null && options.get('provider') !== null) {
    throw new UserError(
      "This command's registration is out of date (its `provider` option is now `account`): an admin should run `npm run deploy-commands`.",
    );
  }
  if (value === null && required) throw new UserError('Choose an account.');
  return checkAccount(value, enabled);
}
