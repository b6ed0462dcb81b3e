import { SlashCommandBuilder } from 'discord.js';
import { type Forecast, formatRunway } from '../src/forecast.js';
import { formatDuration } from '../src/format.js';
import { formatMoney } from '../src/money.js';
import type { ProviderStatus, Summary } from '../src/service.js';
import type { ProviderId } from '../src/types.js';
import { checkProvider, providerOption } from './options.js';
import type { Command, CommandContext } from './types.js';

const STATE_TEXT = { ok: '✅ ok', low: '⚠️ low', failed: '❌ check failed' } as const;

function statusBlock(
  s: ProviderStatus,
  forecast: Forecast | undefined,
  alert: string | null,
  now: Date,
): string {
  const r = s.result;
  const threshold = formatMoney(s.threshold, r.currency);
  const lines: string[] = [];
  if (!r.ok) {
    lines.push(`❌ **${s.label}:** unavailable: ${r.reason} · threshold ${threshold}`);
  } else {
    const parts =
      r.voucher !== undefined && r.cash !== undefined
        ? ` (voucher ${formatMoney(r.voucher, r.currency)}, cash ${formatMoney(r.cash, r.currency)})`
        : '';
    const emoji = s.state === 'low' ? '⚠️' : s.emoji;
    lines.push(
      `${emoji} **${s.label}:** ${formatMoney(r.available, r.currency)} available${parts} · threshold ${threshold} · ${STATE_TEXT[s.state]}`,
    );
    if (s.provider === 'claude' && s.ageMs === null) {
      // A NULL updated_at: no age to print, and never a date made up for it.
      lines.push('   ⏳ reading has no updated_at: age unknown, treated as stale');
    } else if (s.provider === 'claude' && s.ageMs !== null) {
      const limit = s.staleAfterMs === null ? '' : ` (stale after ${formatDuration(s.staleAfterMs)})`;
      lines.push(
        `   ${s.stale ? '⏳' : '🕒'} reading is ${formatDuration(s.ageMs)} old${s.stale ? `, stale${limit}` : ''}`,
      );
    }
  }
  if (forecast) {
    // formatRunway states the rate itself: once per line.
    lines.push(`   📉 ${formatRunway(forecast, r.currency, now)}`);
  }
  if (alert) lines.push(`   🔔 ${alert}`);
  return lines.join('\n');
}

/** The `/balance` reply text (exported for the CLI-free rendering tests). */
export async function renderBalance(
  summary: Summary,
  ctx: CommandContext,
  only: ProviderId | null,
  cached: boolean,
): Promise<string> {
  const now = ctx.now();
  const statuses = summary.statuses.filter((s) => only === null || s.provider === only);
  const forecasts = await ctx.insight
    .forecasts({ ...summary, statuses }, now)
    .catch(() => ({}) as Record<string, never>);
  const alerts = await Promise.all(
    statuses.map((s) =>
      ctx.alertStatus ? ctx.alertStatus(s.provider).catch(() => null) : Promise.resolve(null),
    ),
  );
  const age = formatDuration(now.getTime() - summary.checkedAt.getTime());
  const head = `**Balances** · checked ${age} ago${cached ? ' (cached; use fresh:true to check now)' : ''}`;
  const blocks = statuses.map((s, i) => statusBlock(s, forecasts[s.provider], alerts[i] ?? null, now));
  return [head, ...blocks].join('\n');
}

export default {
  data: ({ providers }) =>
    new SlashCommandBuilder()
      .setName('balance')
      .setDescription('Current prepaid credit balances, thresholds and runway')
      .addStringOption((o) => providerOption(o, providers, 'Only this provider'))
      .addBooleanOption((o) =>
        o
          .setName('fresh')
          .setDescription('Check the providers now instead of using a reading up to a minute old'),
      ),

  async execute(interaction, ctx) {
    const only = checkProvider(interaction.options.getString('provider'), ctx.service.providerIds);
    const fresh = interaction.options.getBoolean('fresh') ?? false;
    const cached = fresh ? null : ctx.service.peek(ctx.config.balanceCacheTtlMs);
    if (cached) {
      await interaction.reply({
        content: await renderBalance(cached, ctx, only, true),
        allowedMentions: { parse: [] },
      });
      return;
    }
    // Providers may take up to PROVIDER_TIMEOUT_MS; Discord allows 3 s before the first answer.
    await interaction.deferReply();
    const summary = await ctx.service.checkAll();
    await interaction.editReply({
      content: await renderBalance(summary, ctx, only, false),
      allowedMentions: { parse: [] },
    });
  },
} satisfies Command;
