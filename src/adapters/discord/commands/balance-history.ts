import { AttachmentBuilder, SlashCommandBuilder } from 'discord.js';
import { accountDisplay } from '../../../core/accounts.js';
import { formatRunway } from '../../../core/forecast.js';
import { formatTime, splitMessage } from '../../../core/format.js';
import type { HistoryReport } from '../../../core/insight.js';
import { formatMoney } from '../../../core/money.js';
import { peakDay, type SpendSeries } from '../../../core/spend.js';
import { DEFAULT_SERIES_COLORS, renderBalanceChartAsync } from '../../chart/balance-chart.js';
import { chartSeries, PERIODS, type Period, spendBars, spendDays } from '../../chart/series.js';
import { renderSpendChartAsync } from '../../chart/spend-chart.js';

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

/** A report with its account's spend per UTC day, when that could be read. */
export type HistoryView = HistoryReport & { readonly spend?: SpendSeries };

/** Discord's limit on files per message. */
const MAX_FILES = 10;

/**
 * The spend line: the day with the most spend and the total it is part of, e.g. `💸 most spend on 2026-11-27
 * (UTC): $12.30 of $28.70 over 7 days`; `(cost report)` when days come from the provider's own report.
 */
export function spendLine(s: SpendSeries): string {
  const money = (a: Parameters<typeof formatMoney>[0]) => formatMoney(a, s.currency);
  const from = s.days.some((d) => d.source === 'cost-report') ? ' (cost report)' : '';
  const peak = peakDay(s);
  if (!peak) return `   💸 no spend in the last ${s.days.length} days (UTC)${from}`;
  return `   💸 most spend on ${peak.day} (UTC): ${money(peak.amount)} of ${money(s.total)} over ${s.days.length} days${from}`;
}

function reportBlock(r: HistoryView, now: Date): string {
  const info = accountDisplay(r.provider);
  const money = (a: Parameters<typeof formatMoney>[0]) => formatMoney(a, r.currency);
  const failed =
    r.failures > 0 ? `, ${r.failures} failed check${r.failures === 1 ? '' : 's'} not counted` : '';
  const head = `${info.emoji} **${info.label}** · ${r.stats.count} reading${r.stats.count === 1 ? '' : 's'}${failed}`;
  const spend = r.spend ? [spendLine(r.spend)] : [];
  const runway = `   📉 ${formatRunway(r.forecast, r.currency, now, 'discord')}`;
  if (!r.stats.enough) {
    // A budget account's forecast rests on its reading's month, not on the history: shown however thin that is.
    const forecast = r.forecast.status === 'insufficient' ? [] : [runway];
    return [`${head}\n   not enough history yet (${r.stats.text})`, ...forecast, ...spend].join('\n');
  }
  const s = r.stats;
  const net = `${s.netChange.gte(0) ? '+' : ''}${money(s.netChange)}`;
  const lines = [
    head,
    `   first ${money(s.first.amount)} (${formatTime(s.first.at, 'discord')}) → last ${money(s.last.amount)} (${formatTime(s.last.at, 'discord')})`,
    `   min ${money(s.min.amount)} · max ${money(s.max.amount)} · net ${net} · spend ${money(s.spend)} · threshold ${money(r.threshold)}`,
  ];
  if (s.topUps.length > 0) {
    const shown = s.topUps.slice(-5).map((t) => `+${money(t.amount)} ${formatTime(t.at, 'discord')}`);
    const more = s.topUps.length > 5 ? ` (and ${s.topUps.length - 5} earlier)` : '';
    lines.push(`   top-ups (not spend): ${shown.join(', ')}${more}`);
  }
  lines.push(runway, ...spend);
  return lines.join('\n');
}

/**
 * Renders the reply and the charts: per currency, so dollars and yuan never share an axis, the balance chart and
 * the spend-per-day bar chart (`spend-7d-usd.png`; an account has the same colour on both). The charts are
 * rasterised off the event loop.
 */
