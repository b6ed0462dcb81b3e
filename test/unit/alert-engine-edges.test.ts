import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import {
  type AlertNotification,
  type AlertSettings,
  type AlertState,
  evaluate,
} from '../../src/core/alerts/engine.js';
import type { Forecast, IdleForecast, OkForecast } from '../../src/core/forecast.js';
import { parseAmount } from '../../src/core/money.js';
import type { ProviderStatus } from '../../src/core/service.js';
import type { ProviderId } from '../../src/core/types.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const SETTINGS: AlertSettings = { recoveryMargin: 0.1, failureAfter: 3, repeatMs: DAY, runwayDays: 3 };
const iso = (minutes: number): string => new Date(T0 + minutes * MINUTE).toISOString();

interface Reading {
  available: string | null;
  minutes: number;
  provider?: ProviderId;
  /** Age of the figure at the check; stale when `stale` is set. */
  ageMs?: number | null;
  stale?: boolean;
  staleAfterMs?: number | null;
}

function statusOf(r: Reading): ProviderStatus {
  const provider = r.provider ?? 'kimi';
  const checkedAt = new Date(T0 + r.minutes * MINUTE);
  const threshold = parseAmount('5');
  const staleAfterMs =
    r.staleAfterMs === undefined ? (provider === 'claude' ? 6 * HOUR : null) : r.staleAfterMs;
  const base = { provider, ...accountDisplay(provider), threshold, staleAfterMs };
  if (r.available === null) {
    return {
      ...base,
      result: {
        ok: false,
        provider,
        currency: 'USD',
        reason: `down at ${r.minutes}`,
        checkedAt,
        latencyMs: 1,
      },
      state: 'failed',
      ageMs: null,
      stale: false,
    };
  }
  const available = parseAmount(r.available);
  const ageMs = r.ageMs === undefined ? 0 : r.ageMs;
  return {
    ...base,
    result: {
      ok: true,
      provider,
      currency: 'USD',
      available,
      asOf: ageMs === null ? null : new Date(checkedAt.getTime() - ageMs),
      checkedAt,
      latencyMs: 1,
    },
    state: available.lt(threshold) ? 'low' : 'ok',
    ageMs,
    stale: r.stale ?? false,
  };
}

class Run {
  state: AlertState | null = null;
  constructor(private readonly settings: AlertSettings = SETTINGS) {}
  step(r: Reading, forecast?: Forecast): AlertNotification[] {
    const { next, notifications } = evaluate(this.state, {
      status: statusOf(r),
      ...(forecast ? { forecast } : {}),
      now: new Date(T0 + r.minutes * MINUTE),
      settings: this.settings,
    });
    this.state = JSON.parse(JSON.stringify(next)) as AlertState;
    return notifications;
  }
}

/** An ok forecast from a reading at `minutes` that reaches the $5 threshold in `days`. */
function okForecast(days: number, minutes: number, more: Partial<OkForecast> = {}): OkForecast {
  const now = T0 + minutes * MINUTE;
  return {
    status: 'ok',
    threshold: parseAmount('5'),
    basedOn: { observations: 9, days: 4, coverage: 0.75, fellBack: false },
    confidence: 'medium',
    describe: 'x',
    latest: { asOf: new Date(now), available: parseAmount('8') },
    spend: parseAmount('4'),
    ratePerDay: parseAmount('1.25'),
    topUps: [],
    belowThreshold: false,
    reachesThresholdAt: new Date(now + days * DAY),
    runsOutAt: new Date(now + (days + 4) * DAY),
    daysToZero: days + 4,
    daysToThreshold: days,
    ...more,
  };
}

function idleForecast(minutes: number): IdleForecast {
  return {
    status: 'idle',
    threshold: parseAmount('5'),
    basedOn: { observations: 9, days: 4, coverage: 1, fellBack: false },
    confidence: 'high',
    describe: 'no spend in 4 d',
    latest: { asOf: new Date(T0 + minutes * MINUTE), available: parseAmount('8') },
    spend: parseAmount('0'),
    ratePerDay: parseAmount('0'),
    topUps: [],
  };
}

const kinds = (ns: AlertNotification[]): string[] => ns.map((n) => n.kind);

