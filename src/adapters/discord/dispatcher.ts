import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  type RepliableInteraction,
} from 'discord.js';
import { parseAlertButtonId } from '../../core/alerts/buttons.js';
import type { Logger } from '../../core/logger.js';
import { handleAlertButton } from './buttons.js';
import { ACCOUNT_OPTION, accountSuggestions } from './commands/options.js';
import type { Command, CommandContext, Guard, Guards } from './commands/types.js';
import { BENIGN_DISCORD_CODES, discordErrorCode, UserError } from './errors.js';

/** Admin: Manage Server, or one of `ADMIN_ROLE_IDS`, in a guild. Checked at run time whatever Discord's defaults say. */
export function isAdmin(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  adminRoleIds: readonly string[],
): boolean {
  if (!interaction.inGuild()) return false;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  const roles = interaction.member.roles;
  // Uncached members arrive as raw API data with a plain role-id array.
  const roleIds: readonly string[] = Array.isArray(roles) ? roles : [...roles.cache.keys()];
  return roleIds.some((id) => adminRoleIds.includes(id));
}

const GUARDS: Record<Guard, (i: ChatInputCommandInteraction, ctx: CommandContext) => string | null> = {
  guild: (i) => (i.inGuild() ? null : 'This command only works in a server.'),
  admin: (i, ctx) => {
    if (!i.inGuild()) return 'This command only works in a server.';
    if (isAdmin(i, ctx.config.adminRoleIds)) return null;
    // Names what was refused (`/alerts quiet-hours set`), not only thresholds: several commands share the guard.
    const what = [i.commandName, i.options.getSubcommandGroup(false), i.options.getSubcommand(false)]
      .filter((p) => p !== null)
      .join(' ');
    return `You need the Manage Server permission (or an admin role) for /${what}. Nothing was changed.`;
  },
};

/** How long a reply may wait for the interaction's claim before answering anyway (Discord allows 3 s in all). */
const INTERACTION_CLAIM_MS = 1000;

/**
 * `claimInteraction` over the shared slot claims (`schedule_slots`, job `interaction`): of the replicas that
 * all receive an interaction, the first to claim it answers. A store that fails or is slow must not cost the
 * reply: then it is this replica's (a possible second answer, which Discord refuses, beats none).
 */
export function interactionClaimer(
  slots: { claim(job: string, slot: string, now?: Date): Promise<boolean> },
  now: () => Date,
  logger: Logger,
): (interactionId: string) => Promise<boolean> {
  return async (interactionId) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), INTERACTION_CLAIM_MS);
    });
    try {
      return await Promise.race([slots.claim('interaction', interactionId, now()), late]);
    } catch (err) {
      logger.warn(
        { err, interactionId },
        'could not claim the interaction (store unreachable?); answering it',
      );
      return true;
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The guards that apply to this use of `command` (per subcommand when it declares them so). */
export function guardsFor(command: Command, interaction: ChatInputCommandInteraction): readonly Guard[] {
  const guards = command.guards ?? [];
  if (Array.isArray(guards)) return guards;
  const { subcommands } = guards as Exclude<Guards, readonly Guard[]>;
  const sub = interaction.options.getSubcommand(false);
  // Own keys only: a crafted subcommand named `constructor` must not find Object.prototype's.
  if (sub !== null && Object.hasOwn(subcommands, sub)) return subcommands[sub]!;
  return [...new Set(Object.values(subcommands).flat())];
}

/** Replies privately, or edits the deferred reply, whichever the interaction still allows. */
async function respond(interaction: RepliableInteraction, content: string): Promise<void> {
  const allowedMentions = { parse: [] as const };
  if (interaction.deferred)
    await interaction.editReply({ content, allowedMentions, attachments: [], files: [] });
  else if (interaction.replied)
    await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions });
  else await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions });
}

/**
 * The one entry for every interaction: routes slash commands and autocomplete, enforces guards,
 * shows a `UserError`'s message, and answers anything unexpected with a generic private message
 * carrying the interaction id (logged in full). It never throws: a bad interaction can't crash the bot.
 */
