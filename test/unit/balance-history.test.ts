import { describe, expect, it } from 'vitest';
import { chartSeries, chartWindow } from '../../src/adapters/chart/series.js';
import { parsePeriod } from '../../src/adapters/discord/commands/balance-history.js';
import { UserError } from '../../src/adapters/discord/errors.js';
import {
  budgetForecast,
  computeForecast,
  type Forecast,
  type HistoryPoint,
} from '../../src/core/forecast.js';
import type { HistoryReport } from '../../src/core/insight.js';
import { Big } from '../../src/core/money.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const DAY = 86_400_000;
const series = (projectionEndDays?: number) => ({
  label: 'Kimi',
  points: [{ at: new Date(NOW.getTime() - DAY), value: 10 }],
  threshold: 5,
  ...(projectionEndDays === undefined
    ? {}
    : {
        projection: [
          { at: NOW, value: 10 },
          { at: new Date(NOW.getTime() + projectionEndDays * DAY), value: 5 },
        ],
      }),
});

describe('/balance-history chart window', () => {
  it('GIVEN no projection THEN the axis is exactly the period up to now', () => {
    expect(chartWindow([series()], '7d', NOW)).toEqual({ from: new Date(NOW.getTime() - 7 * DAY), to: NOW });
  });

  it('GIVEN a projection 3 days out THEN the axis reaches it, so the dashed line meets the threshold on the chart', () => {
    expect(chartWindow([series(), series(3)], '7d', NOW).to).toEqual(new Date(NOW.getTime() + 3 * DAY));
  });

  it('GIVEN a projection far beyond the period THEN the axis stops one period ahead', () => {
    expect(chartWindow([series(400)], '24h', NOW).to).toEqual(new Date(NOW.getTime() + DAY));
  });
});

describe('/balance-history period option', () => {
  it('GIVEN a period named after a property every object has THEN it is refused, the real ones are read', () => {
    for (const crafted of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty']) {
      expect(() => parsePeriod(crafted), crafted).toThrow(UserError);
    }
    expect(['24h', '7d', '30d', '90d'].map(parsePeriod)).toEqual(['24h', '7d', '30d', '90d']);
  });
});

describe('/balance-history chart: a budget’s projection stops at its reset', () => {
  const DEC = { periodStart: new Date('2026-12-01T00:00:00Z'), periodEnd: new Date('2027-01-01T00:00:00Z') };
  const AT = new Date('2026-12-16T12:00:00Z');
  const threshold = new Big(5);
  // Two readings a day apart, $7 spent between them.
  const points: HistoryPoint[] = [
    { checkedAt: new Date(AT.getTime() - DAY), asOf: new Date(AT.getTime() - DAY), available: new Big(392) },
    { checkedAt: AT, asOf: AT, available: new Big(385) },
  ];
  const report = (provider: string, forecast: Forecast): HistoryReport => ({
    provider,
    currency: 'USD',
    threshold,
    points,
    failures: 0,
    stats: { enough: false, currency: 'USD', count: 0, observations: 0, reason: '', latest: null, text: '' },
    forecast,
  });
  const budget = (amount: number, spent: number, asOf = AT, period = DEC) =>
    budgetForecast(
      {
        available: new Big(amount - spent),
        budget: { amount: new Big(amount), spent: new Big(spent), ...period },
        days: 16,
        asOf,
      },
      { threshold, currency: 'USD', now: AT },
    );
  const ends = (r: HistoryReport) => chartSeries(r).projection?.map((p) => [p.at.toISOString(), p.value]);

  it('GIVEN $115 of $500 by Dec 16 noon THEN the line ends at the reset on Jan 1 at the $270 the month is projected to leave, and so does the axis', () => {
    const series = chartSeries(report('openai:team', budget(500, 115)));
    expect(series.projection?.map((p) => [p.at.toISOString(), p.value])).toEqual([
      [AT.toISOString(), 385],
      ['2027-01-01T00:00:00.000Z', 270],
    ]);
    expect(chartWindow([series], '30d', AT).to).toEqual(DEC.periodEnd);
  });

  it('GIVEN $115 of $200 THEN the line meets the threshold before the month ends, as a balance’s would', () => {
    const f = budget(200, 115);
    if (f.status !== 'ok' || !f.reachesThresholdAt) throw new Error('expected a runway');
    expect(ends(report('openai', f))).toEqual([
      [AT.toISOString(), 85],
      [f.reachesThresholdAt.toISOString(), 5],
    ]);
    expect(f.reachesThresholdAt.getTime()).toBeLessThan(DEC.periodEnd.getTime());
  });

  it('GIVEN no budget reading (its history’s rate) THEN a budget account’s line still stops at the reset; a balance’s does not', () => {
    const fromHistory = computeForecast({
      points,
      threshold,
      currency: 'USD',
      now: AT,
      kind: 'monthly-budget',
    });
    if (fromHistory.status !== 'ok') throw new Error('expected a runway');
    // $7 a day from $385 on Dec 16 noon: $276.50 left 15.5 days on.
    expect(ends(report('openai', fromHistory))).toEqual([
      [AT.toISOString(), 385],
      ['2027-01-01T00:00:00.000Z', 276.5],
    ]);
    expect(ends(report('kimi', fromHistory))?.[1]).toEqual([
      fromHistory.reachesThresholdAt?.toISOString(),
      5,
    ]);
  });

  it('GIVEN a held reading of November 30 asked about on December 1st THEN its line ends at November’s reset, never in December', () => {
    const NOV = { periodStart: new Date('2026-11-01T00:00:00Z'), periodEnd: DEC.periodStart };
    const f = budget(500, 100, new Date('2026-11-30T23:00:00Z'), NOV);
    if (f.status !== 'ok' || !f.budget) throw new Error('expected a budget runway');
    expect(ends(report('openai', f))).toEqual([
      ['2026-11-30T23:00:00.000Z', 400],
      ['2026-12-01T00:00:00.000Z', 500 - f.budget.projected.toNumber()],
    ]);
  });
});
