import { InteractionContextType, MessageFlags, SlashCommandBuilder } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
import {
  describeQuietHours,
  makeQuietHours,
  type QuietHours,
  quietWindow,
} from '../../../core/alerts/quiet-hours.js';
import { parseDuration } from '../../../core/config.js';
import { formatDuration, formatTime } from '../../../core/format.js';
import { UserError } from '../errors.js';
import { accountFrom, accountOption } from './options.js';
import { answerInParts } from './reply.js';
import type { Command } from './types.js';

/** The longest snooze `/alerts snooze` takes. */
const MAX_SNOOZE_MS = 30 * 86_400_000;
const who = (user: { username: string; id: string }) => `${user.username} (${user.id})`;

export default {
  // Anyone in the server may look; snoozing needs Manage Server or an admin role, like /threshold set.
  // `set` and `clear` are the quiet-hours group's subcommands; `test` sends to every channel.
  guards: {
    subcommands: {
      status: ['guild'],
      snooze: ['admin'],
      unsnooze: ['admin'],
      set: ['admin'],
      clear: ['admin'],
      test: ['admin'],
    },
  },
  data: ({ accounts }) =>
    new SlashCommandBuilder()
      .setName('alerts')
      .setDescription(
        'Alert episodes, snoozes and quiet hours; snooze, quiet hours and test need Manage Server',
      )
      .setContexts(InteractionContextType.Guild)
      .addSubcommand((s) =>
        s.setName('status').setDescription('Open episodes, acknowledgements and snoozes per account'),
      )
      .addSubcommand((s) =>
        s
          .setName('snooze')
          .setDescription('Hold non-critical alerts of an account for a while (critical ones still go out)')
          .addStringOption((o) => accountOption(o, accounts, 'Account', true))
          .addStringOption((o) =>
            o
              .setName('duration')
              .setDescription('How long: 90m, 24h, 3d (at most 30d)')
              .setRequired(true)
              .setMaxLength(20),
          ),
      )
      .addSubcommand((s) =>
        s
          .setName('unsnooze')
          .setDescription('End a snooze now')
          .addStringOption((o) => accountOption(o, accounts, 'Account', true)),
      )
      .addSubcommandGroup((g) =>
        g
          .setName('quiet-hours')
          .setDescription('Hold non-critical alerts during a daily window; deliver them as one message after')
          .addSubcommand((s) =>
            s
              .setName('set')
              .setDescription('Set the daily quiet window (critical alerts still go out)')
              .addStringOption((o) =>
                o
                  .setName('from')
                  .setDescription('Start, HH:MM (24 h), e.g. 22:00')
                  .setRequired(true)
                  .setMaxLength(5),
              )
              .addStringOption((o) =>
                o
                  .setName('to')
                  .setDescription('End, HH:MM (24 h), e.g. 07:00')
                  .setRequired(true)
                  .setMaxLength(5),
              )
              .addStringOption((o) =>
                o
                  .setName('timezone')
                  .setDescription('IANA time zone, e.g. Europe/Berlin, America/New_York, UTC')
                  .setRequired(true)
                  .setMaxLength(64),
              ),
          )
          .addSubcommand((s) =>
            s.setName('clear').setDescription('No quiet hours: every alert goes out at once'),
          ),
      )
      .addSubcommand((s) =>
        s
          .setName('test')
          .setDescription(
            'Send a test alert to every channel (Discord, webhook, e-mail) and see which got it',
          ),
      ),

  async execute(interaction, ctx) {
    const sub = interaction.options.getSubcommand(true);
    const group = interaction.options.getSubcommandGroup(false);
    if (group === 'quiet-hours') return quietHours(interaction, ctx, sub);
    if (group !== null) throw new UserError(`Unknown subcommand group "${group.slice(0, 20)}".`);
    if (sub === 'test') return testAlert(interaction, ctx);
    if (sub === 'status') {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const lines = ['**Alerts** (episodes, acknowledgements and snoozes)'];
      for (const p of ctx.service.providerIds) {
        const { emoji, label } = accountDisplay(p);
        const line = (await ctx.alertStatus?.(p)) ?? 'alerts are not running';
        lines.push(`${emoji} **${label}:** ${line.replace(/^alert state: /, '')}`);
      }
      lines.push(await quietLine(ctx));
      await answerInParts(interaction, lines.join('\n'), { deferred: true, ephemeral: true });
      return;
    }
    if (sub !== 'snooze' && sub !== 'unsnooze')
      throw new UserError(`Unknown subcommand "${sub.slice(0, 20)}".`);
    const provider = accountFrom(interaction.options, ctx.service.providerIds, true)!;
    const label = accountDisplay(provider).label;
    let until: Date | null = null;
    const at = ctx.now();
    if (sub === 'snooze') {
      const text = interaction.options.getString('duration', true);
      const ms = parseDuration(text, 's');
      if (ms === null || ms < 60_000 || ms > MAX_SNOOZE_MS)
        throw new UserError(
          `Not snoozed: "${text.slice(0, 20)}" is not a duration from 1m to 30d (write it like 90m, 24h or 3d).`,
        );
      until = new Date(at.getTime() + ms);
    }
    if (!ctx.alertSnooze) throw new UserError('Alerts are not running in this bot; nothing was changed.');
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const state = await ctx.alertSnooze(provider, until, who(interaction.user), at);
    const reply = (content: string) => interaction.editReply({ content, allowedMentions: { parse: [] } });
    if (!state) {
      await reply(
        `${label} has no alert state yet (not checked since the bot started using this store); nothing was changed.`,
      );
      return;
    }
    if (until) {
      await reply(
        `🔕 ${label} snoozed for ${formatDuration(until.getTime() - at.getTime())}, until ${formatTime(until, 'discord', 'at-ago')}: only critical alerts until then.`,
      );
    } else {
      await reply(`🔔 ${label} is not snoozed any more: every alert goes out again.`);
    }
  },
} satisfies Command;

