import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import { type AlertSettings, type AlertState, evaluate } from '../../src/core/alerts/engine.js';
import { alertPayload, alertText } from '../../src/core/alerts/messages.js';
import { budgetForecast, formatRunway } from '../../src/core/forecast.js';
import { forecastToJson } from '../../src/core/insight.js';
import { Big, isLow } from '../../src/core/money.js';
import type { ProviderStatus } from '../../src/core/service.js';

/**
 * Budget accounts (issue 13): the forecast is the month's projected spend at the month-to-date rate against
 * the budget, and the budget resetting on the 1st is neither a top-up nor spend.
 */
const DAY = 86_400_000;
const DEC = { periodStart: new Date('2026-12-01T00:00:00Z'), periodEnd: new Date('2027-01-01T00:00:00Z') };
const NOV = { periodStart: new Date('2026-11-01T00:00:00Z'), periodEnd: new Date('2026-12-01T00:00:00Z') };
const SETTINGS: AlertSettings = { recoveryMargin: 0.1, failureAfter: 3, repeatMs: DAY, runwayDays: 3 };
const money = (n: string | number) => new Big(n);

function facts(spent: string, period = DEC, budget = '200') {
  return {
    available: money(budget).minus(spent),
    budget: { amount: money(budget), spent: money(spent), ...period },
    days: 16,
  };
}

/** The budget account's judged status at `at`, as the service makes it. */
function status(spent: string, at: Date, period = DEC): ProviderStatus {
  const f = facts(spent, period);
  const threshold = money(5);
  return {
    provider: 'openai',
    ...accountDisplay('openai'),
    threshold,
    staleAfterMs: null,
    result: {
      ok: true,
      provider: 'openai',
      currency: 'USD',
      available: f.available,
      asOf: at,
      checkedAt: at,
      latencyMs: 5,
      note: `budget $200.00, $${money(spent).toFixed(2)} spent this month`,
      budget: f.budget,
    },
    state: isLow(f.available, threshold) ? 'low' : 'ok',
    ageMs: 0,
    stale: false,
  };
}

describe('budget forecast: the month projected at its rate', () => {
  it('GIVEN $115 spent by Dec 16 12:00 (half the month) THEN on track for $230.00 of $200.00, out before the month ends', () => {
    const now = new Date('2026-12-16T12:00:00Z');
    const f = budgetForecast(facts('115'), { threshold: money(5), currency: 'USD', now });
    if (f.status !== 'ok') throw new Error(`expected ok, got ${f.status}`);
    expect(f.describe).toBe('on track for $230.00 of $200.00 by Dec 31');
    expect([f.budget?.projected.toFixed(2), f.budget?.over, f.ratePerDay.toFixed(4)]).toEqual([
      '230.00',
      true,
      '7.4194',
    ]);
    // $85 left at $7.4194/day: 11.46 days, Dec 27 22:57, before Jan 1.
    expect(f.daysToZero).toBeCloseTo(85 / (115 / 15.5), 6);
    expect(f.runsOutAt.toISOString().slice(0, 16)).toBe('2026-12-27T22:57');
    expect(f.topUps).toEqual([]);
    expect(f.spend.toString()).toBe('115');
    expect(formatRunway(f, 'USD', now)).toBe(
      "$7.42/day · on track for $230.00 of $200.00 by Dec 31 · budget runs out ~2026-12-27 22:57 UTC, before the month ends · high confidence: 15 d of this month's costs",
    );
    expect(formatRunway(f, 'USD', now, 'discord')).toContain(
      `budget runs out ~<t:${Math.floor(f.runsOutAt.getTime() / 1000)}:f>, before the month ends`,
    );
    expect(forecastToJson(f).budget).toEqual({
      amount: '200.00',
      projected: '230.00',
      periodEnd: '2027-01-01T00:00:00.000Z',
      over: true,
    });
  });

  it('GIVEN a slow month THEN within budget; nothing spent THEN idle; in the first hour THEN not enough history', () => {
    const now = new Date('2026-12-16T12:00:00Z');
    const slow = budgetForecast(facts('31'), { threshold: money(5), currency: 'USD', now });
    expect([slow.describe, slow.status === 'ok' && slow.budget?.over]).toEqual([
      'on track for $62.00 of $200.00 by Dec 31',
      false,
    ]);
    const idle = budgetForecast(facts('0'), { threshold: money(5), currency: 'USD', now });
    expect([idle.status, idle.describe]).toEqual(['idle', 'no spend this month (budget $200.00 by Dec 31)']);
    const early = budgetForecast(facts('1'), {
      threshold: money(5),
      currency: 'USD',
      now: new Date('2026-12-01T00:20:00Z'),
    });
    expect([early.status, early.status === 'insufficient' && early.reason]).toEqual([
      'insufficient',
      "the budget's month began 20 min ago",
    ]);
    // Said as it is in /balance and /balance-history, not taken for "only one distinct reading" (on the 1st
    // the cost report holds one day).
    const firstHour = budgetForecast(
      { ...facts('1'), days: 1 },
      { threshold: money(5), currency: 'USD', now: new Date('2026-12-01T00:20:00Z') },
    );
    expect(formatRunway(firstHour, 'USD', new Date('2026-12-01T00:20:00Z'), 'discord')).toBe(
      "not enough history (the budget's month began 20 min ago)",
    );
    // November has 30 days: its end is Nov 30.
    const nov = budgetForecast(facts('100', NOV), {
      threshold: money(5),
      currency: 'USD',
      now: new Date('2026-11-11T00:00:00Z'),
    });
    expect(nov.describe).toBe('on track for $300.00 of $200.00 by Nov 30');
  });
});

