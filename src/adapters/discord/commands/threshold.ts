import { InteractionContextType, MessageFlags, SlashCommandBuilder } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
import { validateThresholdText } from '../../../core/config.js';
import { formatTime } from '../../../core/format.js';
import { formatMoney, parseAmount } from '../../../core/money.js';
import { UserError } from '../errors.js';
import { accountFrom, accountOption } from './options.js';
import { answerInParts } from './reply.js';
import type { Command } from './types.js';

/** Who made a change, for the audit trail: name and id (names change, ids don't). */
const who = (user: { username: string; id: string }) => `${user.username} (${user.id})`;

export default {
  // Anyone in the server may look; changing needs Manage Server or an admin role. Discord's
  // default_member_permissions covers a whole command, so it is not set: the dispatcher guards each subcommand.
  guards: { subcommands: { show: ['guild'], set: ['admin'], reset: ['admin'] } },
  data: ({ accounts }) =>
    new SlashCommandBuilder()
      .setName('threshold')
      .setDescription('Show the low-balance thresholds; set or reset them (Manage Server)')
      .setContexts(InteractionContextType.Guild)
      .addSubcommand((s) =>
        s
          .setName('set')
          .setDescription("Set an account's threshold and/or critical level, in its currency")
          .addStringOption((o) => accountOption(o, accounts, 'Account', true))
          .addNumberOption((o) =>
            o
              .setName('amount')
              .setDescription('Low alert when the balance is below this (0 to 1,000,000, at most 2 decimals)')
              .setMinValue(0)
              .setMaxValue(1_000_000),
          )
          .addNumberOption((o) =>
            o
              .setName('critical')
              .setDescription('Critical alert (pings) below this; default half the threshold')
              .setMinValue(0)
              .setMaxValue(1_000_000),
          ),
      )
      .addSubcommand((s) =>
        s.setName('show').setDescription('Show every threshold and recent changes (anyone in the server)'),
      )
      .addSubcommand((s) =>
        s
          .setName('reset')
          .setDescription('Go back to the default threshold')
          .addStringOption((o) => accountOption(o, accounts, 'Account', true)),
      ),

  async execute(interaction, ctx) {
    const sub = interaction.options.getSubcommand(true);
    const store = ctx.service.thresholds;
    // Every answer needs the store, which may be slower than Discord's 3 s: acknowledge first (privately,
    // as the answer will be), after the checks that need no I/O so their refusals still come at once.
    const defer = () => interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const reply = (content: string) => interaction.editReply({ content, allowedMentions: { parse: [] } });

    if (sub === 'show') {
      await defer();
      const lines = [
        '**Thresholds** (a balance below its threshold is low; below its critical level, critical: that alert pings)',
      ];
      for (const p of ctx.service.providerIds) {
        const currency = ctx.service.currencyOf(p);
        const override = await store.override(p);
        const low = override ?? store.defaultFor(p);
        const value = formatMoney(low, currency);
        const criticalSet = await store.criticalOverride(p);
        const critical = formatMoney(await store.critical(p, low), currency);
        lines.push(
          `${accountDisplay(p).emoji} **${accountDisplay(p).label}:** ${value}${override ? '' : ' (default)'} · critical ${critical}${criticalSet ? '' : ' (half)'}`,
        );
      }
      const changes = await store.changes(5);
      if (changes.length > 0) {
        lines.push('', 'Recent changes:');
        for (const c of changes) {
          const currency = ctx.service.providerIds.includes(c.provider)
            ? ctx.service.currencyOf(c.provider)
            : 'USD';
          const fmt = (a: typeof c.oldValue) => (a === null ? 'default' : formatMoney(a, currency));
          const what = c.level === 'critical' ? ' critical level' : '';
          lines.push(
            `• ${formatTime(c.changedAt, 'discord')} ${accountDisplay(c.provider).label}${what}: ${fmt(c.oldValue)} → ${fmt(c.newValue)} by ${c.changedBy}`,
          );
        }
      }
      await answerInParts(interaction, lines.join('\n'), { deferred: true, ephemeral: true });
      return;
    }

    if (sub !== 'set' && sub !== 'reset') throw new UserError(`Unknown subcommand "${sub.slice(0, 20)}".`);
    const provider = accountFrom(interaction.options, ctx.service.providerIds, true)!;
    const currency = ctx.service.currencyOf(provider);
    const label = accountDisplay(provider).label;
    if (sub === 'set') {
      // Discord enforces min/max; decimals, NaN and crafted payloads are ours to refuse.
      const typed = (name: 'amount' | 'critical', what: string) => {
        const value = interaction.options.getNumber(name);
        if (value === null) return null;
        const text = Number.isFinite(value) ? String(value) : 'not a number';
        const problem = validateThresholdText(text);
        if (problem) throw new UserError(`${what} not changed: ${text.slice(0, 30)} ${problem}.`);
        return parseAmount(text);
      };
      const amount = typed('amount', 'Threshold');
      const critical = typed('critical', 'Critical level');
      if (amount === null && critical === null)
        throw new UserError('Nothing changed: give an amount (the threshold), a critical level, or both.');
      if (amount && critical?.gt(amount))
        throw new UserError(
          `Nothing changed: the critical level (${formatMoney(critical, currency)}) must not be above the threshold (${formatMoney(amount, currency)}).`,
        );
      await defer();
      const by = who(interaction.user);
      const said: string[] = [];
      if (amount !== null) {
        const change = await store.set(provider, amount, by, ctx.now());
        const old =
          change.oldValue === null
            ? `${formatMoney(store.defaultFor(provider), currency)} (default)`
            : formatMoney(change.oldValue, currency);
        said.push(`${label} threshold set to ${formatMoney(amount, currency)} (was ${old})`);
      }
      if (critical !== null) {
        const change = await store.setCritical(provider, critical, by, ctx.now());
        const old = change.oldValue === null ? 'half the threshold' : formatMoney(change.oldValue, currency);
        said.push(`${label} critical level set to ${formatMoney(critical, currency)} (was ${old})`);
      }
      await ctx.service.rejudgeCached();
      await ctx.onThresholdChanged?.(provider);
      const inForce = await store.critical(provider);
      const note =
        critical === null
          ? ` Critical level in force: ${formatMoney(inForce, currency)}.`
          : critical.gt(await store.get(provider))
            ? ` It is above the threshold, so the threshold (${formatMoney(inForce, currency)}) is used.`
            : '';
      await reply(`✅ ${said.join('; ')}.${note} The next post and alert check use it.`);
      return;
    }
    await defer();
    const change = await store.reset(provider, who(interaction.user), ctx.now());
    // The critical level is reset (and audited) only when one was set.
    const criticalChange =
      (await store.criticalOverride(provider)) === null
        ? { oldValue: null }
        : await store.resetCritical(provider, who(interaction.user), ctx.now());
    await ctx.service.rejudgeCached();
    await ctx.onThresholdChanged?.(provider);
    const old = change.oldValue === null ? 'the default already' : formatMoney(change.oldValue, currency);
    const criticalWas =
      criticalChange.oldValue === null ? '' : ` (was ${formatMoney(criticalChange.oldValue, currency)})`;
    await reply(
      `✅ ${label} threshold reset to the default ${formatMoney(store.defaultFor(provider), currency)} (was ${old}); critical level: half of it${criticalWas}.`,
    );
  },
} satisfies Command;