type Interaction = Parameters<Command['execute']>[0];
type Context = Parameters<Command['execute']>[1];

/** The `/alerts status` line about quiet hours. */
async function quietLine(ctx: Context): Promise<string> {
  if (!ctx.quietHours) return '🔕 **Quiet hours:** alerts are not running';
  try {
    const [q, held] = await Promise.all([ctx.quietHours.get(), ctx.quietHours.held()]);
    const heldText = held > 0 ? `; ${held} alert${held === 1 ? '' : 's'} held` : '';
    if (!q) return `🔕 **Quiet hours:** none${heldText}`;
    const now = quietWindow(q, ctx.now()) !== null ? ' (quiet now)' : '';
    return `🔕 **Quiet hours:** ${describeQuietHours(q)}${now}${heldText}`;
  } catch {
    return '🔕 **Quiet hours:** unknown (the store is unreachable)';
  }
}

/** `/alerts quiet-hours set|clear` (admin). */
async function quietHours(interaction: Interaction, ctx: Context, sub: string): Promise<void> {
  if (sub !== 'set' && sub !== 'clear') throw new UserError(`Unknown subcommand "${sub.slice(0, 20)}".`);
  if (!ctx.quietHours) throw new UserError('Alerts are not running in this bot; nothing was changed.');
  const at = ctx.now();
  let q: QuietHours | null = null;
  if (sub === 'set') {
    const made = makeQuietHours(
      {
        from: interaction.options.getString('from', true),
        to: interaction.options.getString('to', true),
        timeZone: interaction.options.getString('timezone', true),
      },
      who(interaction.user),
      at,
    );
    if (typeof made === 'string') throw new UserError(`Quiet hours not set: ${made}`);
    q = made;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  let held = 0;
  try {
    await ctx.quietHours.set(q);
    held = await ctx.quietHours.held();
  } catch (err) {
    ctx.logger.child({ module: 'alerts' }).error({ err }, 'could not store the quiet hours');
    throw new UserError(
      'Could not store the quiet hours (the database is unreachable); nothing was changed.',
    );
  }
  const reply = (content: string) => interaction.editReply({ content, allowedMentions: { parse: [] } });
  const heldText = held > 0 ? ` ${held} held alert${held === 1 ? '' : 's'} go out with the next check.` : '';
  if (!q) {
    await reply(`🔔 Quiet hours cleared: every alert goes out at once again.${heldText}`);
    return;
  }
  const now = quietWindow(q, at) !== null ? ' It is quiet now.' : '';
  await reply(
    `🔕 Quiet hours set: ${describeQuietHours(q)}, every day. Non-critical alerts raised then are held and delivered as one message when the window ends; critical alerts still go out at once.${now}`,
  );
}

/** `/alerts test` (admin): a marked test message through every channel; says privately which delivered it. */
async function testAlert(interaction: Interaction, ctx: Context): Promise<void> {
  if (!ctx.alertTest) throw new UserError('Alerts are not running in this bot; nothing was sent.');
  // Each channel retries on its own (a webhook up to its attempts): defer first.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const outcomes = await ctx.alertTest(who(interaction.user), ctx.now());
  const ok = outcomes.filter((o) => o.delivered).length;
  const lines = [
    `🧪 Test alert sent: ${ok} of ${outcomes.length} channel${outcomes.length === 1 ? '' : 's'} delivered it.`,
    ...outcomes.map((o) =>
      o.delivered
        ? `✅ ${o.channel}: delivered`
        : `❌ ${o.channel}: not delivered: \`${(o.reason ?? 'unknown error').replace(/`/g, "'")}\``,
    ),
  ];
  await interaction.editReply({ content: lines.join('\n'), allowedMentions: { parse: [] } });
}
