import type { SlashCommandStringOption } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
import type { ProviderId } from '../../../core/types.js';
import { UserError } from '../errors.js';

/** Discord's limit on an option's choices, and on the answers to one autocomplete. */
export const MAX_CHOICES = 25;

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

/** A `provider` option: the enabled accounts as choices, or by autocomplete when there are more than 25. */
export function providerOption(
  option: SlashCommandStringOption,
  providers: readonly ProviderId[],
  description: string,
  required = false,
): SlashCommandStringOption {
  const base = option.setName('provider').setDescription(description).setRequired(required);
  // Discord allows at most 25 choices; past that the accounts are offered by autocomplete as one types.
  if (providers.length > MAX_CHOICES) return base.setAutocomplete(true);
  return base.addChoices(...providers.map((p) => ({ name: accountDisplay(p).label, value: p })));
}

/**
 * Discord validates choices, but a crafted or stale payload can still carry anything: check again
 * and name what is allowed.
 */
export function checkProvider(value: string | null, enabled: readonly ProviderId[]): ProviderId | null {
  if (value === null) return null;
  if ((enabled as readonly string[]).includes(value)) return value as ProviderId;
  throw new UserError(
    `Unknown provider "${value.slice(0, 40)}". Enabled: ${enabled.map((p) => `${accountDisplay(p).label} (${p})`).join(', ')}.`,
  );
}
