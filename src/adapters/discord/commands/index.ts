import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import alerts from './alerts.js';
import balance from './balance.js';
import balanceHistory from './balance-history.js';
import threshold from './threshold.js';
import type { Command, CommandDataOptions } from './types.js';

export type { Command, CommandContext, CommandDataOptions } from './types.js';

/** Every command module, checked for shape so a malformed one fails at start, not at first use. */
export function loadCommands(options: CommandDataOptions): Map<string, Command> {
  const commands = new Map<string, Command>();
  for (const [file, mod] of Object.entries({
    alerts,
    balance,
    'balance-history': balanceHistory,
    threshold,
  })) {
    const c = mod as Partial<Command> | undefined;
    if (typeof c?.data !== 'function' || typeof c.execute !== 'function') {
      throw new Error(`src/adapters/discord/commands/${file}.ts must default-export { data, execute }`);
    }
    const name = c.data(options).name;
    if (name !== file)
      throw new Error(
        `src/adapters/discord/commands/${file}.ts defines /${name}; the file name must match the command name`,
      );
    commands.set(name, c as Command);
  }
  return commands;
}

/** The registration payloads for `npm run deploy-commands`. */
export function commandPayloads(
  commands: Map<string, Command>,
  options: CommandDataOptions,
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return [...commands.values()].map((c) => c.data(options).toJSON());
}
