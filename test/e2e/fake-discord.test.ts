import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  REST,
  Routes,
  SlashCommandBuilder,
  type TextChannel,
} from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FAKE_DEFAULTS,
  type FakeDiscord,
  type FakeDiscordOptions,
  startFakeDiscord,
  stringOption,
  subcommand,
} from '../support/fake-discord.js';

/** A valid 1×1 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f5d5f50000000049454e44ae426082',
  'hex',
);
const PNG_SIGNATURE = PNG.subarray(0, 8);
const MESSAGES_PATH = /^\/channels\/\d+\/messages$/;

let fake: FakeDiscord;
let clients: Client[] = [];

async function useFake(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  fake = await startFakeDiscord({ heartbeatIntervalMs: 400, ...options });
  return fake;
}

/** Logs a real discord.js client into the fake and waits until the guild is cached (`clientReady`). */
async function connect(): Promise<Client> {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: fake.apiUrl, retries: 2, timeout: 3000 },
  });
  clients.push(client);
  await Promise.all([once(client, Events.ClientReady), client.login(fake.token)]);
  return client;
}

function textChannel(client: Client): TextChannel {
  const channel = client.channels.cache.get(fake.channelId);
  if (!channel?.isTextBased() || channel.isDMBased()) throw new Error('channel not cached as a text channel');
  return channel as TextChannel;
}

/** Runs `handler` for the next chat-input interaction; the returned promise settles with the handler. */
function onNextCommand(
  client: Client,
  handler: (i: ChatInputCommandInteraction) => Promise<unknown>,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const listener = (interaction: Interaction): void => {
      if (!interaction.isChatInputCommand()) return;
      client.off(Events.InteractionCreate, listener);
      handler(interaction).then(resolve, reject);
    };
    client.on(Events.InteractionCreate, listener);
  });
}

beforeEach(async () => {
  clients = [];
  await useFake();
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await fake.close();
});

