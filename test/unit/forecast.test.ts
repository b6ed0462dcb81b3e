import { describe, expect, it } from 'vitest';
import type { Forecast, HistoryPoint, IdleForecast, OkForecast } from '../../src/core/forecast.js';
import {
  computeForecast,
  confidenceWords,
  formatRate,
  formatRunway,
  formatSpan,
  summarizeHistory,
} from '../../src/core/forecast.js';
import type { Amount, Currency } from '../../src/core/money.js';
import { Big, formatMoney } from '../../src/core/money.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);

const at = (hours: number): Date => new Date(T0 + hours * HOUR);

/** A Kimi-style reading: the balance is true at the moment it is checked. */
function live(hours: number, available: Amount): HistoryPoint {
  return { checkedAt: at(hours), asOf: at(hours), available };
}

/** Readings every `stepHours` from `fromHours` to `toHours` inclusive, falling steadily by `perDay`. */
function steady(opts: {
  start: Amount;
  perDay: Amount;
  stepHours: number;
  fromHours: number;
  toHours: number;
}): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (let h = opts.fromHours; h <= opts.toHours; h += opts.stepHours) {
    points.push(live(h, opts.start.minus(opts.perDay.times(h).div(24))));
  }
  return points;
}

function expectOk(forecast: Forecast): OkForecast {
  if (forecast.status !== 'ok') throw new Error(`expected ok, got ${forecast.status}: ${forecast.describe}`);
  return forecast;
}

function expectIdle(forecast: Forecast): IdleForecast {
  if (forecast.status !== 'idle')
    throw new Error(`expected idle, got ${forecast.status}: ${forecast.describe}`);
  return forecast;
}

function lastOf(points: readonly HistoryPoint[]): HistoryPoint {
  const last = points.at(-1);
  if (!last) throw new Error('empty series');
  return last;
}

