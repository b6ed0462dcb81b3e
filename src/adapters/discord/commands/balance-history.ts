import { AttachmentBuilder, SlashCommandBuilder } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
import { formatRunway } from '../../../core/forecast.js';
import { formatUtc } from '../../../core/format.js';
import type { HistoryReport } from '../../../core/insight.js';
import { formatMoney } from '../../../core/money.js';
import { renderBalanceChartAsync } from '../../chart/balance-chart.js';
import { chartSeries, PERIODS, type Period } from '../../chart/series.js';

import { UserError } from '../errors.js';
import { accountFrom, accountOption } from './options.js';
import type { Command, CommandContext } from './types.js';

/**
 * The period a (possibly crafted) option names. Own keys only: `in` would also accept `constructor`,
 * `__proto__` or `toString` from the object's prototype.
 */
export function parsePeriod(raw: string): Period {
  if (Object.hasOwn(PERIODS, raw)) return raw as Period;
  throw new UserError(`Unknown period "${raw.slice(0, 20)}". Use one of ${Object.keys(PERIODS).join(', ')}.`);
}

function reportBlock(r: HistoryReport, now: Date): string {
  const info = accountDisplay(r.provider);
  const money = (a: Parameters<typeof formatMoney>[0]) => formatMoney(a, r.currency);
  const failed =
    r.failures > 0 ? `, ${r.failures} failed check${r.failures === 1 ? '' : 's'} not counted` : '';
  const head = `${info.emoji} **${info.label}** · ${r.stats.count} reading${r.stats.count === 1 ? '' : 's'}${failed}`;
  if (!r.stats.enough) return `${head}\n   not enough history yet (${r.stats.text})`;
  const s = r.stats;
  const net = `${s.netChange.gte(0) ? '+' : ''}${money(s.netChange)}`;
  const lines = [
    head,
    `   first ${money(s.first.amount)} (${formatUtc(s.first.at)}) → last ${money(s.last.amount)} (${formatUtc(s.last.at)})`,
    `   min ${money(s.min.amount)} · max ${money(s.max.amount)} · net ${net} · spend ${money(s.spend)} · threshold ${money(r.threshold)}`,
  ];
  if (s.topUps.length > 0) {
    const shown = s.topUps.slice(-5).map((t) => `+${money(t.amount)} ${formatUtc(t.at)}`);
    const more = s.topUps.length > 5 ? ` (and ${s.topUps.length - 5} earlier)` : '';
    lines.push(`   top-ups (not spend): ${shown.join(', ')}${more}`);
  }
  lines.push(`   📉 ${formatRunway(r.forecast, r.currency, now)}`);
  return lines.join('\n');
}

/**
 * Renders the reply and the chart(s): one chart per currency, so dollars and yuan never share an axis. The
 * charts are rasterised off the event loop (`renderBalanceChartAsync`).
 */
export async function renderHistory(
  reports: readonly HistoryReport[],
  period: Period,
  now: Date,
): Promise<{ content: string; files: AttachmentBuilder[] }> {
  const content = [`**Balance history · last ${period}**`, ...reports.map((r) => reportBlock(r, now))].join(
    '\n',
  );
  const plotted = reports.filter((r) => r.stats.enough);
  const files: AttachmentBuilder[] = [];
  for (const currency of [...new Set(plotted.map((r) => r.currency))]) {
    // Each chart's SVG is built in a turn of the event loop of its own, after the reports' text.
    await new Promise((resolve) => setImmediate(resolve));
    const series = plotted.filter((r) => r.currency === currency).map(chartSeries);
    // The time axis reaches forward to where the projections meet the threshold, but never more than one
    // period ahead, so the history keeps at least half the width.
    const projectedEnd = Math.max(
      now.getTime(),
      ...series.flatMap((s) => s.projection?.map((p) => p.at.getTime()) ?? []),
    );
    const png = await renderBalanceChartAsync(series, {
      title: `Balance, last ${period} (${currency})`,
      currency,
      from: new Date(now.getTime() - PERIODS[period]),
      to: new Date(Math.min(projectedEnd, now.getTime() + PERIODS[period])),
    });
    files.push(new AttachmentBuilder(png, { name: `balance-${period}-${currency.toLowerCase()}.png` }));
  }
  return { content, files };
}

/** Builds every report for the command; also used by the benchmark. */
export async function buildReports(
  ctx: CommandContext,
  only: string | null,
  period: Period,
): Promise<HistoryReport[]> {
  const now = ctx.now();
  const statuses = ctx.service.providerIds.filter((p) => only === null || p === only);
  return Promise.all(
    statuses.map(async (p) => {
      const threshold = await ctx.service.thresholds.get(p);
      const currency = ctx.service.currencyOf(p);
      return ctx.insight.report(p, PERIODS[period], threshold, currency, now);
    }),
  );
}

export default {
  data: ({ accounts }) =>
    new SlashCommandBuilder()
      .setName('balance-history')
      .setDescription('Balance history with spend, top-ups, a chart and a runs-out forecast')
      .addStringOption((o) => accountOption(o, accounts, 'Only this account'))
      .addStringOption((o) =>
        o
          .setName('period')
          .setDescription('How far back (default 7d)')
          .addChoices(...Object.keys(PERIODS).map((p) => ({ name: p, value: p }))),
      ),

  async execute(interaction, ctx) {
    const only = accountFrom(interaction.options, ctx.service.providerIds);
    const period = parsePeriod(interaction.options.getString('period') ?? '7d');
    await interaction.deferReply();
    const reports = await buildReports(ctx, only, period);
    const { content, files } = await renderHistory(reports, period, ctx.now());
    await interaction.editReply({ content, files, allowedMentions: { parse: [] } });
  },
} satisfies Command;