describe('budget forecast: a held reading', () => {
  it('GIVEN a reading from Dec 16 12:00 asked about 3 hours later THEN the month is projected to the reading, and its runway counts from now', () => {
    const asOf = new Date('2026-12-16T12:00:00Z');
    const now = new Date('2026-12-16T15:00:00Z');
    const opts = { threshold: money(5), currency: 'USD' as const };
    const fresh = budgetForecast({ ...facts('115'), asOf }, { ...opts, now: asOf });
    const held = budgetForecast({ ...facts('115'), asOf }, { ...opts, now });
    if (fresh.status !== 'ok' || held.status !== 'ok') throw new Error('expected ok forecasts');
    // The same projection, rate and moments: 15.5 days of the month read, not 15.625.
    expect([held.describe, held.budget?.projected.toFixed(2), held.ratePerDay.toFixed(4)]).toEqual([
      'on track for $230.00 of $200.00 by Dec 31',
      '230.00',
      '7.4194',
    ]);
    expect([held.runsOutAt, held.reachesThresholdAt, held.latest.asOf]).toEqual([
      fresh.runsOutAt,
      fresh.reachesThresholdAt,
      asOf,
    ]);
    expect(formatRunway(held, 'USD', now)).toBe(formatRunway(fresh, 'USD', asOf));
    // Three hours of the runway have passed.
    expect(held.daysToZero).toBeCloseTo(fresh.daysToZero - 0.125, 9);
    expect(held.daysToThreshold).toBeCloseTo(fresh.daysToThreshold - 0.125, 9);
  });
});

describe('budget alerts: the runway alert and the month reset', () => {
  const step = (prev: AlertState | null, s: ProviderStatus, at: Date) => {
    const r = s.result;
    const forecast =
      r.ok && r.budget
        ? budgetForecast(
            { available: r.available, budget: r.budget, days: 1 },
            { threshold: s.threshold, currency: 'USD', now: at },
          )
        : undefined;
    return evaluate(prev, { status: s, now: at, settings: SETTINGS, ...(forecast ? { forecast } : {}) });
  };

  it('GIVEN a month on track to run over THEN one runway alert says by how much and when it runs out', () => {
    const first = new Date('2026-12-16T12:00:00Z');
    const a = step(null, status('115', first), first);
    expect(a.notifications.map((n) => n.kind)).toEqual(['runway']);
    const n = a.notifications[0];
    if (!n) throw new Error('no notification');
    expect(alertText(n, 'text')).toBe(
      '🤖 📉 OpenAI credits running down: $85.00 (threshold: $5.00) · $7.42/day · on track for $230.00 of $200.00 by Dec 31 · threshold in 10 d (~2026-12-27 06:46 UTC) · $0 in 11 d (~2026-12-27 22:57 UTC)',
    );
    expect((alertPayload(n).runway as { budget: unknown }).budget).toEqual({
      amount: '200',
      projected: '230',
      periodEnd: '2027-01-01T00:00:00.000Z',
    });
    // Once: the next check, still over, says nothing.
    const later = new Date('2026-12-17T12:00:00Z');
    expect(step(a.next, status('125', later), later).notifications).toEqual([]);
  });

  it('GIVEN a month within budget THEN no runway alert, however near the threshold the days-count would be', () => {
    const at = new Date('2026-12-16T12:00:00Z');
    expect(step(null, status('31', at), at).notifications).toEqual([]);
  });

  it('GIVEN a budget low on Nov 30 THEN the reset on Dec 1 (while still Nov 30 in Los Angeles) is a recovery by reset, never a top-up', () => {
    const nov30 = new Date('2026-11-30T20:00:00Z');
    const low = step(null, status('198', nov30, NOV), nov30);
    // $2 left is below the critical level too (half the threshold): one critical alert (issue 15).
    expect(low.notifications.map((n) => n.kind)).toEqual(['critical']);
    const dec1 = new Date('2026-12-01T02:00:00Z');
    const reset = step(low.next, status('2.5', dec1, DEC), dec1);
    expect(reset.notifications.map((n) => n.kind)).toEqual(['recovered']);
    const n = reset.notifications[0];
    expect([n?.topUp, n?.budgetReset]).toEqual([undefined, true]);
    expect(alertText(n as NonNullable<typeof n>, 'text')).toContain('the budget reset for the new month');
    expect(alertText(n as NonNullable<typeof n>, 'text')).not.toContain('topped up');
  });

  it('GIVEN a rise inside the month while low (a credit) THEN it is a top-up as for any balance', () => {
    const d10 = new Date('2026-12-10T00:00:00Z');
    const low = step(null, status('197', d10), d10);
    const d11 = new Date('2026-12-11T00:00:00Z');
    const back = step(low.next, status('150', d11), d11);
    // $150 spent in 10 days still runs over this month: the runway warning follows the recovery.
    expect(back.notifications.map((n) => [n.kind, n.topUp?.toString(), n.budgetReset])).toEqual([
      ['recovered', '47', undefined],
      ['runway', undefined, undefined],
      // The credit is announced as a top-up too (issue 15), after the recovery it caused.
      ['topup', '47', undefined],
    ]);
  });
});
