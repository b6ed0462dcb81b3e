import { accountDisplay, figureKind } from '../../core/accounts.js';
import type { HistoryReport } from '../../core/insight.js';
import { DAY_MS, type SpendSeries, utcMonth } from '../../core/spend.js';
import type { ChartSeries } from './balance-chart.js';
import type { SpendBars } from './spend-chart.js';

/** The periods `/balance-history` and the status page chart over. */
export const PERIODS = {
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
  '90d': 90 * 86_400_000,
} as const;
export type Period = keyof typeof PERIODS;

/**
 * One account's chart series: its readings, its threshold line and, when it has one, the projection down to it.
 * A monthly budget's projection stops at the month's reset (00:00 UTC on the next 1st) if the threshold is not
 * reached before: there the budget starts again, and the line ends at what the month is projected to leave
 * (budget − projected spend).
 */
export function chartSeries(r: HistoryReport): ChartSeries {
  const f = r.forecast;
  const series: ChartSeries = {
    label: accountDisplay(r.provider).label,
    points: r.points.map((p) => ({ at: p.asOf, value: p.available.toNumber() })),
    threshold: r.threshold.toNumber(),
  };
  if (f.status !== 'ok' || f.latest.available.lte(r.threshold)) return series;
  // The projection continues from the latest reading down to the threshold line …
  let end = { at: f.reachesThresholdAt ?? f.runsOutAt, value: r.threshold.toNumber() };
  // … or to the budget's reset, whichever comes first.
  const resetAt =
    f.budget?.periodEnd ?? (figureKind(r.provider) === 'monthly-budget' ? utcMonth(f.latest.asOf).end : null);
  if (resetAt && end.at.getTime() > resetAt.getTime()) {
    const days = (resetAt.getTime() - f.latest.asOf.getTime()) / DAY_MS;
    const left = f.budget
      ? f.budget.amount.minus(f.budget.projected)
      : f.latest.available.minus(f.ratePerDay.times(days));
    end = { at: resetAt, value: left.toNumber() };
  }
  return {
    ...series,
    projection: [{ at: f.latest.asOf, value: f.latest.available.toNumber() }, end],
  };
}

/**
 * The chart's time axis: the period, reaching forward to where the projections meet the threshold, but
 * never more than one period ahead, so the history keeps at least half the width.
 */
export function chartWindow(
  series: readonly ChartSeries[],
  period: Period,
  now: Date,
): { from: Date; to: Date } {
  const ends = series.flatMap((s) => s.projection?.map((p) => p.at.getTime()) ?? []);
  const projectedEnd = Math.max(now.getTime(), ...ends);
  return {
    from: new Date(now.getTime() - PERIODS[period]),
    to: new Date(Math.min(projectedEnd, now.getTime() + PERIODS[period])),
  };
}

/** How many UTC days of spend a period shows: its days, today included, and at least two (24h: yesterday, today). */
export function spendDays(period: Period): number {
  return Math.max(2, Math.ceil(PERIODS[period] / 86_400_000));
}

/** One account's bars on the spend chart. */
export function spendBars(label: string, spend: SpendSeries, color?: string): SpendBars {
  return {
    label,
    ...(color === undefined ? {} : { color }),
    days: spend.days.map((d) => ({ day: d.day, amount: d.amount.toNumber(), observed: d.observed })),
  };
}
