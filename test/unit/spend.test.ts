import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Digest, digestObservations } from '../../src/core/digest.js';
import type { Observation } from '../../src/core/forecast.js';
import { Big, type Currency } from '../../src/core/money.js';
import {
  DAY_MS,
  type DayDigests,
  peakDay,
  periodDays,
  spendFromDigests,
  spendToJson,
  utcDayKey,
  utcDayStart,
  withCostReport,
} from '../../src/core/spend.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20);
const o = (ms: number, value: string): Observation => ({ asOf: new Date(ms), available: new Big(value) });

/** What the store gives: the observations before `firstDay` reduced to the newest, the rest digested per day. */
function digestsOf(obs: readonly Observation[], firstDay: number): DayDigests {
  const sorted = [...obs].sort((a, b) => a.asOf.getTime() - b.asOf.getTime());
  const before = sorted.filter((x) => x.asOf.getTime() < firstDay).at(-1) ?? null;
  const byDay = new Map<number, Observation[]>();
  for (const x of sorted) {
    if (x.asOf.getTime() < firstDay) continue;
    const day = utcDayStart(x.asOf.getTime());
    byDay.set(day, [...(byDay.get(day) ?? []), x]);
  }
  const days = new Map<number, Digest | null>();
  for (const [day, list] of byDay) days.set(day, digestObservations(list, list.length));
  return { before, days };
}

const series = (
  obs: readonly Observation[],
  now: number,
  count: number,
  currency: Currency = 'USD',
  account = 'kimi',
) => {
  const days = periodDays(new Date(now), count);
  return spendFromDigests(account, currency, days, digestsOf(obs, days[0]!));
};
const amounts = (s: ReturnType<typeof series>) => s.days.map((d) => [d.day, d.amount.toFixed(2)]);

