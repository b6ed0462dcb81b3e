import { InteractionContextType, MessageFlags, SlashCommandBuilder } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
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
  guards: { subcommands: { status: ['guild'], snooze: ['admin'], unsnooze: ['admin'] } },
  data: ({ accounts }) =>
    new SlashCommandBuilder()
      .setName('alerts')
      .setDescription('Alert episodes, acknowledgements and snoozes; snooze an account (Manage Server)')
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
      ),

  async execute(interaction, ctx) {
    const sub = interaction.options.getSubcommand(true);
    if (sub === 'status') {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const lines = ['**Alerts** (episodes, acknowledgements and snoozes)'];
      for (const p of ctx.service.providerIds) {
        const { emoji, label } = accountDisplay(p);
        const line = (await ctx.alertStatus?.(p)) ?? 'alerts are not running';
        lines.push(`${emoji} **${label}:** ${line.replace(/^alert state: /, '')}`);
      }
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