describe('fake Discord with the real discord.js Client', () => {
  it('connects, identifies once, caches the guild and the text channel, and ACKs heartbeats', async () => {
    const client = await connect();
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.name).toBe('Acme Finance');
    expect(guild?.roles.everyone.id).toBe(fake.guildId);
    expect(guild?.members.me?.id).toBe(fake.applicationId);
    const channel = textChannel(client);
    expect(channel.name).toBe('llm-credits');
    expect(channel.permissionsFor(client.user!)?.has(PermissionFlagsBits.SendMessages)).toBe(true);
    expect(client.user?.id).toBe(fake.applicationId);
    expect(client.application?.id).toBe(fake.applicationId);
    expect(fake.gateway.identifyCount).toBe(1);
    expect(fake.gateway.identifies[0]?.intents).toBe(GatewayIntentBits.Guilds);
    await fake.waitFor(() => fake.gateway.heartbeatCount >= 1, 2000, 'a heartbeat');
    await fake.waitFor(() => client.ws.ping >= 0, 2000, 'a heartbeat ACK');
    expect(fake.unknownRequests()).toEqual([]);
  });

  it('records a channel message with its allowed_mentions and its PNG file', async () => {
    const client = await connect();
    const sent = await textChannel(client).send({
      content: 'Moonshot balance is low: ¥12.30',
      allowedMentions: { parse: [] },
      files: [{ attachment: PNG, name: 'x.png' }],
    });
    const message = await fake.waitForMessage((m) => m.content?.startsWith('Moonshot') === true);
    expect(message.channelId).toBe(fake.channelId);
    expect(message.allowedMentions).toEqual({ parse: [] });
    expect(message.files).toHaveLength(1);
    expect(message.files[0]?.name).toBe('x.png');
    expect(message.files[0]?.contentType).toBe('image/png');
    expect(message.files[0]?.data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(sent.id).toBe(message.id);
    expect(sent.attachments.first()?.name).toBe('x.png');
    expect(sent.attachments.first()?.width).toBe(1);
    const download = await fetch(sent.attachments.first()?.url ?? '');
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('delivers a slash command and captures an ephemeral reply', async () => {
    const client = await connect();
    const seen = onNextCommand(client, async (i) => {
      expect(i.commandName).toBe('credits');
      expect(i.options.getSubcommand()).toBe('balance');
      expect(i.options.getString('account')).toBe('moonshot');
      expect(i.inGuild()).toBe(true);
      expect(i.channelId).toBe(fake.channelId);
      expect(i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)).toBe(true);
      await i.reply({ content: 'Moonshot: ¥12.30', flags: MessageFlags.Ephemeral });
    });
    const handle = fake.sendCommand({
      name: 'credits',
      options: [subcommand('balance', [stringOption('account', 'moonshot')])],
      roles: [fake.roleIds['Finance Admin'] ?? ''],
    });
    const callback = await handle.callback();
    await seen;
    expect(callback.type).toBe(4);
    expect(callback.status).toBe(204);
    expect(callback.ephemeral).toBe(true);
    expect(callback.content).toBe('Moonshot: ¥12.30');
    expect(callback.receivedAt - handle.arrivedAt).toBeLessThan(3000);
    const final = await handle.final();
    expect(final.source).toBe('callback');
    expect(final.content).toBe('Moonshot: ¥12.30');
  });

  it('gives members without roles only @everyone permissions and supports DMs', async () => {
    const client = await connect();
    const guildPerms = onNextCommand(client, async (i) => {
      expect(i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)).toBe(false);
      await i.reply({ content: 'no' });
    });
    const inGuild = fake.sendCommand({ name: 'credits' });
    await guildPerms;
    expect((await inGuild.final()).ephemeral).toBe(false);

    const dm = onNextCommand(client, async (i) => {
      expect(i.inGuild()).toBe(false);
      expect(i.guildId).toBeNull();
      // Without Partials.Channel discord.js does not cache the DM channel, as with real Discord.
      expect(i.channelId).toBe(inDm.payload.channel_id);
      expect(i.user.id).toBe(FAKE_DEFAULTS.userId);
      await i.reply({ content: 'dm ok' });
    });
    const inDm = fake.sendCommand({ name: 'credits', guildId: null });
    await dm;
    expect((await inDm.final()).content).toBe('dm ok');
    expect(inDm.payload.member).toBeUndefined();
    expect(inDm.payload.context).toBe(1);
  });

  it('captures deferReply + editReply with files as the final reply', async () => {
    const client = await connect();
    const done = onNextCommand(client, async (i) => {
      await i.deferReply();
      await sleep(50);
      await i.editReply({ content: 'Balance chart', files: [{ attachment: PNG, name: 'chart.png' }] });
    });
    const handle = fake.sendCommand({ name: 'credits', options: [subcommand('chart')] });
    const callback = await handle.callback();
    expect(callback.type).toBe(5);
    const final = await handle.final();
    await done;
    expect(final.source).toBe('edit');
    expect(final.content).toBe('Balance chart');
    expect(final.files[0]?.name).toBe('chart.png');
    expect(final.files[0]?.data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(final.receivedAt).toBeGreaterThanOrEqual(callback.receivedAt);
  });

  it('captures autocomplete results and follow-ups', async () => {
    const client = await connect();
    const answered = new Promise<void>((resolve, reject) => {
      client.once(Events.InteractionCreate, (i) => {
        if (!i.isAutocomplete()) return reject(new Error(`expected autocomplete, got type ${i.type}`));
        expect(i.options.getFocused()).toBe('moo');
        i.respond([{ name: 'Moonshot', value: 'moonshot' }]).then(resolve, reject);
      });
    });
    const auto = fake.sendCommand({
      name: 'credits',
      kind: 'autocomplete',
      options: [subcommand('balance', [stringOption('account', 'moo', true)])],
    });
    await answered;
    const callback = await auto.callback();
    expect(callback.type).toBe(8);
    expect(callback.choices).toEqual([{ name: 'Moonshot', value: 'moonshot' }]);

    const followed = onNextCommand(client, async (i) => {
      await i.reply({ content: 'first' });
      await i.followUp({ content: 'second', flags: MessageFlags.Ephemeral });
    });
    const cmd = fake.sendCommand({ name: 'credits' });
    await followed;
    const followUp = await cmd.followUp(0);
    expect(followUp.content).toBe('second');
    expect(followUp.ephemeral).toBe(true);
  });

  it('refuses a callback after the interaction deadline with 10062', async () => {
    await fake.close();
    await useFake({ interactionDeadlineMs: 100 });
    const client = await connect();
    const late = onNextCommand(client, async (i) => {
      await sleep(200);
      await i.reply({ content: 'too late' });
    });
    const handle = fake.sendCommand({ name: 'credits' });
    const error = await late.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(10062);
    expect((await handle.callback()).status).toBe(404);
    await expect(handle.final()).rejects.toThrow(/refused/);
  });

  it('lets discord.js retry a 500 on POST /channels/:id/messages', async () => {
    const client = await connect();
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ status: 500 }]);
    await textChannel(client).send({ content: 'after a 500' });
    const attempts = fake.requests.filter((r) => r.method === 'POST' && MESSAGES_PATH.test(r.path));
    expect(attempts.map((r) => r.status)).toEqual([500, 200]);
    expect(attempts[0]?.injected).toBe(true);
    expect(fake.messages.map((m) => m.content)).toEqual(['after a 500']);
  });

  it('makes discord.js honour a 429 retry_after (route and global)', async () => {
    const client = await connect();
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ status: 429, retryAfter: 0.3 }]);
    await textChannel(client).send({ content: 'after a 429' });
    const [limited, retried] = fake.requests.filter((r) => r.method === 'POST' && MESSAGES_PATH.test(r.path));
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    expect((retried?.time ?? 0) - (limited?.respondedAt ?? 0)).toBeGreaterThanOrEqual(300);

    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [
      { status: 429, retryAfter: 0.2, global: true },
    ]);
    await textChannel(client).send({ content: 'after a global 429' });
    const posts = fake.requests.filter((r) => r.method === 'POST' && MESSAGES_PATH.test(r.path));
    const [globalLimited, globalRetried] = posts.slice(2);
    expect(globalLimited?.status).toBe(429);
    expect(globalRetried?.status).toBe(200);
    expect((globalRetried?.time ?? 0) - (globalLimited?.respondedAt ?? 0)).toBeGreaterThanOrEqual(200);
  });

  it('lets @discordjs/rest time out a slow response and retry it', async () => {
    const rest = new REST({ api: fake.apiUrl, retries: 1, timeout: 200 }).setToken(fake.token);
    fake.failNext({ method: 'GET', pathPattern: /^\/users\/@me$/ }, [{ delayMs: 600 }]);
    const me = (await rest.get(Routes.user())) as { id: string };
    expect(me.id).toBe(fake.applicationId);
    const attempts = fake.requests.filter((r) => r.path === '/users/@me');
    expect(attempts.map((r) => r.status)).toEqual([0, 200]);
    expect(attempts[0]?.injected).toBe(true);
  });

  it('resumes after the gateway connection drops and replays missed dispatches', async () => {
    const client = await connect();
    const resumed = once(client, Events.ShardResume);
    await fake.dropGatewayConnection();
    // Dispatched while the client is disconnected: must be replayed on RESUME.
    const replied = onNextCommand(client, (i) => i.reply({ content: 'still here' }));
    const handle = fake.sendCommand({ name: 'credits' });
    const [, replayed] = (await resumed) as [number, number];
    expect(replayed).toBeGreaterThanOrEqual(1);
    await replied;
    expect((await handle.final()).content).toBe('still here');
    expect(fake.gateway.resumeCount).toBe(1);
    expect(fake.gateway.identifyCount).toBe(1);
    expect(fake.gateway.connections.map((c) => c.path)).toEqual(['/', '/resume']);
    expect(fake.gateway.connections[0]?.closeCode).toBe(4000);
    await textChannel(client).send({ content: 'after resume' });
    expect(fake.messages.at(-1)?.content).toBe('after resume');
  });

  it('also resumes after the TCP connection is cut', async () => {
    const client = await connect();
    const resumed = once(client, Events.ShardResume);
    await fake.dropGatewayConnection('terminate');
    await resumed;
    expect(fake.gateway.resumeCount).toBe(1);
    expect(fake.gateway.identifyCount).toBe(1);
  });

  it('records command registration through a bare REST and uses the registered ids', async () => {
    const rest = new REST({ api: fake.apiUrl, retries: 1, timeout: 3000 }).setToken(fake.token);
    const app = (await rest.get(Routes.currentApplication())) as { id: string; name: string };
    expect(app.id).toBe(fake.applicationId);
    const body = [
      new SlashCommandBuilder()
        .setName('credits')
        .setDescription('LLM API credit balances')
        .addSubcommand((s) => s.setName('balance').setDescription('Show balances'))
        .toJSON(),
    ];
    const guildResult = (await rest.put(Routes.applicationGuildCommands(app.id, fake.guildId), { body })) as {
      id: string;
      name: string;
    }[];
    await rest.put(Routes.applicationCommands(app.id), { body: [] });
    expect(guildResult[0]?.name).toBe('credits');
    expect(guildResult[0]?.id).toMatch(/^\d{17,20}$/);
    expect(fake.registrations.map((r) => [r.scope, r.guildId, r.status])).toEqual([
      ['guild', fake.guildId, 200],
      ['global', null, 200],
    ]);
    expect(fake.registrations[0]?.body).toEqual(body);
    expect(fake.commands({ guildId: fake.guildId }).map((c) => c.name)).toEqual(['credits']);

    const invalid = rest.put(Routes.applicationCommands(app.id), {
      body: [{ name: 'Credits Now', description: 'x' }],
    });
    await expect(invalid).rejects.toMatchObject({ status: 400, code: 50035 });

    const client = await connect();
    const replied = onNextCommand(client, async (i) => {
      expect(i.commandId).toBe(guildResult[0]?.id);
      expect(i.commandGuildId).toBe(fake.guildId);
      await i.reply({ content: 'ok' });
    });
    fake.sendCommand({ name: 'credits', options: [subcommand('balance')] });
    await replied;
  });

  it('rejects a wrong token with 401 and answers unknown routes with a recorded 404', async () => {
    const wrong = new REST({ api: fake.apiUrl, retries: 0 }).setToken('not-the-token');
    await expect(wrong.get(Routes.user())).rejects.toMatchObject({ status: 401, rawError: { code: 0 } });
    const rest = new REST({ api: fake.apiUrl, retries: 0 }).setToken(fake.token);
    await expect(rest.get('/definitely/not/a/route')).rejects.toMatchObject({ status: 404 });
    expect(fake.unknownRequests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /definitely/not/a/route',
    ]);
    expect(fake.requests.map((r) => r.status)).toEqual([401, 404]);
  });

  it('rejects an empty message like Discord (50006) and messages to unknown channels (10003)', async () => {
    const rest = new REST({ api: fake.apiUrl, retries: 0 }).setToken(fake.token);
    await expect(rest.post(Routes.channelMessages(fake.channelId), { body: {} })).rejects.toMatchObject({
      status: 400,
      code: 50006,
    });
    await expect(
      rest.post(Routes.channelMessages('123456789012345678'), { body: { content: 'x' } }),
    ).rejects.toMatchObject({ status: 404, code: 10003 });
  });
});