describe('spend per day', () => {
  it('GIVEN a now THEN the period is the last N UTC days ending today, oldest first', () => {
    const days = periodDays(new Date(T0 + 5 * HOUR), 3);
    expect(days.map(utcDayKey)).toEqual(['2026-11-18', '2026-11-19', '2026-11-20']);
    expect(utcDayKey(T0 - 1)).toBe('2026-11-19');
  });

  it('GIVEN a top-up in the middle of a day THEN only the falls are that day’s spend', () => {
    const obs = [o(T0 + HOUR, '10'), o(T0 + 2 * HOUR, '9'), o(T0 + 3 * HOUR, '29'), o(T0 + 4 * HOUR, '27.5')];
    const s = series(obs, T0 + 5 * HOUR, 1);
    expect(amounts(s)).toEqual([['2026-11-20', '2.50']]);
    expect(s.total.toFixed(2)).toBe('2.50');
  });

  it('GIVEN a fall across midnight THEN it counts on the day of the later reading, the earlier day keeps its own falls', () => {
    const obs = [o(T0 - 2 * HOUR, '10'), o(T0 - HOUR, '9.50'), o(T0 + HOUR, '8'), o(T0 + 2 * HOUR, '7.75')];
    const s = series(obs, T0 + 3 * HOUR, 2);
    expect(amounts(s)).toEqual([
      ['2026-11-19', '0.50'],
      ['2026-11-20', '1.75'],
    ]);
  });

  it('GIVEN a day with no readings between two days THEN it spent nothing and is marked unobserved; the fall across the gap lands on the next day seen', () => {
    const obs = [o(T0 - DAY_MS + HOUR, '10'), o(T0 + DAY_MS + HOUR, '6')];
    const s = series(obs, T0 + DAY_MS + 2 * HOUR, 3);
    expect(amounts(s)).toEqual([
      ['2026-11-19', '0.00'],
      ['2026-11-20', '0.00'],
      ['2026-11-21', '4.00'],
    ]);
    expect(s.days.map((d) => d.observed)).toEqual([true, false, true]);
  });

  it('GIVEN a reading before the period THEN the fall from it into the first day counts; days before any reading are 0', () => {
    const obs = [o(T0 - 3 * DAY_MS, '10'), o(T0 + HOUR, '9')];
    const s = series(obs, T0 + 2 * HOUR, 2);
    expect(amounts(s)).toEqual([
      ['2026-11-19', '0.00'],
      ['2026-11-20', '1.00'],
    ]);
    const fresh = series([o(T0 + HOUR, '9'), o(T0 + 2 * HOUR, '8')], T0 + 3 * HOUR, 3);
    expect(amounts(fresh).map(([, a]) => a)).toEqual(['0.00', '0.00', '1.00']);
  });

  it('GIVEN a budget account (openai:team) THEN the change across the 1st is no spend, up or down; a balance’s fall across it is', () => {
    const dec1 = Date.UTC(2026, 11, 1);
    // $150 left at 23:00 on Nov 30; at 09:00 on Dec 1 the new month's budget has $120 left, then $119.
    const obs = [
      o(dec1 - 2 * HOUR, '151'),
      o(dec1 - HOUR, '150'),
      o(dec1 + 9 * HOUR, '120'),
      o(dec1 + 10 * HOUR, '119'),
    ];
    expect(amounts(series(obs, dec1 + 11 * HOUR, 2, 'USD', 'openai:team'))).toEqual([
      ['2026-11-30', '1.00'],
      ['2026-12-01', '1.00'],
    ]);
    expect(amounts(series(obs, dec1 + 11 * HOUR, 2, 'USD', 'kimi'))).toEqual([
      ['2026-11-30', '1.00'],
      ['2026-12-01', '31.00'],
    ]);
    // The previous month's last reading, before the period, into its first day: the reset as well.
    expect(amounts(series(obs, dec1 + 11 * HOUR, 1, 'USD', 'anthropic'))).toEqual([['2026-12-01', '1.00']]);
  });

  it('GIVEN a CNY account THEN the series keeps its currency', () => {
    const s = series([o(T0 + HOUR, '100'), o(T0 + 2 * HOUR, '93')], T0 + 3 * HOUR, 1, 'CNY');
    expect(s.currency).toBe('CNY');
    expect(s.total.toFixed(2)).toBe('7.00');
  });

  it('GIVEN a cost report THEN the days it covers come from it, earlier days from the balance, and JSON has exact strings', () => {
    const obs = [o(T0 - DAY_MS - HOUR, '10'), o(T0 - DAY_MS + HOUR, '9'), o(T0 + HOUR, '8')];
    const derived = series(obs, T0 + 2 * HOUR, 3);
    const s = withCostReport(derived, [
      { day: '2026-11-19', amount: new Big('0.012345') },
      { day: '2026-11-20', amount: new Big('3.5') },
    ]);
    expect(s.days.map((d) => [d.day, d.amount.toFixed(), d.source])).toEqual([
      ['2026-11-18', '0', 'balance'],
      ['2026-11-19', '0.012345', 'cost-report'],
      ['2026-11-20', '3.5', 'cost-report'],
    ]);
    expect(s.total.toFixed()).toBe('3.512345');
    expect(peakDay(s)?.day).toBe('2026-11-20');
    expect(spendToJson(s)[1]).toEqual({ day: '2026-11-19', amount: '0.012345', observed: true });
    expect(withCostReport(derived, [])).toBe(derived);
    // A report listing its days out of order starts at its earliest day all the same.
    const unordered = withCostReport(derived, [
      { day: '2026-11-20', amount: new Big('3.5') },
      { day: '2026-11-19', amount: new Big('0.012345') },
    ]);
    expect(unordered.days.map((d) => d.source)).toEqual(['balance', 'cost-report', 'cost-report']);
  });

  it('GIVEN nothing spent THEN there is no peak day; GIVEN equal peaks THEN the earliest', () => {
    expect(peakDay(series([o(T0 + HOUR, '5'), o(T0 + 2 * HOUR, '6')], T0 + 3 * HOUR, 2))).toBeNull();
    const obs = [o(T0 - DAY_MS + HOUR, '10'), o(T0 - DAY_MS + 2 * HOUR, '9'), o(T0 + HOUR, '8')];
    expect(peakDay(series(obs, T0 + 2 * HOUR, 2))?.day).toBe('2026-11-19');
  });

  it('GIVEN any readings over any days THEN the days sum to the spend of all of them joined, and no day is negative', () => {
    const reading = fc.record({
      // Up to 6 days of minutes before the end, so readings land before, inside and across the period.
      minute: fc.integer({ min: 0, max: 6 * 1440 }),
      cents: fc.integer({ min: -2000, max: 50_000 }),
    });
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 80 }), fc.integer({ min: 1, max: 5 }), (rs, count) => {
        const end = T0 + 7 * HOUR;
        const byTime = new Map<number, Observation>();
        for (const r of rs) {
          const at = end - r.minute * 60_000;
          byTime.set(at, { asOf: new Date(at), available: new Big(r.cents).div(100) });
        }
        const obs = [...byTime.values()].sort((a, b) => a.asOf.getTime() - b.asOf.getTime());
        const days = periodDays(new Date(end), count);
        const s = spendFromDigests('kimi', 'USD', days, digestsOf(obs, days[0]!));
        // Everything from the newest reading before the period on, digested as one run.
        const before = obs.filter((x) => x.asOf.getTime() < days[0]!).at(-1);
        const run = [...(before ? [before] : []), ...obs.filter((x) => x.asOf.getTime() >= days[0]!)];
        const whole = digestObservations(run, run.length);
        expect(s.total.eq(whole?.spend ?? 0)).toBe(true);
        expect(s.days.reduce((sum, d) => sum.plus(d.amount), new Big(0)).eq(s.total)).toBe(true);
        expect(s.days.every((d) => d.amount.gte(0))).toBe(true);
        expect(s.days).toHaveLength(count);
      }),
    );
  });
});
