/**
 * `npm run deploy-commands` — registers the slash commands: in one guild when DISCORD_GUILD_ID is
 * set (instant), otherwise globally. The application id comes from DISCORD_APPLICATION_ID or is
 * looked up with the token. DISCORD_API_URL applies here too.
 */
import { REST } from '@discordjs/rest';
import { type APIApplication, Routes } from 'discord.js';
import { commandPayloads, loadCommands } from '../commands/index.js';
import { type Config, ConfigError, loadConfig, readEnvironment } from '../src/config.js';

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(readEnvironment());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`creditwatch: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const token = config.discord.token;
  if (token === null) {
    console.error('creditwatch: DISCORD_TOKEN is missing; deploy-commands needs the bot token.');
    return 1;
  }
  const rest = new REST({ api: config.discord.apiUrl }).setToken(token);
  const applicationId =
    config.discord.applicationId ?? ((await rest.get(Routes.currentApplication())) as APIApplication).id;
  const body = commandPayloads(loadCommands({ providers: config.providers }), {
    providers: config.providers,
  });
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

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // discord.js REST errors carry the route and status, never the token.
    console.error(`creditwatch: could not register commands: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
