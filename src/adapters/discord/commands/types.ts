import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  SlashCommandBuilder,
  SlashCommandOptionsOnlyBuilder,
  SlashCommandSubcommandsOnlyBuilder,
} from 'discord.js';
import type { AlertAction, AlertActResult } from '../../../core/alerts/buttons.js';
import type { AlertState } from '../../../core/alerts/engine.js';
import type { QuietHours } from '../../../core/alerts/quiet-hours.js';
import type { Config } from '../../../core/config.js';
import type { Insight } from '../../../core/insight.js';
import type { Logger } from '../../../core/logger.js';
import type { BalanceService } from '../../../core/service.js';
import type { ProviderId } from '../../../core/types.js';
import type { ChannelOutcome } from '../../alert-channels/notifiers.js';

/** What every command gets from the composition root: the shared service and friends, never globals. */
export interface CommandContext {
  readonly config: Config;
  readonly service: BalanceService;
  readonly insight: Insight;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Alert state lines per provider for `/balance` (absent when alerts are not running). */
  readonly alertStatus?: (provider: ProviderId) => Promise<string | null>;
  /** Called after `/threshold` changes a provider's threshold, so alerts re-evaluate at once. */
  readonly onThresholdChanged?: (provider: ProviderId) => Promise<void>;
  /** The alert buttons' Acknowledge and Snooze (absent when alerts are not running). */
  readonly alertAct?: (
    action: Exclude<AlertAction, 'refresh'>,
    provider: ProviderId,
    episode: number,
    by: string,
    at: Date,
  ) => Promise<AlertActResult>;
  /**
   * `/alerts snooze|unsnooze`: snoozes the account until `until` (`null`: ends the snooze); the state after it,
   * or `null` when the account has none yet.
   */
  readonly alertSnooze?: (
    provider: ProviderId,
    until: Date | null,
    by: string,
    at: Date,
  ) => Promise<AlertState | null>;
  /** The stored alert state of an account (Refresh says whether the alert's episode has ended). */
  readonly alertState?: (provider: ProviderId) => Promise<AlertState | null>;
  /** `/alerts quiet-hours`: the shared quiet hours and how many alerts they hold (each rejects when the store does). */
  readonly quietHours?: {
    get(): Promise<QuietHours | null>;
    set(q: QuietHours | null): Promise<void>;
    held(): Promise<number>;
  };
  /**
   * Claims an interaction (a command or a click) for this replica: `false` when another replica sharing the
   * store already has it, so each is acted on once. Resolves `true` when the store can't say in time.
   */
  readonly claimInteraction?: (interactionId: string) => Promise<boolean>;
  /** `/alerts test`: a test message through every alert channel, and what each did with it. */
  readonly alertTest?: (by: string, at: Date) => Promise<ChannelOutcome[]>;
}

export interface CommandDataOptions {
  /** The enabled accounts (`kimi`, `kimi:cn`, …), offered by the `account` option. */
  readonly accounts: readonly ProviderId[];
}

/** Guards a command declares; the dispatcher enforces them before `execute` runs. */
export type Guard = 'guild' | 'admin';

/**
 * The guards of a command: the same for every use, or per subcommand (a read-only subcommand may be
 * open to members while the ones that change something are not). A subcommand the map does not name
 * gets every guard the map names (fail closed).
 */
export type Guards = readonly Guard[] | { readonly subcommands: Readonly<Record<string, readonly Guard[]>> };

/** One slash command: `src/adapters/discord/commands/<name>.ts` default-exports one of these. */
export interface Command {
  /** The command's definition for the accounts this deployment enables (option choices depend on them). */
  data(
    options: CommandDataOptions,
  ): SlashCommandBuilder | SlashCommandOptionsOnlyBuilder | SlashCommandSubcommandsOnlyBuilder;
  readonly guards?: Guards;
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void>;
}