export function createDispatcher(commands: Map<string, Command>, ctx: CommandContext) {
  const log = ctx.logger.child({ module: 'dispatcher' });
  return async function dispatch(interaction: Interaction): Promise<void> {
    const started = performance.now();
    try {
      if (interaction.isAutocomplete()) {
        const command = commands.get(interaction.commandName);
        const focused = interaction.options.getFocused(true);
        if (command?.autocomplete) await command.autocomplete(interaction, ctx);
        else {
          // Offer the enabled accounts (at most 25, Discord's limit) for the account option; nothing otherwise.
          await interaction.respond(
            focused.name === ACCOUNT_OPTION
              ? accountSuggestions(ctx.service.providerIds, String(focused.value))
              : [],
          );
        }
        return;
      }
      // Replicas each hold a gateway session and each get every interaction: the first to claim it answers.
      if (ctx.claimInteraction && !(await ctx.claimInteraction(interaction.id))) {
        log.info({ interactionId: interaction.id }, 'another replica handles this interaction');
        return;
      }
      if (interaction.isButton()) {
        // Alert buttons: in a server only; Snooze needs an admin like /threshold set; Acknowledge and Refresh
        // are open to members. The handler validates the custom_id and logs every click.
        if (!interaction.inGuild()) {
          await respond(interaction, 'Alert buttons only work in a server.');
          return;
        }
        const parsed = parseAlertButtonId(interaction.customId, ctx.service.providerIds);
        if (parsed?.action === 'snooze' && !isAdmin(interaction, ctx.config.adminRoleIds)) {
          log.info(
            { customId: interaction.customId, user: interaction.user.id, guard: 'admin' },
            'refused by guard',
          );
          await respond(
            interaction,
            'You need the Manage Server permission (or an admin role) to snooze alerts. Nothing was changed.',
          );
          return;
        }
        await handleAlertButton(interaction, ctx, log);
        return;
      }
      if (!interaction.isChatInputCommand()) {
        if (interaction.isRepliable())
          await respond(interaction, 'creditwatch does not handle this kind of interaction.');
        return;
      }
      const command = commands.get(interaction.commandName);
      if (!command) {
        log.warn({ command: interaction.commandName, interactionId: interaction.id }, 'unknown command');
        await respond(
          interaction,
          `Unknown command /${interaction.commandName}. The bot's commands may need redeploying (npm run deploy-commands).`,
        );
        return;
      }
      for (const guard of guardsFor(command, interaction)) {
        const refusal = GUARDS[guard](interaction, ctx);
        if (refusal !== null) {
          log.info(
            { command: interaction.commandName, user: interaction.user.id, guard },
            'refused by guard',
          );
          await respond(interaction, refusal);
          return;
        }
      }
      await command.execute(interaction, ctx);
      log.debug(
        {
          command: interaction.commandName,
          ms: Math.round(performance.now() - started),
          interactionId: interaction.id,
        },
        'command done',
      );
    } catch (err) {
      await handleError(interaction, err);
    }
  };

  async function handleError(interaction: Interaction, err: unknown): Promise<void> {
    const code = discordErrorCode(err);
    if (code !== null && BENIGN_DISCORD_CODES.has(code)) {
      log.warn({ code, interactionId: interaction.id }, 'interaction expired or already answered');
      return;
    }
    const user = err instanceof UserError;
    if (!user) {
      log.error(
        {
          err,
          interactionId: interaction.id,
          command:
            interaction.isCommand() || interaction.isAutocomplete() ? interaction.commandName : undefined,
          user: interaction.user.id,
        },
        'interaction failed',
      );
    }
    if (!interaction.isRepliable()) return;
    const message = user
      ? (err as UserError).message
      : `Something went wrong on our side. Please try again; if it keeps happening, give the bot's operator this reference: \`${interaction.id}\`.`;
    try {
      await respond(interaction, message);
    } catch (replyErr) {
      log.warn({ err: replyErr, interactionId: interaction.id }, 'could not send the error reply');
    }
  }
}