/** Deterministic pseudo-random numbers in [0, 1), so noisy series are the same on every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Floored to the minute, as every printed time is. */
function utcMinute(date: Date): string {
  const floored = new Date(Math.floor(date.getTime() / MINUTE) * MINUTE);
  return `${floored.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

describe('computeForecast', () => {
  describe('GIVEN steady spend over the whole window', () => {
    it.each([
      { perDay: '1.20', stepHours: 1 },
      { perDay: '0.37', stepHours: 6 },
      { perDay: '13.99', stepHours: 3 },
    ])(
      'GIVEN $perDay/day read every $stepHours h THEN the rate is exactly $perDay/day',
      ({ perDay, stepHours }) => {
        const rate = new Big(perDay);
        const points = steady({ start: rate.times(30), perDay: rate, stepHours, fromHours: 0, toHours: 168 });
        const forecast = expectOk(
          computeForecast({ points, threshold: rate.times(5), currency: 'USD', now: at(168) }),
        );

        expect(forecast.ratePerDay.eq(rate)).toBe(true);
        expect(formatRate(forecast, 'USD')).toBe(`$${perDay}/day`);
        expect(forecast.spend.eq(points[0]!.available.minus(lastOf(points).available))).toBe(true);
        expect(forecast.topUps).toEqual([]);
        expect(forecast.basedOn).toEqual({
          observations: points.length,
          days: 7,
          coverage: 1,
          fellBack: false,
        });
      },
    );

    it('THEN runway is projected from the last reading at that rate', () => {
      const rate = new Big('1.20');
      const threshold = new Big(5);
      const points = steady({ start: new Big(20), perDay: rate, stepHours: 1, fromHours: 0, toHours: 168 });
      const last = lastOf(points);
      const now = at(168);
      const forecast = expectOk(computeForecast({ points, threshold, currency: 'USD', now }));

      const zeroDays = last.available.div(rate).toNumber();
      const thresholdDays = last.available.minus(threshold).div(rate).toNumber();
      expect(forecast.runsOutAt.getTime()).toBe(last.asOf.getTime() + Math.round(zeroDays * DAY));
      expect(forecast.reachesThresholdAt?.getTime()).toBe(
        last.asOf.getTime() + Math.round(thresholdDays * DAY),
      );
      expect(forecast.daysToZero).toBeCloseTo(zeroDays, 9);
      expect(forecast.daysToThreshold).toBeCloseTo(thresholdDays, 9);
      expect(forecast.belowThreshold).toBe(false);
      expect(forecast.confidence).toBe('high');
      // Rounded down: 5.3 days to the threshold is "5 d", 9.5 days to $0 is "9 d".
      expect(forecast.describe).toBe(
        `threshold in ${Math.floor(thresholdDays)} d · $0 in ${Math.floor(zeroDays)} d`,
      );
      expect(formatRunway(forecast, 'USD', now)).toBe(
        `$1.20/day · threshold in ${Math.floor(thresholdDays)} d (~${utcMinute(forecast.reachesThresholdAt!)})` +
          ` · $0 in ${Math.floor(zeroDays)} d (~${utcMinute(forecast.runsOutAt)})` +
          ` · high confidence: ${points.length} readings over 7 d`,
      );
    });
  });

  it('GIVEN spend with two top-ups THEN the top-ups are listed and the spend excludes them', () => {
    const perStep = new Big('0.25');
    const topUpAt = new Map([
      [8, new Big(10)],
      [16, new Big(5)],
    ]);
    let balance = new Big(10);
    const points = [live(0, balance)];
    let spent = new Big(0);
    const expectedTopUps: { at: Date; amount: string }[] = [];
    for (let step = 1; step <= 20; step++) {
      const topUp = topUpAt.get(step);
      if (topUp) {
        balance = balance.plus(topUp);
        expectedTopUps.push({ at: at(step * 6), amount: topUp.toFixed() });
      } else {
        balance = balance.minus(perStep);
        spent = spent.plus(perStep);
      }
      points.push(live(step * 6, balance));
    }
    const spanDays = (20 * 6) / 24;
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(2), currency: 'USD', now: at(20 * 6) }),
    );

    expect(forecast.topUps.map((t) => ({ at: t.at, amount: t.amount.toFixed() }))).toEqual(expectedTopUps);
    expect(forecast.spend.eq(spent)).toBe(true);
    expect(forecast.ratePerDay.eq(spent.div(spanDays))).toBe(true);
    expect(forecast.spend.eq(points[0]!.available.minus(balance))).toBe(false);
  });

  it('GIVEN noisy hourly readings THEN the rate is the total of the falls over the first→last span', () => {
    const random = lcg(42);
    let balance = new Big(50);
    const points: HistoryPoint[] = [];
    for (let h = 1; h < 168; h++) {
      const jitter = Math.round((random() - 0.5) * 20 * MINUTE);
      const asOf = new Date(at(h).getTime() + jitter);
      balance = balance.minus(new Big(Math.floor(random() * 10)).div(100));
      points.push({ checkedAt: asOf, asOf, available: balance });
    }
    const first = points[0]!;
    const last = lastOf(points);
    const spanMs = last.asOf.getTime() - first.asOf.getTime();
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(168) }),
    );

    const expectedSpend = first.available.minus(last.available);
    expect(forecast.spend.eq(expectedSpend)).toBe(true);
    expect(forecast.ratePerDay.eq(expectedSpend.times(DAY).div(spanMs))).toBe(true);
    expect(forecast.basedOn.observations).toBe(points.length);
    expect(forecast.basedOn.days).toBeCloseTo(spanMs / DAY, 12);
  });

  it('GIVEN an idle provider THEN the rate is 0 and there is no runway', () => {
    const points = Array.from({ length: 169 }, (_, h) => live(h, new Big('12.34')));
    const forecast = expectIdle(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(168) }),
    );

    expect(forecast.ratePerDay.eq(0)).toBe(true);
    expect(forecast.spend.eq(0)).toBe(true);
    expect(forecast).not.toHaveProperty('runsOutAt');
    expect(forecast.describe).toBe('no spend in 7 d');
    expect(formatRate(forecast, 'USD')).toBe('$0.00/day');
    expect(formatRunway(forecast, 'USD', at(168))).toBe(
      `$0.00/day · no spend · high confidence: ${points.length} readings over 7 d`,
    );
  });

  it('GIVEN only a top-up and no fall THEN it is idle with the top-up listed', () => {
    const points = [live(0, new Big(3)), live(24, new Big(3)), live(48, new Big(13))];
    const forecast = expectIdle(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(48) }),
    );

    expect(forecast.topUps.map((t) => [t.at, t.amount.toFixed()])).toEqual([[at(48), '10']]);
    expect(forecast.ratePerDay.eq(0)).toBe(true);
  });

  describe('GIVEN too little history', () => {
    it('GIVEN a single reading THEN it is insufficient and says so', () => {
      const forecast = computeForecast({
        points: [live(0, new Big(10))],
        threshold: new Big(5),
        currency: 'USD',
        now: at(1),
      });

      expect(forecast.status).toBe('insufficient');
      expect(forecast.describe).toBe('not enough history');
      expect(forecast.confidence).toBe('low');
      expect(formatRate(forecast, 'USD')).toBe('n/a');
      expect(forecast.status === 'insufficient' && forecast.reason).toMatch(/only one distinct reading/);
      expect(formatRunway(forecast, 'USD', at(1))).toMatch(/^not enough history \(only one distinct reading/);
    });

    it('GIVEN no readings THEN it is insufficient', () => {
      const forecast = computeForecast({ points: [], threshold: new Big(5), currency: 'USD', now: at(0) });

      expect(forecast.status).toBe('insufficient');
      expect(forecast.latest).toBeNull();
    });

    it('GIVEN two readings 30 minutes apart THEN it is insufficient: the span is under an hour', () => {
      const points = [live(0, new Big(10)), live(0.5, new Big(9))];
      const forecast = computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(0.5) });

      expect(forecast.status).toBe('insufficient');
      expect(forecast.status === 'insufficient' && forecast.reason).toMatch(/30 min/);
    });

    it('GIVEN many checks of one Claude row THEN it is one observation, not a zero rate', () => {
      const points = Array.from({ length: 24 }, (_, h) => ({
        checkedAt: at(h),
        asOf: at(0),
        available: new Big('8.07'),
      }));
      const forecast = computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(23) });

      expect(forecast.status).toBe('insufficient');
      expect(forecast.basedOn.observations).toBe(1);
    });
  });

  it('GIVEN a gap of several days without readings THEN the rate still covers the gap', () => {
    const rate = new Big('2.40');
    const points = [
      ...steady({ start: new Big(30), perDay: rate, stepHours: 1, fromHours: 0, toHours: 48 }),
      ...steady({ start: new Big(30), perDay: rate, stepHours: 1, fromHours: 120, toHours: 168 }),
    ];
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(168) }),
    );

    expect(forecast.ratePerDay.eq(rate)).toBe(true);
    // Readings in 8 of the 12 half-day parts: the 3-day gap costs the high confidence.
    expect(forecast.basedOn).toEqual({
      observations: points.length,
      days: 7,
      coverage: 8 / 12,
      fellBack: false,
    });
    expect(forecast.confidence).toBe('medium');
  });

  describe('GIVEN the threshold', () => {
    const rate = new Big('2.40');

    it('GIVEN the last reading exactly at the threshold THEN it reaches it now and is not below it', () => {
      const threshold = new Big(4);
      const points = steady({
        start: threshold.plus(rate.times(2)),
        perDay: rate,
        stepHours: 1,
        fromHours: 0,
        toHours: 48,
      });
      const last = lastOf(points);
      const forecast = expectOk(computeForecast({ points, threshold, currency: 'USD', now: at(48) }));

      expect(last.available.eq(threshold)).toBe(true);
      expect(forecast.belowThreshold).toBe(false);
      expect(forecast.reachesThresholdAt).toEqual(last.asOf);
      expect(forecast.daysToThreshold).toBe(0);
      const zeroDays = threshold.div(rate).toNumber();
      expect(forecast.daysToZero).toBeCloseTo(zeroDays, 9);
      expect(forecast.describe).toBe(`at threshold · $0 in ${Math.floor(zeroDays * 24)} h`);
      expect(formatRunway(forecast, 'USD', at(48))).toBe(
        `$2.40/day · at threshold · $0 in 40 h (~${utcMinute(forecast.runsOutAt)})` +
          ' · medium confidence: 49 readings over 2 d',
      );
    });

    it('GIVEN the last reading a cent below the threshold THEN it is below and has no threshold date', () => {
      const threshold = new Big(4);
      const points = steady({
        start: threshold.plus(rate.times(2)).minus('0.01'),
        perDay: rate,
        stepHours: 1,
        fromHours: 0,
        toHours: 48,
      });
      const last = lastOf(points);
      const forecast = expectOk(computeForecast({ points, threshold, currency: 'USD', now: at(48) }));

      expect(forecast.belowThreshold).toBe(true);
      expect(forecast.reachesThresholdAt).toBeNull();
      expect(forecast.daysToThreshold).toBe(0);
      const zeroHours = last.available.div(rate).times(24).toNumber();
      expect(zeroHours).toBeCloseTo(39.9, 9);
      expect(forecast.describe).toBe('below threshold · $0 in 39 h');
    });
  });

  describe('GIVEN a short runway', () => {
    const rate = new Big('2.40');

    it('GIVEN hours of credit left and a threshold of 0 THEN it says $0 in N h', () => {
      const points = steady({ start: new Big('6.2'), perDay: rate, stepHours: 1, fromHours: 0, toHours: 48 });
      const last = lastOf(points);
      const forecast = expectOk(
        computeForecast({ points, threshold: new Big(0), currency: 'USD', now: at(48) }),
      );

      const hours = last.available.div(rate).times(24).toNumber();
      expect(hours).toBeLessThan(48);
      expect(forecast.describe).toBe(`$0 in ${Math.floor(hours)} h`);
    });

    it('GIVEN minutes of credit left THEN it says $0 in <1 h', () => {
      const points = steady({
        start: new Big('4.85'),
        perDay: rate,
        stepHours: 1,
        fromHours: 0,
        toHours: 48,
      });
      const last = lastOf(points);
      const forecast = expectOk(
        computeForecast({ points, threshold: new Big(0), currency: 'USD', now: at(48) }),
      );

      expect(last.available.div(rate).times(24).toNumber()).toBeLessThan(1);
      expect(forecast.describe).toBe('$0 in <1 h');
    });
  });

  it('GIVEN a provider billing in CNY THEN every text uses ¥', () => {
    const rate = new Big('3.60');
    const threshold = new Big(50);
    const points = steady({ start: new Big(60), perDay: rate, stepHours: 1, fromHours: 0, toHours: 72 });
    const forecast = expectOk(computeForecast({ points, threshold, currency: 'CNY', now: at(72) }));
    const runway = formatRunway(forecast, 'CNY', at(72));

    expect(formatRate(forecast, 'CNY')).toBe('¥3.60/day');
    expect(forecast.describe).toBe('below threshold · ¥0 in 13 d');
    expect(runway).toMatch(/^¥3\.60\/day · below threshold · ¥0 in 13 d \(~/);
    expect(runway).not.toContain('$');
  });

  it('GIVEN hourly checks of a twice-daily Claude row THEN the rate comes from distinct rows', () => {
    const rate = new Big('1.20');
    const rows = steady({ start: new Big(20), perDay: rate, stepHours: 12, fromHours: 0, toHours: 144 });
    const points: HistoryPoint[] = [];
    for (let h = 0; h <= 150; h++) {
      const row = rows.filter((r) => r.asOf.getTime() <= at(h).getTime()).at(-1)!;
      points.push({ checkedAt: at(h), asOf: row.asOf, available: row.available });
    }
    const shuffled = [
      ...points.filter((_, i) => i % 2 === 1).reverse(),
      ...points.filter((_, i) => i % 2 === 0),
    ];
    const forecast = expectOk(
      computeForecast({ points: shuffled, threshold: new Big(5), currency: 'USD', now: at(150) }),
    );

    expect(forecast.ratePerDay.eq(rate)).toBe(true);
    expect(forecast.basedOn).toEqual({
      observations: rows.length,
      days: 144 / 24,
      coverage: 1,
      fellBack: false,
    });
    expect(forecast.confidence).toBe('high');
    expect(forecast.latest.asOf).toEqual(lastOf(rows).asOf);
  });

  it('GIVEN two checks of one row with different amounts THEN the later check wins', () => {
    const points = [
      { checkedAt: at(0), asOf: at(0), available: new Big(10) },
      { checkedAt: at(24), asOf: at(24), available: new Big(9) },
      { checkedAt: at(25), asOf: at(24), available: new Big(8) },
    ];
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(1), currency: 'USD', now: at(25) }),
    );

    expect(forecast.latest.available.eq(8)).toBe(true);
    expect(forecast.spend.eq(2)).toBe(true);
  });

  it('GIVEN a faster older rate outside the window THEN only the trailing window counts', () => {
    const recent = new Big('1.20');
    const old = steady({ start: new Big(100), perDay: new Big(5), stepHours: 6, fromHours: 0, toHours: 240 });
    const oldEnd = lastOf(old).available;
    const newer: HistoryPoint[] = [];
    for (let h = 246; h <= 240 + 168; h += 6)
      newer.push(live(h, oldEnd.minus(recent.times(h - 240).div(24))));
    const points = [...old, ...newer];
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(240 + 168) }),
    );

    expect(forecast.ratePerDay.eq(recent)).toBe(true);
    expect(forecast.basedOn.fellBack).toBe(false);
    expect(forecast.basedOn.days).toBe(7);
  });

  describe('GIVEN too few readings in the window', () => {
    const rate = new Big('2.40');

    it('GIVEN nothing in the window THEN it falls back to the newest readings and says so', () => {
      const points = steady({ start: new Big(100), perDay: rate, stepHours: 6, fromHours: 0, toHours: 96 });
      const last = lastOf(points);
      const now = at(12 * 24);
      const forecast = expectOk(computeForecast({ points, threshold: new Big(5), currency: 'USD', now }));

      expect(forecast.ratePerDay.eq(rate)).toBe(true);
      expect(forecast.basedOn).toEqual({ observations: points.length, days: 4, coverage: 1, fellBack: true });
      expect(forecast.confidence).toBe('medium');
      const zeroDays = last.available.div(rate).toNumber();
      expect(forecast.runsOutAt.getTime()).toBe(last.asOf.getTime() + Math.round(zeroDays * DAY));
      expect(forecast.daysToZero).toBeCloseTo(zeroDays - (now.getTime() - last.asOf.getTime()) / DAY, 9);
      expect(formatRunway(forecast, 'USD', now)).toMatch(
        / · medium confidence: 17 readings over 4 d, fell back to older readings$/,
      );
    });

    it('GIVEN one reading in the window THEN it reaches back to the reading before it', () => {
      const all = steady({ start: new Big(100), perDay: rate, stepHours: 6, fromHours: 0, toHours: 9 * 24 });
      const points = all.filter(
        (p) => p.asOf.getTime() <= at(48).getTime() || p.asOf.getTime() === at(216).getTime(),
      );
      const forecast = expectOk(
        computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(10 * 24) }),
      );

      expect(forecast.basedOn).toEqual({
        observations: 2,
        days: (216 - 48) / 24,
        coverage: 2 / 12,
        fellBack: true,
      });
      expect(forecast.ratePerDay.eq(rate)).toBe(true);
      expect(forecast.confidence).toBe('low');
      expect(forecast.describe).toMatch(
        / \(low confidence: 2 readings over 7 d with long gaps, fell back to older readings\)$/,
      );
    });

    it('GIVEN a stale source whose projection has run out THEN it says projected empty by now', () => {
      const points = steady({ start: new Big(12), perDay: rate, stepHours: 6, fromHours: 0, toHours: 96 });
      const last = lastOf(points);
      const now = at(12 * 24);
      const forecast = expectOk(computeForecast({ points, threshold: new Big(1), currency: 'USD', now }));

      expect(last.available.gt(0)).toBe(true);
      expect(forecast.runsOutAt.getTime()).toBeLessThan(now.getTime());
      expect(forecast.daysToZero).toBe(0);
      expect(forecast.describe).toBe('projected empty by now');
      expect(formatRunway(forecast, 'USD', now)).toMatch(/^\$2\.40\/day · projected to have run out ~/);
    });
  });

  describe('GIVEN no credit left', () => {
    const rate = new Big('2.40');

    it.each(['0', '-0.50'])('GIVEN the last balance is %s THEN it is out of credit now', (end) => {
      const points = steady({
        start: new Big(end).plus(rate.times(2)),
        perDay: rate,
        stepHours: 1,
        fromHours: 0,
        toHours: 48,
      });
      const last = lastOf(points);
      const forecast = expectOk(
        computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(48) }),
      );

      expect(forecast.ratePerDay.eq(rate)).toBe(true);
      expect(forecast.runsOutAt).toEqual(last.asOf);
      expect(forecast.daysToZero).toBe(0);
      expect(forecast.belowThreshold).toBe(true);
      expect(forecast.describe).toBe(`out of credit (${formatMoney(last.available, 'USD')})`);
      expect(formatRunway(forecast, 'USD', at(48))).toMatch(/^\$2\.40\/day · out of credit \(/);
    });
  });

  describe('GIVEN the confidence rule', () => {
    const rate = new Big('2.40');
    const cases: { name: string; stepHours: number; toHours: number; expected: string }[] = [
      { name: 'under 24 hours', stepHours: 1, toHours: 20, expected: 'low' },
      { name: 'fewer than 4 readings', stepHours: 48, toHours: 96, expected: 'low' },
      { name: '2 days of 6-hourly readings', stepHours: 6, toHours: 48, expected: 'medium' },
      { name: '3 days of 6-hourly readings', stepHours: 6, toHours: 72, expected: 'high' },
    ];
    it.each(cases)('GIVEN $name THEN confidence is $expected', ({ stepHours, toHours, expected }) => {
      const points = steady({ start: new Big(100), perDay: rate, stepHours, fromHours: 0, toHours });
      const forecast = computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(toHours) });

      expect(forecast.confidence).toBe(expected);
    });
  });
});

describe('summarizeHistory', () => {
  const currency: Currency = 'USD';

  it('GIVEN a top-up and repeated checks THEN it reports first, last, min, max, spend, top-ups', () => {
    const amounts = ['10', '9.5', '9.5', '9', '19', '18.25', '17'];
    const points = amounts.flatMap((amount, i) => [
      { checkedAt: at(i * 6), asOf: at(i * 6), available: new Big(amount) },
      { checkedAt: at(i * 6 + 1), asOf: at(i * 6), available: new Big(amount) },
    ]);
    const summary = summarizeHistory(points, currency);
    if (!summary.enough) throw new Error('expected enough history');

    const values = amounts.map((a) => new Big(a));
    let falls = new Big(0);
    let rises = new Big(0);
    for (let i = 1; i < values.length; i++) {
      const change = values[i]!.minus(values[i - 1]!);
      if (change.lt(0)) falls = falls.minus(change);
      else rises = rises.plus(change);
    }
    expect(summary.count).toBe(points.length);
    expect(summary.observations).toBe(amounts.length);
    expect(summary.first).toEqual({ amount: values[0], at: at(0) });
    expect(summary.last).toEqual({ amount: values.at(-1), at: at((amounts.length - 1) * 6) });
    expect(summary.min.amount.toFixed()).toBe('9');
    expect(summary.min.at).toEqual(at(amounts.indexOf('9') * 6));
    expect(summary.max.amount.toFixed()).toBe('19');
    expect(summary.netChange.eq(values.at(-1)!.minus(values[0]!))).toBe(true);
    expect(summary.spend.eq(falls)).toBe(true);
    expect(summary.topUps.map((t) => [t.at, t.amount.toFixed()])).toEqual([[at(4 * 6), '10']]);
    expect(summary.topUpTotal.eq(rises)).toBe(true);
    expect(summary.text).toBe(
      `$10.00 → $17.00 (+$7.00) · spent ${formatMoney(falls, currency)}, 1 top-up +$10.00` +
        ` · min $9.00, max $19.00 · ${points.length} readings, ${amounts.length} distinct`,
    );
  });

  it('GIVEN points in any order THEN first and last follow asOf', () => {
    const points = [live(5, new Big(3)), live(1, new Big(7)), live(3, new Big(5))];
    const summary = summarizeHistory(points, 'CNY');
    if (!summary.enough) throw new Error('expected enough history');

    expect(summary.first.at).toEqual(at(1));
    expect(summary.last.at).toEqual(at(5));
    expect(summary.text).toMatch(/^¥7\.00 → ¥3\.00 \(-¥4\.00\)/);
  });

  it('GIVEN one point THEN there is not enough history', () => {
    const summary = summarizeHistory([live(0, new Big(4))], currency);

    expect(summary).toMatchObject({ enough: false, count: 1, observations: 1 });
    expect(summary.enough === false && summary.latest?.amount.toFixed()).toBe('4');
  });

  it('GIVEN many checks of the same row THEN there is not enough history but the count is kept', () => {
    const points = Array.from({ length: 5 }, (_, h) => ({
      checkedAt: at(h),
      asOf: at(0),
      available: new Big(4),
    }));
    const summary = summarizeHistory(points, currency);

    expect(summary).toMatchObject({ enough: false, count: points.length, observations: 1 });
  });

  it('GIVEN no points THEN there is not enough history', () => {
    expect(summarizeHistory([], currency)).toMatchObject({
      enough: false,
      count: 0,
      observations: 0,
      latest: null,
    });
  });
});

describe('issue 10: runway words and confidence (measured cases)', () => {
  it('GIVEN 40 readings within 2 minutes plus one 3.5 days earlier THEN confidence is low, not high', () => {
    const end = at(84);
    const points: HistoryPoint[] = [live(0, new Big(20))];
    for (let i = 0; i < 40; i++) {
      const asOf = new Date(end.getTime() - 2 * MINUTE + i * 3_000);
      points.push({ checkedAt: asOf, asOf, available: new Big('11.6') });
    }
    const forecast = expectOk(computeForecast({ points, threshold: new Big(5), currency: 'USD', now: end }));

    expect(forecast.basedOn.observations).toBe(41);
    expect(forecast.basedOn.days).toBeGreaterThanOrEqual(3);
    expect(forecast.confidence).toBe('low');
    expect(forecast.basedOn.coverage).toBe(2 / 12);
    expect(forecast.describe).toMatch(/\(low confidence: 41 readings over 3 d with long gaps\)$/);
  });

  it('GIVEN a forecast from 2 readings THEN the short clause says low confidence in words', () => {
    const points = [live(0, new Big(10)), live(5, new Big(9))];
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(5) }),
    );

    // $4.80/day: the threshold in 20 h, $0 in 45 h.
    expect(forecast.describe).toBe('threshold in 20 h · $0 in 45 h (low confidence: 2 readings over 5 h)');
  });

  it('GIVEN a balance above the threshold THEN the clause names both lines it reaches, in one unit rule', () => {
    // $2.40/day = $0.10/h from $7.50: the $5 threshold in 25 h, $0 in 75 h (3.125 d).
    const points = steady({
      start: new Big('15.9'),
      perDay: new Big('2.40'),
      stepHours: 1,
      fromHours: 0,
      toHours: 84,
    });
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(84) }),
    );

    expect(lastOf(points).available.eq('7.5')).toBe(true);
    expect(forecast.confidence).toBe('high');
    expect(forecast.describe).toBe('threshold in 25 h · $0 in 3 d');
  });

  it('GIVEN a balance below the threshold THEN the clause says so and when it reaches $0', () => {
    // $2.40/day from $1.40: 14 h to $0.
    const points = steady({
      start: new Big('9.8'),
      perDay: new Big('2.40'),
      stepHours: 1,
      fromHours: 0,
      toHours: 84,
    });
    const forecast = expectOk(
      computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(84) }),
    );

    expect(forecast.describe).toBe('below threshold · $0 in 14 h');
  });
});

describe('the unit rule (formatSpan): hours under 2 days, days from 2 days, rounded down', () => {
  it.each([
    [0, '<1 h'],
    [59 * MINUTE + 59_000, '<1 h'],
    [HOUR, '1 h'],
    [25 * HOUR, '25 h'],
    // An exact 25 h computed in days carries float noise; it must still read 25 h, not 24 h.
    [((7.5 - 5) / 2.4) * DAY, '25 h'],
    [48 * HOUR - MINUTE, '47 h'],
    [48 * HOUR, '2 d'],
    [3 * DAY - MINUTE, '2 d'],
    [3 * DAY, '3 d'],
    [365 * DAY, '365 d'],
    [366 * DAY, '>365 d'],
  ])('GIVEN %i ms THEN %s', (ms, text) => {
    expect(formatSpan(ms)).toBe(text);
  });
});

describe('the confidence rule: time spanned and coverage, not the count', () => {
  const falling = (hours: readonly number[]): HistoryPoint[] =>
    hours.map((h) => live(h, new Big(100).minus(new Big(h).div(10))));
  const hourly = (toHours: number): number[] => Array.from({ length: toHours + 1 }, (_, h) => h);
  const confidenceOf = (hours: readonly number[]) => {
    const end = Math.max(...hours);
    return computeForecast({ points: falling(hours), threshold: new Big(5), currency: 'USD', now: at(end) });
  };

  it.each([
    {
      name: 'hourly readings spanning 24 h minus a minute',
      hours: [...hourly(23), 24 - 1 / 60],
      want: 'low',
    },
    { name: 'hourly readings spanning exactly 24 h', hours: hourly(24), want: 'medium' },
    {
      name: 'hourly readings spanning 3 d minus a minute',
      hours: [...hourly(71), 72 - 1 / 60],
      want: 'medium',
    },
    { name: 'hourly readings spanning exactly 3 d', hours: hourly(72), want: 'high' },
    // 3 days cut in 12 parts of 6 h: a reading at 6k h lands in part k; the last one in part 11.
    { name: '3 d, 9 of 12 parts covered (75 %)', hours: [0, 6, 12, 18, 24, 30, 36, 42, 72], want: 'high' },
    { name: '3 d, 8 of 12 parts covered', hours: [0, 6, 12, 18, 24, 30, 36, 72], want: 'medium' },
    { name: '3 d, 6 of 12 parts covered (50 %)', hours: [0, 6, 12, 18, 24, 72], want: 'medium' },
    { name: '3 d, 5 of 12 parts covered', hours: [0, 6, 12, 18, 72], want: 'low' },
    {
      name: '3 d, 31 readings bunched in 4 parts',
      hours: [...hourly(29).map((h) => h / 2), 72],
      want: 'low',
    },
  ])('GIVEN $name THEN confidence is $want', ({ hours, want }) => {
    expect(confidenceOf(hours).confidence).toBe(want);
  });

  it('GIVEN a full-coverage fallback over 4 d THEN it is medium, not high', () => {
    const points = falling(Array.from({ length: 17 }, (_, i) => i * 6));
    const forecast = computeForecast({ points, threshold: new Big(5), currency: 'USD', now: at(12 * 24) });

    expect(forecast.basedOn).toMatchObject({ coverage: 1, fellBack: true });
    expect(forecast.confidence).toBe('medium');
  });

  it('GIVEN each level THEN the words say what it rests on', () => {
    const basedOn = { observations: 21, days: 5, coverage: 1, fellBack: false };
    expect(confidenceWords('high', basedOn)).toBe('high confidence: 21 readings over 5 d');
    expect(confidenceWords('low', { ...basedOn, observations: 2, days: 5 / 24, coverage: 2 / 12 })).toBe(
      'low confidence: 2 readings over 5 h',
    );
    expect(confidenceWords('low', { ...basedOn, observations: 41, days: 3.5, coverage: 2 / 12 })).toBe(
      'low confidence: 41 readings over 3 d with long gaps',
    );
    expect(confidenceWords('medium', { ...basedOn, days: 4, fellBack: true })).toBe(
      'medium confidence: 21 readings over 4 d, fell back to older readings',
    );
  });
});
