import { describe, expect, it } from 'vitest';
import {
  computeForecast,
  confidenceWords,
  type Forecast,
  formatRate,
  formatRunway,
  type HistoryPoint,
  type OkForecast,
  runwayPhrase,
  summarizeHistory,
} from '../../src/core/forecast.js';
import { Big } from '../../src/core/money.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
const at = (hours: number): Date => new Date(T0 + hours * HOUR);
const live = (hours: number, available: Big | number | string): HistoryPoint => ({
  checkedAt: at(hours),
  asOf: at(hours),
  available: new Big(available),
});

/** One reading per hour from `from` to `to` (inclusive), falling $0.10 an hour from `start`. */
function hourly(from: number, to: number, start = 100): HistoryPoint[] {
  return Array.from({ length: to - from + 1 }, (_, i) =>
    live(from + i, new Big(start).minus(new Big(from + i).div(10))),
  );
}

function forecastOf(
  points: HistoryPoint[],
  now: Date,
  more: { threshold?: number; windowDays?: number } = {},
) {
  return computeForecast({
    points,
    threshold: new Big(more.threshold ?? 5),
    currency: 'USD',
    now,
    ...(more.windowDays === undefined ? {} : { windowDays: more.windowDays }),
  });
}

function expectOk(f: Forecast): OkForecast {
  if (f.status !== 'ok') throw new Error(`expected ok, got ${f.status}: ${f.describe}`);
  return f;
}

describe('forecast: readings dated after now (clock skew)', () => {
  it('GIVEN a reading up to 5 minutes ahead of now THEN it counts as the latest', () => {
    const points = [
      ...hourly(0, 48),
      { checkedAt: at(48), asOf: new Date(at(48).getTime() + 5 * MINUTE), available: new Big(1) },
    ];
    const f = expectOk(forecastOf(points, at(48)));
    expect(f.latest.available.toFixed()).toBe('1');
    expect(f.basedOn.observations).toBe(50);
  });

  it('GIVEN a reading more than 5 minutes ahead of now THEN it is ignored', () => {
    const future = {
      checkedAt: at(48),
      asOf: new Date(at(48).getTime() + 5 * MINUTE + 1),
      available: new Big(1),
    };
    const f = expectOk(forecastOf([...hourly(0, 48), future], at(48)));
    expect(f.latest.asOf).toEqual(at(48));
    expect(f.latest.available.toFixed()).toBe('95.2');
    expect(f.basedOn.observations).toBe(49);
  });
});

describe('forecast: the latest check of one asOf wins', () => {
  it.each([
    ['later check listed last', [0, 1]],
    ['later check listed first', [1, 0]],
  ])('GIVEN two checks of the 24 h row disagreeing, %s THEN the later check’s amount is used', (_, order) => {
    const checks = [
      { checkedAt: at(24), asOf: at(24), available: new Big(9) },
      { checkedAt: at(25), asOf: at(24), available: new Big(8) },
    ];
    const points = [live(0, 10), ...order.map((i) => checks[i]!)];
    const f = expectOk(forecastOf(points, at(25), { threshold: 1 }));
    expect(f.latest.available.toFixed()).toBe('8');
    expect(f.spend.toFixed()).toBe('2');
  });

  it('GIVEN a point with an invalid date THEN it is no observation at all', () => {
    const points = [
      live(0, 10),
      { checkedAt: at(1), asOf: new Date(Number.NaN), available: new Big(1) },
      live(24, 9),
    ];
    const f = expectOk(forecastOf(points, at(24), { threshold: 1 }));
    expect(f.basedOn.observations).toBe(2);
    const s = summarizeHistory(points, 'USD');
    expect(s).toMatchObject({ enough: true, count: 3, observations: 2 });
  });
});

