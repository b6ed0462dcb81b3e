import { Client, GatewayIntentBits, Options, type RESTOptions } from 'discord.js';

export interface DiscordClientOptions {
  /** REST base URL (discord.js `rest.api`); the gateway address is fetched through it. */
  readonly apiUrl: string;
  /** Overrides for tests: shorter REST timeouts and retry counts. */
  readonly rest?: Partial<RESTOptions>;
}

/**
 * The gateway client: the Guilds intent only (slash commands need no other), and caches bounded
 * to what the bot reads — it never needs messages, presences, members or reactions.
 */
export function createDiscordClient(options: DiscordClientOptions): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: options.apiUrl, ...options.rest },
    makeCache: Options.cacheWithLimits({
      ...Options.DefaultMakeCacheSettings,
      MessageManager: 0,
      ReactionManager: 0,
      PresenceManager: 0,
      GuildEmojiManager: 0,
      GuildStickerManager: 0,
      StageInstanceManager: 0,
      VoiceStateManager: 0,
      GuildScheduledEventManager: 0,
      AutoModerationRuleManager: 0,
      ThreadManager: 0,
      GuildMemberManager: { maxSize: 1, keepOverLimit: (m) => m.id === m.client.user.id },
      UserManager: { maxSize: 100, keepOverLimit: (u) => u.id === u.client.user.id },
    }),
    sweepers: {
      ...Options.DefaultSweeperSettings,
      users: { interval: 3600, filter: () => (u) => u.id !== u.client.user.id },
    },
    // Posts never ping by default; an alert that may ping a role says so itself.
    allowedMentions: { parse: [] },
  });
}
