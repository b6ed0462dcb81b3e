import { type ButtonInteraction, MessageFlags } from 'discord.js';
import { accountDisplay } from '../../core/accounts.js';
import { alertButtonRows, parseAlertButtonId } from '../../core/alerts/buttons.js';
import type { AlertState } from '../../core/alerts/engine.js';
import { capText, DISCORD_CONTENT_LIMIT, formatTime } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import { renderBalance } from './commands/balance.js';
import type { CommandContext } from './commands/types.js';

/** Who clicked, for the state and the audit log: name and id (names change, ids don't). */
const who = (user: { username: string; id: string }) => `${user.username} (${user.id})`;

const ended = (label: string, state: AlertState | null): string => {
  const now =
    state === null
      ? 'no alert is open for it'
      : `it is ${state.state === 'critical' ? 'critically low' : state.state} since ${formatTime(new Date(state.since), 'discord')}`;
  return `This ${label} alert's episode has ended (${now}); nothing was done. Newer alerts carry their own buttons.`;
};

/**
 * A click on an alert's button (Acknowledge, Snooze 24h, Refresh), after the dispatcher's guards. The
 * `custom_id` is parsed and checked (a crafted one is refused), every click is logged (who, what, which
 * episode, what came of it), and Acknowledge and Snooze are saved in the shared alert state before the
 * message is edited to say who did it and when. A click on an alert whose episode has ended says so.
 */
export async function handleAlertButton(
  interaction: ButtonInteraction,
  ctx: CommandContext,
  log: Logger,
): Promise<void> {
  const parsed = parseAlertButtonId(interaction.customId, ctx.service.providerIds);
  const audit = { customId: interaction.customId.slice(0, 100), user: interaction.user.id };
  if (!parsed) {
    log.warn(audit, 'alert button refused: not a custom_id creditwatch makes');
    await interaction.reply({
      content:
        'This button is not one creditwatch made (or names an account that is not enabled); nothing was done.',
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    });
    return;
  }
  const { action, provider, episode } = parsed;
  const label = accountDisplay(provider).label;
  const at = ctx.now();

  if (action === 'refresh') {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const [summary, state] = await Promise.all([
      ctx.service.checkAll(),
      ctx.alertState?.(provider) ?? Promise.resolve(null),
    ]);
    const text = await renderBalance(summary, ctx, provider, false);
    const over = !state || state.episode !== episode || state.episodeKind === null;
    log.info({ ...audit, action, provider, episode, outcome: over ? 'ended' : 'done' }, 'alert button');
    await interaction.editReply({
      content: capText(
        over ? `${text}\n(This alert's episode has ended since; the figure above is current.)` : text,
        DISCORD_CONTENT_LIMIT,
      ),
      allowedMentions: { parse: [] },
    });
    return;
  }

  const result = ctx.alertAct
    ? await ctx.alertAct(action, provider, episode, who(interaction.user), at)
    : { outcome: 'ended' as const, state: null };
  log.info({ ...audit, action, provider, episode, outcome: result.outcome }, 'alert button');
  if (result.outcome === 'ended') {
    await interaction.reply({
      content: ended(label, result.state),
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    });
    return;
  }
  const state = result.state!;
  if (result.outcome === 'already') {
    await interaction.reply({
      content: `Already acknowledged by ${state.acknowledgedBy ?? 'someone'} ${formatTime(new Date(state.acknowledgedAt ?? at), 'discord')}.`,
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    });
    return;
  }
  const line =
    action === 'ack'
      ? `✅ Acknowledged by <@${interaction.user.id}> ${formatTime(at, 'discord')}: no more reminders for this episode.`
      : `🔕 Snoozed by <@${interaction.user.id}> until ${formatTime(new Date(state.snoozedUntil ?? at), 'discord', 'at-ago')}: only critical ${label} alerts until then.`;
  const rows = alertButtonRows(provider, episode, {
    acknowledged: state.acknowledgedAt !== null,
    snoozed: state.snoozedUntil !== null,
  });
  // The edit keeps what the alert said and adds the line; it pings nobody (the original ping stays as it was).
  await interaction.update({
    content: capText(`${interaction.message.content}\n${line}`, DISCORD_CONTENT_LIMIT),
    components: rows as never,
    allowedMentions: { parse: [] },
  });
}