describe('forecast: the trailing window and its fallback', () => {
  it('GIVEN a reading exactly windowDays before now THEN it is inside the window, no fallback', () => {
    const f = expectOk(forecastOf([live(0, 10), live(7 * 24, 3)], at(7 * 24)));
    expect(f.basedOn).toMatchObject({ observations: 2, days: 7, fellBack: false });
    const older = expectOk(forecastOf([live(-1, 11), live(0, 10), live(7 * 24, 3)], at(7 * 24)));
    expect(older.basedOn).toMatchObject({ observations: 2, fellBack: false });
  });

  it('GIVEN windowDays=1 THEN only the last day counts', () => {
    const f = expectOk(forecastOf(hourly(0, 72), at(72), { windowDays: 1 }));
    expect(f.basedOn).toMatchObject({ observations: 25, days: 1, fellBack: false });
  });

  it('GIVEN nothing recent THEN it takes the windowDays before the newest reading, that one included', () => {
    // Readings every hour over 10 days, the last 8 days ago: the fallback window is its 7 days, 169 readings.
    const f = expectOk(forecastOf(hourly(0, 240), at(240 + 8 * 24)));
    expect(f.basedOn).toMatchObject({ observations: 7 * 24 + 1, days: 7, fellBack: true });
    expect(f.ratePerDay.toFixed(2)).toBe('2.40');
  });

  it('GIVEN two recent readings only 10 minutes apart THEN it reaches back one reading at a time', () => {
    const now = at(30 * 24);
    const points = [
      live(0, 50),
      live(24, 45),
      {
        checkedAt: new Date(now.getTime() - 20 * MINUTE),
        asOf: new Date(now.getTime() - 20 * MINUTE),
        available: new Big(30),
      },
      {
        checkedAt: new Date(now.getTime() - 10 * MINUTE),
        asOf: new Date(now.getTime() - 10 * MINUTE),
        available: new Big(29),
      },
    ];
    const f = expectOk(forecastOf(points, now));
    expect(f.basedOn.observations).toBe(3);
    expect(f.basedOn.fellBack).toBe(true);
    expect(f.basedOn.days).toBeCloseTo(29 - 10 / (24 * 60), 9);
    expect(f.spend.toFixed()).toBe('16');
  });

  it('GIVEN readings spanning exactly an hour THEN that is enough; 59 minutes is not', () => {
    expect(forecastOf([live(0, 10), live(1, 9)], at(1)).status).toBe('ok');
    const short = forecastOf(
      [live(0, 10), { checkedAt: at(1), asOf: new Date(T0 + 59 * MINUTE), available: new Big(9) }],
      at(1),
    );
    expect(short).toMatchObject({
      status: 'insufficient',
      reason: 'readings span only 59 min; need at least 1 hour',
      describe: 'not enough history',
      confidence: 'low',
    });
    expect(short.basedOn).toMatchObject({ observations: 2, fellBack: false });
    expect(short.basedOn.days).toBeCloseTo(59 / (24 * 60), 12);
  });

  it('GIVEN one reading THEN the reason dates it; GIVEN none THEN it says so', () => {
    expect(forecastOf([live(0, 10)], at(1))).toMatchObject({
      status: 'insufficient',
      reason: 'only one distinct reading (as of 2026-11-01 00:00 UTC)',
      latest: { available: new Big(10) },
    });
    expect(forecastOf([], at(1))).toMatchObject({
      status: 'insufficient',
      reason: 'no successful readings yet',
      latest: null,
      basedOn: { observations: 0, days: 0, coverage: 0, fellBack: false },
    });
  });
});

describe('forecast: coverage counts parts, not readings', () => {
  it('GIVEN readings bunched in the first part and one at the end THEN 2 of 12 parts are covered', () => {
    const f = expectOk(forecastOf([live(0, 20), live(1, 19), live(2, 18), live(72, 10)], at(72)));
    expect(f.basedOn.coverage).toBe(2 / 12);
  });

  it('GIVEN a reading exactly on a part boundary THEN it lands in the later part', () => {
    const f = expectOk(forecastOf([live(0, 20), live(6, 19), live(72, 10)], at(72)));
    expect(f.basedOn.coverage).toBe(3 / 12);
    const justBefore = expectOk(
      forecastOf(
        [
          live(0, 20),
          { checkedAt: at(6), asOf: new Date(at(6).getTime() - 1), available: new Big(19) },
          live(72, 10),
        ],
        at(72),
      ),
    );
    expect(justBefore.basedOn.coverage).toBe(2 / 12);
  });
});