describe('alert engine: runway boundaries', () => {
  it('GIVEN the threshold exactly RUNWAY_ALERT_DAYS away THEN it warns; a hair beyond THEN it does not', () => {
    expect(kinds(new Run().step({ available: '8', minutes: 0 }, okForecast(3, 0)))).toEqual(['runway']);
    expect(kinds(new Run().step({ available: '8', minutes: 0 }, okForecast(3.001, 0)))).toEqual([]);
  });

  it('GIVEN a warning THEN it carries the forecast facts: when, how many days, rate and confidence', () => {
    const f = okForecast(2, 0);
    const [n] = new Run().step({ available: '8', minutes: 0 }, f);
    expect(n).toMatchObject({ kind: 'runway', provider: 'kimi', currency: 'USD', at: new Date(T0) });
    expect(n?.available?.toFixed()).toBe('8');
    expect(n?.runway).toEqual({
      reachesAt: f.reachesThresholdAt,
      days: 2,
      zeroAt: f.runsOutAt,
      zeroDays: 6,
      ratePerDay: f.ratePerDay,
      confidence: 'medium',
      basedOn: f.basedOn,
    });
  });

  it('GIVEN a warned episode WHEN the forecast moves to exactly twice the window THEN it stays armed off', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 }, okForecast(2, 0));
    expect(run.step({ available: '8', minutes: 5 }, okForecast(6, 5))).toEqual([]);
    expect(run.state?.runwayWarned).toBe(true);
    expect(run.step({ available: '8', minutes: 10 }, okForecast(2, 10))).toEqual([]);
  });

  it('GIVEN a warned episode WHEN the forecast moves just past twice the window THEN a later approach warns again', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 }, okForecast(2, 0));
    expect(run.step({ available: '8', minutes: 5 }, okForecast(6.001, 5))).toEqual([]);
    expect(run.state?.runwayWarned).toBe(false);
    expect(kinds(run.step({ available: '8', minutes: 10 }, okForecast(2, 10)))).toEqual(['runway']);
  });

  it('GIVEN a warned episode WHEN the forecast goes idle (no spend) THEN the warning re-arms', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 }, okForecast(1, 0));
    expect(run.step({ available: '8', minutes: 5 }, idleForecast(5))).toEqual([]);
    expect(run.state?.runwayWarned).toBe(false);
    expect(kinds(run.step({ available: '8', minutes: 10 }, okForecast(1, 10)))).toEqual(['runway']);
  });

  it('GIVEN RUNWAY_ALERT_DAYS=0 THEN even a forecast at the threshold now does not warn', () => {
    const run = new Run({ ...SETTINGS, runwayDays: 0 });
    expect(run.step({ available: '5', minutes: 0 }, okForecast(0, 0))).toEqual([]);
  });

  it('GIVEN a forecast already below the threshold, or with no threshold date THEN no runway warning', () => {
    const below = okForecast(0, 0, { belowThreshold: true, reachesThresholdAt: null, daysToThreshold: 0 });
    expect(new Run().step({ available: '8', minutes: 0 }, below)).toEqual([]);
    const noDate = okForecast(1, 0, { reachesThresholdAt: null });
    expect(new Run().step({ available: '8', minutes: 0 }, noDate)).toEqual([]);
  });

  it('GIVEN a warned episode WHEN the forecast is below the threshold or thin THEN the warning stays spent', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 }, okForecast(1, 0));
    run.step(
      { available: '8', minutes: 5 },
      okForecast(0, 5, { belowThreshold: true, reachesThresholdAt: null, daysToThreshold: 0 }),
    );
    expect(run.state?.runwayWarned).toBe(true);
  });
});

describe('alert engine: stale since', () => {
  it('GIVEN a Claude reading 7 h old with a 6 h limit THEN it has been stale since asOf + 6 h, an hour ago', () => {
    const run = new Run();
    const [n] = run.step({ available: '8', minutes: 120, provider: 'claude', ageMs: 7 * HOUR, stale: true });
    expect(n?.kind).toBe('stale');
    expect(n?.since?.toISOString()).toBe(iso(60));
    expect(n).toMatchObject({ ageMs: 7 * HOUR, staleAfterMs: 6 * HOUR });
    expect(run.state).toMatchObject({
      state: 'stale',
      since: iso(60),
      staleSince: iso(60),
      staleNotified: true,
    });
  });

  it('GIVEN a stale episode THEN later checks keep its start, even as the reading ages', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 120, provider: 'claude', ageMs: 7 * HOUR, stale: true });
    // A newer row, still stale: the episode began with the first stale reading, not this one.
    expect(
      run.step({ available: '8', minutes: 180, provider: 'claude', ageMs: 7 * HOUR, stale: true }),
    ).toEqual([]);
    expect(run.state).toMatchObject({ state: 'stale', since: iso(60), staleSince: iso(60) });
  });

  it('GIVEN no stale limit THEN it is stale since now; GIVEN a limit not yet passed THEN never after now', () => {
    const noLimit = new Run();
    const [a] = noLimit.step({ available: '8', minutes: 30, ageMs: null, stale: true, staleAfterMs: null });
    expect(a?.since?.toISOString()).toBe(iso(30));
    expect(a?.ageMs).toBeNull();
    expect(a).not.toHaveProperty('staleAfterMs');
    expect(noLimit.state?.lastBalanceAt).toBeNull();

    // Flagged stale by the service although asOf + limit is still ahead (an unknown age, or clock skew).
    const ahead = new Run();
    const [b] = ahead.step({ available: '8', minutes: 30, provider: 'claude', ageMs: HOUR, stale: true });
    expect(b?.since?.toISOString()).toBe(iso(30));
  });

  it('GIVEN freshness coming back THEN the stale state clears silently and a new episode notifies again', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0, provider: 'claude', ageMs: 7 * HOUR, stale: true });
    expect(run.step({ available: '8', minutes: 5, provider: 'claude' })).toEqual([]);
    expect(run.state).toMatchObject({ state: 'ok', staleSince: null, staleNotified: false, since: iso(5) });
    const again = run.step({ available: '8', minutes: 10, provider: 'claude', ageMs: 7 * HOUR, stale: true });
    expect(kinds(again)).toEqual(['stale']);
    expect(again[0]?.since?.toISOString()).toBe(new Date(T0 + 10 * MINUTE - HOUR).toISOString());
  });
});

