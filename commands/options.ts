import type { SlashCommandStringOption } from 'discord.js';
import { accountDisplay } from '../src/accounts.js';
import { UserError } from '../src/discord/errors.js';
import type { ProviderId } from '../src/types.js';

/** A `provider` option whose choices are the enabled providers. */
export function providerOption(
  option: SlashCommandStringOption,
  providers: readonly ProviderId[],
  description: string,
  required = false,
): SlashCommandStringOption {
  return option
    .setName('provider')
    .setDescription(description)
    .setRequired(required)
    .addChoices(...providers.map((p) => ({ name: accountDisplay(p).label, value: p })));
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