describe('forecast: runway arithmetic', () => {
  it('GIVEN $0.10/h spend from $10 seen 2 hours ago THEN the dates count from the reading, the days from now', () => {
    const f = expectOk(forecastOf(hourly(0, 48, 14.8), at(50)));
    // Latest: $10.00 at 48 h; $2.40/day: $5 in 50 h from it, $0 in 100 h.
    expect(f.latest.available.toFixed()).toBe('10');
    expect(f.ratePerDay.toFixed()).toBe('2.4');
    expect(f.reachesThresholdAt).toEqual(at(98));
    expect(f.runsOutAt).toEqual(at(148));
    expect(f.daysToThreshold).toBeCloseTo(48 / 24, 9);
    expect(f.daysToZero).toBeCloseTo(98 / 24, 9);
    expect(f.belowThreshold).toBe(false);
    expect(f.describe).toBe('threshold in 2 d · $0 in 4 d');
  });

  it('GIVEN a vanishingly small rate THEN the dates stay representable and the runway reads >365 d', () => {
    const f = expectOk(forecastOf([live(0, '100.0000001'), live(24, 100)], at(24)));
    expect(f.runsOutAt.getTime()).toBe(at(24).getTime() + 365_000 * DAY);
    expect(f.reachesThresholdAt?.getTime()).toBe(at(24).getTime() + 365_000 * DAY);
    expect(f.describe).toMatch(/^threshold in >365 d · \$0 in >365 d/);
    expect(formatRate(f, 'USD')).toBe('<$0.01/day');
  });

  it('GIVEN a projection already past the threshold but not $0 (stale source) THEN it says so', () => {
    // $2.40/day, $6 at 24 h: the threshold at 34 h, $0 at 84 h; now is 48 h.
    const f = expectOk(forecastOf([live(0, '8.4'), live(24, 6)], at(48)));
    expect(f.daysToThreshold).toBe(0);
    expect(f.describe).toBe(
      'projected below threshold by now · $0 in 36 h (low confidence: 2 readings over 24 h with long gaps)',
    );
    expect(formatRunway(f, 'USD', at(48))).toBe(
      '$2.40/day · projected below threshold by now (~2026-11-02 10:00 UTC) · $0 in 36 h (~2026-11-04 12:00 UTC)' +
        ' · low confidence: 2 readings over 24 h with long gaps',
    );
  });
});

describe('forecast: words', () => {
  const facts = {
    available: new Big(8),
    threshold: new Big(5),
    belowThreshold: false,
    daysToThreshold: 2,
    daysToZero: 6,
    reachesThresholdAt: at(48),
    runsOutAt: at(144),
  };

  it('GIVEN each case THEN the runway phrase names the line it reaches', () => {
    expect(runwayPhrase(facts, 'USD')).toBe('threshold in 2 d · $0 in 6 d');
    expect(runwayPhrase(facts, 'CNY', 'text')).toBe(
      'threshold in 2 d (~2026-11-03 00:00 UTC) · ¥0 in 6 d (~2026-11-07 00:00 UTC)',
    );
    // For Discord the same moments in its markup, so each reader sees them in their own time zone.
    const unix = (d: Date) => Math.floor(d.getTime() / 1000);
    expect(runwayPhrase(facts, 'CNY', 'discord')).toBe(
      `threshold in 2 d (~<t:${unix(at(48))}:f>) · ¥0 in 6 d (~<t:${unix(at(144))}:f>)`,
    );
    expect(runwayPhrase({ ...facts, available: new Big(5) }, 'USD')).toBe('at threshold · $0 in 6 d');
    expect(runwayPhrase({ ...facts, threshold: new Big(0) }, 'USD')).toBe('$0 in 6 d');
    expect(runwayPhrase({ ...facts, belowThreshold: true, available: new Big(4) }, 'USD')).toBe(
      'below threshold · $0 in 6 d',
    );
    expect(runwayPhrase({ ...facts, daysToThreshold: 0 }, 'USD')).toBe(
      'projected below threshold by now · $0 in 6 d',
    );
    expect(runwayPhrase({ ...facts, daysToThreshold: 0, reachesThresholdAt: null }, 'USD', 'text')).toBe(
      'projected below threshold by now · $0 in 6 d (~2026-11-07 00:00 UTC)',
    );
  });

  it('GIVEN the edges of the gaps rule THEN "with long gaps" needs a day of span and under half coverage', () => {
    const b = { observations: 1, days: 1, coverage: 0.49, fellBack: false };
    expect(confidenceWords('low', b)).toBe('low confidence: 1 reading over 24 h with long gaps');
    expect(confidenceWords('low', { ...b, coverage: 0.5 })).toBe('low confidence: 1 reading over 24 h');
    expect(confidenceWords('low', { ...b, days: 0.99 })).toBe('low confidence: 1 reading over 23 h');
  });

  it('GIVEN an idle forecast THEN the line says no spend and counts the top-ups', () => {
    const one = forecastOf([live(0, 10), live(24, 10)], at(24));
    expect(formatRunway(one, 'USD', at(24))).toBe(
      '$0.00/day · no spend · low confidence: 2 readings over 24 h with long gaps',
    );
    const two = forecastOf([live(0, 10), live(12, 11), live(24, 11), live(36, 12)], at(36));
    expect(two.describe).toBe('no spend in 36 h');
    expect(formatRunway(two, 'USD', at(36))).toMatch(/^\$0\.00\/day · no spend \(2 top-ups\) · /);
    const single = forecastOf([live(0, 10), live(24, 11)], at(24));
    expect(formatRunway(single, 'USD', at(24))).toMatch(/^\$0\.00\/day · no spend \(1 top-up\) · /);
  });

  it('GIVEN too little history THEN the rate is n/a and the line gives the reason', () => {
    const f = forecastOf([live(0, 10)], at(1));
    expect(formatRate(f, 'USD')).toBe('n/a');
    expect(formatRunway(f, 'USD', at(1))).toBe(
      'not enough history (only one distinct reading (as of 2026-11-01 00:00 UTC))',
    );
    // In Discord the moment is the reader's own time: the timestamp markup, not UTC text.
    expect(formatRunway(f, 'USD', at(1), 'discord')).toBe(
      `not enough history (only one distinct reading (as of <t:${at(0).getTime() / 1000}:f>))`,
    );
  });
});

