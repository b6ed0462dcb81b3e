import { SlashCommandBuilder } from 'discord.js';
import { type Forecast, formatRunway } from '../../../core/forecast.js';
import { estimateAge, formatDuration, formatTime, readingFigure, readingNote } from '../../../core/format.js';
import { formatMoney } from '../../../core/money.js';
import type { ProviderStatus, Summary } from '../../../core/service.js';
import type { ProviderId } from '../../../core/types.js';
import { accountFrom, accountOption } from './options.js';
import { answerInParts } from './reply.js';
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
    // The parts as the provider names them: Kimi's voucher / cash, DeepSeek's granted / topped-up.
    const named: string[] = [];
    if (s.parts?.voucher && r.voucher)
      named.push(`${s.parts?.voucher} ${formatMoney(r.voucher, r.currency)}`);
    if (s.parts?.cash && r.cash) named.push(`${s.parts?.cash} ${formatMoney(r.cash, r.currency)}`);
    const note = readingNote(r, 'discord');
    const parts = `${named.length > 0 ? ` (${named.join(', ')})` : ''}${note ? ` · ${note}` : ''}`;
    const emoji = s.state === 'low' ? '⚠️' : s.emoji;
    lines.push(
      `${emoji} **${s.label}:** ${readingFigure(r)} available${parts} · threshold ${threshold} · ${STATE_TEXT[s.state]}`,
    );
    if (r.estimate) {
      // An estimate is as of this check; its anchor's age is what tells how much rests on the cost report.
      lines.push(
        `   🕒 ${estimateAge(r.estimate.anchorAt, now)} (${formatTime(r.estimate.anchorAt, 'discord')})`,
      );
    } else if (s.provider === 'claude' && s.ageMs === null) {
      // A NULL updated_at: no age to print, and never a date made up for it.
      lines.push('   ⏳ reading has no updated_at: age unknown, treated as stale');
    } else if (s.provider === 'claude' && s.ageMs !== null) {
      const limit = s.staleAfterMs === null ? '' : ` (stale after ${formatDuration(s.staleAfterMs)})`;
      lines.push(
        `   ${s.stale ? '⏳' : '🕒'} reading is ${formatDuration(s.ageMs)} old${r.asOf ? ` (${formatTime(r.asOf, 'discord')})` : ''}${s.stale ? `, stale${limit}` : ''}`,
      );
    }
  }
  if (forecast) {
    // formatRunway states the rate itself: once per line.
    lines.push(`   📉 ${formatRunway(forecast, r.currency, now, 'discord')}`);
  }
  if (alert) lines.push(`   🔔 ${alert}`);
  return lines.join('\n');
}

/** What `/balance` shows besides the summary, read from the store: forecasts and alert-state lines. */
export interface BalanceExtras {
  readonly forecasts: Partial<Record<ProviderId, Forecast>>;
  readonly alerts: Partial<Record<ProviderId, string | null>>;
}

/**
 * The extras read for each summary, kept with it (by object: a new check or a re-judged threshold makes a
 * new summary). A cached `/balance` whose summary has them answers from memory; any other defers first.
 */
const extrasBySummary = new WeakMap<Summary, BalanceExtras>();

/**
 * Reads the forecasts and alert lines for every provider of `summary`. They are extras: a store that fails
 * leaves them out of the reply (logged at warn), the balances still go out.
 */
async function readExtras(summary: Summary, ctx: CommandContext, now: Date): Promise<BalanceExtras> {
  const log = ctx.logger.child({ command: 'balance' });
  const [forecasts, alerts] = await Promise.all([
    ctx.insight.forecasts(summary, now).catch((err: unknown) => {
      log.warn({ err }, 'could not compute the runway; /balance shows the balances without it');
      return {} as Record<string, never>;
    }),
    Promise.all(
      summary.statuses.map(async (s) => {
        const line = await (ctx.alertStatus?.(s.provider) ?? Promise.resolve(null)).catch((err: unknown) => {
          log.warn({ err, provider: s.provider }, 'could not read the alert state; /balance leaves it out');
          return null;
        });
        return [s.provider, line] as const;
      }),
    ),
  ]);
  return { forecasts, alerts: Object.fromEntries(alerts) };
}

/** The `/balance` reply text from a summary and its extras; no I/O. */
export function formatBalance(
  summary: Summary,
  extras: BalanceExtras,
  only: ProviderId | null,
  cached: boolean,
  now: Date,
): string {
  const statuses = summary.statuses.filter((s) => only === null || s.provider === only);
  const age = formatDuration(now.getTime() - summary.checkedAt.getTime());
  const head = `**Balances** · checked ${age} ago${cached ? ' (cached; use fresh:true to check now)' : ''}`;
  const blocks = statuses.map((s) =>
    statusBlock(s, extras.forecasts[s.provider], extras.alerts[s.provider] ?? null, now),
  );
  return [head, ...blocks].join('\n');
}

/** The `/balance` reply text, reading the extras from the store unless this summary already has them. */
export async function renderBalance(
  summary: Summary,
  ctx: CommandContext,
  only: ProviderId | null,
  cached: boolean,
): Promise<string> {
  let extras = extrasBySummary.get(summary);
  if (!extras) {
    extras = await readExtras(summary, ctx, ctx.now());
    extrasBySummary.set(summary, extras);
  }
  return formatBalance(summary, extras, only, cached, ctx.now());
}

export default {
  data: ({ accounts }) =>
    new SlashCommandBuilder()
      .setName('balance')
      .setDescription('Current prepaid credit balances, thresholds and runway')
      .addStringOption((o) => accountOption(o, accounts, 'Only this account'))
      .addBooleanOption((o) =>
        o
          .setName('fresh')
          .setDescription('Check the accounts now instead of using a reading up to a minute old'),
      ),

  async execute(interaction, ctx) {
    const only = accountFrom(interaction.options, ctx.service.providerIds);
    const fresh = interaction.options.getBoolean('fresh') ?? false;
    const cached = fresh ? null : ctx.service.peek(ctx.config.balanceCacheTtlMs);
    const known = cached ? extrasBySummary.get(cached) : undefined;
    if (cached && known) {
      // Everything is in memory: answer at once.
      await answerInParts(interaction, formatBalance(cached, known, only, true, ctx.now()), {
        deferred: false,
      });
      return;
    }
    // Providers may take up to PROVIDER_TIMEOUT_MS, and the store (forecasts, alert state) has no bound
    // under Discord's 3 s either: acknowledge first.
    await interaction.deferReply();
    const summary = cached ?? (await ctx.service.checkAll());
    await answerInParts(interaction, await renderBalance(summary, ctx, only, cached !== null), {
      deferred: true,
    });
  },
} satisfies Command;
