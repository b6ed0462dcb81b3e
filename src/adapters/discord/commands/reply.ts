import { type ChatInputCommandInteraction, MessageFlags } from 'discord.js';
import { splitMessage } from '../../../core/format.js';

/**
 * Answers with `text` in as many messages as Discord's 2,000-character limit needs, cut at line boundaries
 * ({@link splitMessage}): the first is the reply (or the edit of the deferred reply), the rest follow-ups with
 * the same visibility. With 30 accounts a `/balance` or `/threshold show` no longer fits one message.
 */
export async function answerInParts(
  interaction: ChatInputCommandInteraction,
  text: string,
  how: { readonly deferred: boolean; readonly ephemeral?: boolean },
): Promise<void> {
  const [first = '', ...rest] = splitMessage(text);
  const allowedMentions = { parse: [] };
  if (how.deferred) await interaction.editReply({ content: first, allowedMentions });
  else
    await interaction.reply({
      content: first,
      allowedMentions,
      ...(how.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    });
  for (const part of rest) {
    await interaction.followUp({
      content: part,
      allowedMentions,
      ...(how.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    });
  }
}