describe('forecast: a projection that ran out exactly now', () => {
  it('GIVEN $5/day from $5 a day ago THEN it has run out now, and the line says when and from what', () => {
    const f = expectOk(forecastOf([live(0, 10), live(24, 5)], at(48), { threshold: 1 }));
    expect(f.runsOutAt).toEqual(at(48));
    expect(formatRunway(f, 'USD', at(48))).toBe(
      '$5.00/day · projected to have run out ~2026-11-03 00:00 UTC (last reading $5.00 at 2026-11-02 00:00 UTC)' +
        ' · low confidence: 2 readings over 24 h with long gaps',
    );
  });

  it('GIVEN a single reading THEN its coverage is 0, not one part', () => {
    expect(forecastOf([live(0, 10)], at(1)).basedOn.coverage).toBe(0);
  });
});

describe('summarizeHistory: min and max are dated at the first time they were reached', () => {
  it('GIVEN exactly two readings and no top-up THEN it is enough, and the text names no top-ups', () => {
    const s = summarizeHistory([live(0, 10), live(1, 9.5)], 'USD');
    expect(s).toMatchObject({ enough: true, observations: 2 });
    expect(s.text).toBe(
      '$10.00 → $9.50 (-$0.50) · spent $0.50 · min $9.50, max $10.00 · 2 readings, 2 distinct',
    );
  });

  it('GIVEN one top-up THEN it is named in the singular', () => {
    expect(summarizeHistory([live(0, 10), live(1, 12)], 'USD').text).toContain(', 1 top-up +$2.00 · ');
  });

  it('GIVEN the same low and high reached twice THEN the first dates are kept', () => {
    const s = summarizeHistory([live(0, 5), live(1, 9), live(2, 5), live(3, 9), live(4, 7)], 'USD');
    if (!s.enough) throw new Error('expected enough');
    expect(s.min).toEqual({ amount: new Big(5), at: at(0) });
    expect(s.max).toEqual({ amount: new Big(9), at: at(1) });
    expect(s.text).toBe(
      '$5.00 → $7.00 (+$2.00) · spent $6.00, 2 top-ups +$8.00 · min $5.00, max $9.00 · 5 readings, 5 distinct',
    );
  });

  it('GIVEN one reading THEN the text names it; GIVEN none THEN it says the period is empty', () => {
    expect(summarizeHistory([live(0, 4)], 'USD')).toMatchObject({
      enough: false,
      reason: 'only one distinct reading',
      text: 'only one distinct reading: $4.00 at 2026-11-01 00:00 UTC',
    });
    expect(summarizeHistory([live(0, 4)], 'USD', 'discord').text).toBe(
      `only one distinct reading: $4.00 at <t:${at(0).getTime() / 1000}:f>`,
    );
    expect(summarizeHistory([], 'USD')).toMatchObject({
      reason: 'no readings',
      text: 'no readings in this period',
    });
  });
});
