/**
 * `npm run deploy-commands` — registers the slash commands: in one guild when DISCORD_GUILD_ID is
 * set (instant), otherwise globally. The application id comes from DISCORD_APPLICATION_ID or is
 * looked up with the token. DISCORD_API_URL applies here too.
 */
import { REST } from '@discordjs/rest';
import { type APIApplication, Routes } from 'discord.js';
import { commandPayloads, loadCommands } from '../adapters/discord/commands/index.js';
import { configOrExplain, runCli } from './cli.js';

async function main(): Promise<number> {
  const config = configOrExplain();
  if (config === null) return 1;
  const token = config.discord.token;
  if (token === null) {
    console.error('creditwatch: DISCORD_TOKEN is missing; deploy-commands needs the bot token.');
    return 1;
  }
  const rest = new REST({ api: config.discord.apiUrl }).setToken(token);
  const applicationId =
    config.discord.applicationId ?? ((await rest.get(Routes.currentApplication())) as APIApplication).id;
  const body = commandPayloads(loadCommands({ accounts: config.providers }), { accounts: config.providers });
  const guildId = config.discord.guildId;
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  const result = (await rest.put(route, { body })) as { name: string }[];
  console.log(
    `Registered ${result.length} command${result.length === 1 ? '' : 's'} (${result.map((c) => `/${c.name}`).join(', ')}) ` +
      (guildId ? `in guild ${guildId} (available now).` : 'globally (may take up to an hour to appear).'),
  );
  return 0;
}

// discord.js REST errors carry the route and status, never the token.
runCli(main, 'could not register commands');