export async function renderHistory(
  reports: readonly HistoryView[],
  period: Period,
  now: Date,
): Promise<{ content: string; files: AttachmentBuilder[] }> {
  const content = [`**Balance history · last ${period}**`, ...reports.map((r) => reportBlock(r, now))].join(
    '\n',
  );
  const plotted = reports.filter((r) => r.stats.enough);
  const withSpend = reports.filter((r) => r.spend && (r.stats.enough || r.spend.total.gt(0)));
  // Each chart is rasterised on libuv's thread pool while the next one's SVG is built: the charts are drawn
  // side by side, not one after the other.
  const pending: Promise<AttachmentBuilder>[] = [];
  // A chart that fails is reported by the Promise.all below; until then it must not count as unhandled.
  const draw = (png: Promise<Buffer>, file: string) => {
    const attachment = png.then((data) => new AttachmentBuilder(data, { name: file }));
    attachment.catch(() => {});
    pending.push(attachment);
  };
  const currencies = [...new Set([...plotted, ...withSpend].map((r) => r.currency))];
  for (const currency of currencies) {
    // Each chart's SVG is built in a turn of the event loop of its own, after the reports' text.
    await new Promise((resolve) => setImmediate(resolve));
    const series = plotted.filter((r) => r.currency === currency).map(chartSeries);
    const name = (kind: string) => `${kind}-${period}-${currency.toLowerCase()}.png`;
    if (series.length > 0) {
      // The time axis reaches forward to where the projections meet the threshold, but never more than one
      // period ahead, so the history keeps at least half the width.
      const projectedEnd = Math.max(
        now.getTime(),
        ...series.flatMap((s) => s.projection?.map((p) => p.at.getTime()) ?? []),
      );
      const png = renderBalanceChartAsync(series, {
        title: `Balance, last ${period} (${currency})`,
        currency,
        from: new Date(now.getTime() - PERIODS[period]),
        to: new Date(Math.min(projectedEnd, now.getTime() + PERIODS[period])),
      });
      draw(png, name('balance'));
    }
    // The balance chart's accounts first, in its order and colours; then accounts with spend but no line.
    const inCurrency = withSpend.filter((r) => r.currency === currency);
    const ordered = [
      ...plotted.filter((r) => r.currency === currency && r.spend),
      ...inCurrency.filter((r) => !r.stats.enough),
    ];
    if (ordered.length === 0) continue;
    await new Promise((resolve) => setImmediate(resolve));
    const bars = ordered.map((r, i) =>
      spendBars(
        accountDisplay(r.provider).label,
        r.spend!,
        DEFAULT_SERIES_COLORS[i % DEFAULT_SERIES_COLORS.length],
      ),
    );
    const png = renderSpendChartAsync(bars, {
      title: `Spend per UTC day, last ${bars[0]!.days.length} days (${currency})`,
      currency,
    });
    draw(png, name('spend'));
  }
  return { content, files: await Promise.all(pending) };
}

/**
 * The reply as Discord messages: the text cut at line boundaries into parts of at most 2,000 characters, and
 * the files at most 10 a message; the first message is the reply, the others follow-ups.
 */
export function historyMessages(
  content: string,
  files: readonly AttachmentBuilder[],
): { content: string; files: AttachmentBuilder[] }[] {
  const parts = splitMessage(content);
  const count = Math.max(parts.length, Math.ceil(files.length / MAX_FILES));
  return Array.from({ length: count }, (_, i) => ({
    content: parts[i] ?? '',
    files: files.slice(i * MAX_FILES, (i + 1) * MAX_FILES),
  }));
}

/**
 * Builds every report for the command, each with its account's spend per UTC day (read for all accounts at
 * once, beside the reports; from the cost report where the latest reading the bot holds carries one) and, for a
 * budget account, that reading's budget forecast; also used by the benchmark.
 */
export async function buildReports(
  ctx: Pick<CommandContext, 'insight' | 'now'> & {
    readonly service: Pick<CommandContext['service'], 'providerIds' | 'thresholds' | 'currencyOf' | 'peek'>;
  },
  only: string | null,
  period: Period,
): Promise<HistoryView[]> {
  const now = ctx.now();
  const ids = ctx.service.providerIds.filter((p) => only === null || p === only);
  const latest = new Map(
    (ctx.service.peek(Number.POSITIVE_INFINITY)?.statuses ?? []).map((s) => [s.provider, s.result]),
  );
  const accounts = ids.map((p) => {
    const r = latest.get(p);
    return {
      provider: p,
      currency: ctx.service.currencyOf(p),
      ...(r?.ok && r.spendByDay ? { spendByDay: r.spendByDay } : {}),
    };
  });
  const [reports, spend] = await Promise.all([
    Promise.all(
      ids.map(async (p) => {
        const threshold = await ctx.service.thresholds.get(p);
        const currency = ctx.service.currencyOf(p);
        // A budget account's forecast is its held reading's, as on /balance (issue 13).
        return ctx.insight.report(p, PERIODS[period], threshold, currency, now, 'discord', latest.get(p));
      }),
    ),
    ctx.insight.dailySpend(accounts, spendDays(period), now),
  ]);
  return reports.map((r) => {
    const s = spend.get(r.provider);
    return s ? { ...r, spend: s } : r;
  });
}

export default {
  data: ({ accounts }) =>
    new SlashCommandBuilder()
      .setName('balance-history')
      .setDescription('Balance history with spend per day, top-ups, charts and a runs-out forecast')
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
    const allowedMentions = { parse: [] };
    const [first, ...rest] = historyMessages(content, files);
    await interaction.editReply({ ...first!, allowedMentions });
    for (const m of rest) await interaction.followUp({ ...m, allowedMentions });
  },
} satisfies Command;