describe('alert engine: failure facts and the headline', () => {
  it('GIVEN three failures after a reading THEN the alert names the count, the first failure and the last figure', () => {
    const run = new Run();
    run.step({ available: '7.25', minutes: 0 });
    run.step({ available: null, minutes: 5 });
    expect(run.step({ available: null, minutes: 10 })).toEqual([]);
    const [n] = run.step({ available: null, minutes: 15 });
    expect(n).toMatchObject({ kind: 'failing', failures: 3, reason: 'down at 15', since: new Date(iso(5)) });
    expect(n?.available?.toFixed()).toBe('7.25');
    expect(run.state).toMatchObject({
      state: 'failing',
      since: iso(5),
      failingSince: iso(5),
      consecutiveFailures: 3,
      lastFailure: 'down at 15',
      seq: 4,
      lastCheckedAt: iso(15),
    });
    const [back] = run.step({ available: '7', minutes: 20 });
    expect(back).toMatchObject({ kind: 'check-recovered', failures: 3, since: new Date(iso(5)) });
    expect(back?.available?.toFixed()).toBe('7');
    expect(run.state).toMatchObject({
      state: 'ok',
      since: iso(20),
      consecutiveFailures: 0,
      failingSince: null,
      failingAlerted: false,
      lastFailure: null,
      lastBalance: '7',
      lastBalanceAt: iso(20),
    });
  });

  it('GIVEN an ok state THEN its since stays at the first ok evaluation while it lasts', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 });
    run.step({ available: '7', minutes: 5 });
    expect(run.state).toMatchObject({
      state: 'ok',
      since: iso(0),
      createdAt: iso(0),
      updatedAt: iso(5),
      seq: 2,
    });
    expect(run.state?.balanceSince).toBe(iso(0));
    expect(run.state?.episodeRise).toBe('0');
  });

  it('GIVEN rises while ok THEN they are no top-up of a later low episode', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 });
    run.step({ available: '9', minutes: 5 });
    expect(run.state?.episodeRise).toBe('0');
  });

  it('GIVEN a failing provider WHEN an older ok result is re-judged THEN nothing is sent and it stays failing', () => {
    const run = new Run();
    run.step({ available: '8', minutes: 0 });
    for (const m of [5, 10, 15]) run.step({ available: null, minutes: m });
    expect(run.state?.state).toBe('failing');
    const rejudged = evaluate(run.state, {
      status: statusOf({ available: '8', minutes: 0 }),
      now: new Date(T0 + 16 * MINUTE),
      settings: SETTINGS,
    });
    expect(rejudged.notifications).toEqual([]);
    expect(rejudged.next).toMatchObject({ state: 'failing', lastCheckedAt: iso(15), consecutiveFailures: 3 });
  });

  it('GIVEN no balance known yet WHEN an older ok result is re-judged THEN nothing is judged', () => {
    const run = new Run();
    run.step({ available: null, minutes: 5 });
    const rejudged = evaluate(run.state, {
      status: statusOf({ available: '1', minutes: 0 }),
      now: new Date(T0 + 6 * MINUTE),
      settings: SETTINGS,
    });
    expect(rejudged.notifications).toEqual([]);
    expect(rejudged.next).toMatchObject({ state: 'unknown', balance: null, lastCheckedAt: iso(5) });
  });

  it('GIVEN only failed checks so far THEN the headline is unknown and no balance is recorded', () => {
    const run = new Run();
    run.step({ available: null, minutes: 0 });
    expect(run.state).toMatchObject({
      state: 'unknown',
      balance: null,
      lastBalance: null,
      consecutiveFailures: 1,
    });
  });

  it('GIVEN a low episode with a rise and a fall THEN only the rises add up as its top-up', () => {
    const run = new Run();
    run.step({ available: '4', minutes: 0 });
    run.step({ available: '4.5', minutes: 5 });
    run.step({ available: '3', minutes: 10 });
    expect(run.state?.episodeRise).toBe('0.5');
    const [n] = run.step({ available: '6', minutes: 15 });
    expect(n?.topUp?.toFixed()).toBe('3.5');
    expect(n?.since?.toISOString()).toBe(iso(0));
    expect(run.state).toMatchObject({
      balanceSince: iso(15),
      lastNotifiedAt: null,
      reminders: 0,
      episodeRise: '0',
    });
  });
});
