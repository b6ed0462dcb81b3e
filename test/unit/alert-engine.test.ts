import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import {
  type AlertNotification,
  type AlertSettings,
  type AlertState,
  evaluate,
  recoveryLevel,
} from '../../src/core/alerts/engine.js';
import { alertPayload, alertSubject, alertText } from '../../src/core/alerts/messages.js';
import {
  computeForecast,
  type Forecast,
  type HistoryPoint,
  type OkForecast,
} from '../../src/core/forecast.js';
import { type Currency, parseAmount } from '../../src/core/money.js';
import type { ProviderStatus } from '../../src/core/service.js';
import type { ProviderId } from '../../src/core/types.js';
import { describeAlertState } from '../../src/entry/jobs/alerts.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const SETTINGS: AlertSettings = { recoveryMargin: 0.1, failureAfter: 3, repeatMs: DAY, runwayDays: 3 };

interface StepOptions {
  provider?: ProviderId;
  currency?: Currency;
  threshold?: string;
  stale?: boolean;
  /** A reading of unknown age (a Claude row with a NULL updated_at): `asOf` null, always stale. */
  undated?: boolean;
  /** Minutes after T0 at which the check ran (defaults to the evaluation time). */
  checkedMin?: number;
}

/** A judged status, as the balance service produces it, `available` at `minutes` after T0 (`null`: failed). */
function status(available: string | null, minutes: number, o: StepOptions = {}): ProviderStatus {
  const provider = o.provider ?? 'kimi';
  const currency = o.currency ?? 'USD';
  const threshold = parseAmount(o.threshold ?? '5');
  const checkedAt = new Date(T0 + (o.checkedMin ?? minutes) * MINUTE);
  const staleAfterMs = provider === 'claude' ? 6 * HOUR : null;
  const asOf = o.undated ? null : o.stale ? new Date(checkedAt.getTime() - 7 * HOUR) : checkedAt;
  const base = { provider, ...accountDisplay(provider), threshold, staleAfterMs };
  if (available === null) {
    return {
      ...base,
      result: {
        ok: false,
        provider,
        currency,
        reason: 'HTTP 503 from api.moonshot.ai',
        checkedAt,
        latencyMs: 12,
      },
      state: 'failed',
      ageMs: null,
      stale: false,
    };
  }
  const amount = parseAmount(available);
  return {
    ...base,
    result: { ok: true, provider, currency, available: amount, asOf, checkedAt, latencyMs: 12 },
    state: amount.lt(threshold) ? 'low' : 'ok',
    ageMs: asOf === null ? null : checkedAt.getTime() - asOf.getTime(),
    stale: (o.stale ?? false) || asOf === null,
  };
}

/** Runs the engine over a script of steps, carrying the state, collecting every notification. */
class Script {
  state: AlertState | null = null;
  readonly sent: AlertNotification[] = [];
  /** Top-up notices, kept apart unless `withTopUps` (the level scenarios are about levels). */
  readonly topUps: AlertNotification[] = [];
  constructor(
    private readonly settings: AlertSettings = SETTINGS,
    private readonly withTopUps = false,
  ) {}

  step(
    available: string | null,
    minutes: number,
    o: StepOptions & { forecast?: Forecast } = {},
  ): AlertNotification[] {
    const { next, notifications } = evaluate(this.state, {
      status: status(available, minutes, o),
      ...(o.forecast ? { forecast: o.forecast } : {}),
      now: new Date(T0 + minutes * MINUTE),
      settings: this.settings,
    });
    // Every state must survive a round trip through the store (JSON) unchanged.
    this.state = JSON.parse(JSON.stringify(next)) as AlertState;
    expect(this.state).toEqual(next);
    const shown = notifications.filter((n) => this.withTopUps || n.kind !== 'topup');
    this.topUps.push(...notifications.filter((n) => n.kind === 'topup'));
    this.sent.push(...shown);
    return shown;
  }

  kinds(): string[] {
    return this.sent.map((n) => n.kind);
  }
}

/** An `ok` forecast that reaches the $5 threshold in `days`. */
function forecastIn(days: number, minutes: number): OkForecast {
  const now = T0 + minutes * MINUTE;
  return {
    status: 'ok',
    threshold: parseAmount('5'),
    basedOn: { observations: 20, days: 5, coverage: 1, fellBack: false },
    confidence: 'high',
    describe: `threshold in ${Math.floor(days)} d · $0 in ${Math.floor(days + 5)} d`,
    latest: { asOf: new Date(now), available: parseAmount('8') },
    spend: parseAmount('5'),
    ratePerDay: parseAmount('1'),
    topUps: [],
    belowThreshold: false,
    reachesThresholdAt: new Date(now + days * DAY),
    runsOutAt: new Date(now + (days + 5) * DAY),
    daysToZero: days + 5,
    daysToThreshold: days,
  };
}

describe('alert engine: the scripted balance scenario', () => {
  it('GIVEN 12 → 4.80 → 4.70 → 4.90 → 5.20 → 6.00 THEN exactly one low alert and one recovery, at 6.00', () => {
    const s = new Script();
    expect(s.step('12', 0)).toEqual([]);
    expect(s.state?.state).toBe('ok');

    const low = s.step('4.80', 5);
    expect(low.map((n) => n.kind)).toEqual(['low']);
    expect(alertText(low[0]!, 'discord')).toBe(
      '🌙 ⚠️ Kimi credits low! **$4.80** available (threshold: $5.00) · recovers at $5.50',
    );
    expect(s.state?.state).toBe('low');

    expect(s.step('4.70', 10)).toEqual([]);
    expect(s.step('4.90', 15)).toEqual([]);
    // 5.20 is above the threshold but inside the 10 % margin: no flapping.
    expect(s.step('5.20', 20)).toEqual([]);
    expect(s.state?.state).toBe('low');

    const recovered = s.step('6.00', 25);
    expect(recovered.map((n) => n.kind)).toEqual(['recovered']);
    expect(s.state?.state).toBe('ok');
    // The rises during the episode: 4.70 → 4.90 → 5.20 → 6.00.
    expect(recovered[0]!.topUp?.toFixed(2)).toBe('1.30');
    expect(alertText(recovered[0]!, 'discord')).toBe(
      '🌙 ✅ Kimi credits recovered: **$6.00** available (threshold: $5.00) · topped up +$1.30 · low for 20m',
    );
    expect(s.kinds()).toEqual(['low', 'recovered']);
  });

  it('GIVEN a balance hovering around the threshold THEN it alerts once and never flaps', () => {
    const s = new Script();
    const amounts = ['5.10', '4.99', '5.01', '4.98', '5.40', '5.00', '4.95', '5.49'];
    for (const [i, a] of amounts.entries()) s.step(a, i * 5);
    expect(s.kinds()).toEqual(['low']);
  });

  it('GIVEN exactly threshold × (1 + margin) THEN that counts as recovered', () => {
    const s = new Script();
    s.step('4', 0);
    expect(s.step('5.50', 5).map((n) => n.kind)).toEqual(['recovered']);
    expect(recoveryLevel(parseAmount('5'), 0.1).toFixed(2)).toBe('5.50');
  });

  it('GIVEN exactly the threshold THEN it is not low (low is strictly below)', () => {
    const s = new Script();
    expect(s.step('5.00', 0)).toEqual([]);
    expect(s.state?.state).toBe('ok');
  });
});

describe('alert engine: the first evaluation', () => {
  it('GIVEN no previous state AND a low balance THEN one low alert (a transition from unknown)', () => {
    const s = new Script();
    expect(s.step('3', 0).map((n) => n.kind)).toEqual(['low']);
    expect(s.step('3', 5)).toEqual([]);
  });

  it('GIVEN no previous state AND an ok balance THEN nothing is sent', () => {
    const s = new Script();
    expect(s.step('30', 0)).toEqual([]);
    expect(s.state).toMatchObject({ state: 'ok', balance: 'ok', seq: 1, version: 2 });
  });
});

describe('alert engine: failures', () => {
  it('GIVEN three failed checks THEN one failure alert; a fourth sends nothing; an answer sends "check recovered"', () => {
    const s = new Script();
    s.step('12', 0);
    expect(s.step(null, 5)).toEqual([]);
    expect(s.step(null, 10)).toEqual([]);
    const failing = s.step(null, 15);
    expect(failing.map((n) => n.kind)).toEqual(['failing']);
    expect(failing[0]).toMatchObject({ failures: 3, reason: 'HTTP 503 from api.moonshot.ai' });
    expect(failing[0]!.since?.toISOString()).toBe(new Date(T0 + 5 * MINUTE).toISOString());
    expect(alertText(failing[0]!, 'text')).toBe(
      '🌙 ❌ Kimi balance check failing: HTTP 503 from api.moonshot.ai · 3 failed checks in a row since ' +
        '2026-11-27 10:05 UTC · last known $12.00 · balance alerts are held until it answers',
    );
    expect(s.state?.state).toBe('failing');
    expect(s.step(null, 20)).toEqual([]);
    const back = s.step('11', 25);
    expect(back.map((n) => n.kind)).toEqual(['check-recovered']);
    expect(back[0]!.failures).toBe(4);
    expect(alertText(back[0]!, 'text')).toBe(
      '🌙 ✅ Kimi balance check recovered after 4 failed checks (20m): $11.00 available (threshold: $5.00)',
    );
    expect(s.state?.state).toBe('ok');
    expect(s.state?.consecutiveFailures).toBe(0);
  });

  it('GIVEN fewer failures than FAILURE_ALERT_AFTER THEN nothing is sent, and the count resets on an answer', () => {
    const s = new Script();
    s.step('12', 0);
    s.step(null, 5);
    s.step(null, 10);
    s.step('12', 15);
    s.step(null, 20);
    s.step(null, 25);
    expect(s.kinds()).toEqual([]);
    expect(s.state?.consecutiveFailures).toBe(2);
  });

  it('GIVEN a low balance THEN failed checks never count as recovery', () => {
    const s = new Script();
    s.step('4', 0);
    for (let i = 1; i <= 5; i++) s.step(null, i * 5);
    expect(s.state?.balance).toBe('low');
    expect(s.step('4.10', 30).map((n) => n.kind)).toEqual(['check-recovered']);
    expect(s.state?.state).toBe('low');
    expect(s.kinds()).toEqual(['low', 'failing', 'check-recovered']);
  });

  it('GIVEN a provider failing WHEN its balance falls below the threshold meanwhile THEN the low alert waits for an answer', () => {
    const s = new Script();
    s.step('12', 0);
    s.step(null, 5);
    s.step(null, 10);
    s.step(null, 15);
    expect(s.kinds()).toEqual(['failing']);
    expect(s.step('4', 20).map((n) => n.kind)).toEqual(['check-recovered', 'low']);
  });

  it('GIVEN low AND failing WHEN the reminder interval passes THEN no reminder until the provider answers', () => {
    const s = new Script(SETTINGS);
    s.step('4', 0);
    s.step(null, 10);
    s.step(null, 20);
    s.step(null, 30);
    s.step(null, 25 * 60);
    expect(s.kinds()).toEqual(['low', 'failing']);
    expect(s.step('4', 25 * 60 + 5).map((n) => n.kind)).toEqual(['check-recovered', 'reminder']);
  });

  it('GIVEN the very first checks fail THEN the failure alert says no balance is known', () => {
    const s = new Script();
    s.step(null, 0);
    s.step(null, 5);
    const [n] = s.step(null, 10);
    expect(n?.available).toBeNull();
    expect(s.state?.state).toBe('failing');
    expect(alertText(n!, 'text')).toContain('no balance known yet');
  });
});

describe('alert engine: reminders', () => {
  it('GIVEN a balance still low THEN a reminder every ALERT_REPEAT after the last alert, not before', () => {
    const s = new Script({ ...SETTINGS, repeatMs: 30 * MINUTE });
    s.step('4', 0);
    expect(s.step('3.9', 25)).toEqual([]);
    const reminder = s.step('3.8', 30);
    expect(reminder.map((n) => n.kind)).toEqual(['reminder']);
    expect(alertText(reminder[0]!, 'text')).toBe(
      '🌙 ⏰ Kimi credits still low: $3.80 available (threshold: $5.00) · low since 2026-11-27 10:00 UTC (30m) · ' +
        'recovers at $5.50',
    );
    // In Discord the moment is its timestamp markup: each reader sees it in their own time zone.
    expect(alertText(reminder[0]!, 'discord')).toBe(
      `🌙 ⏰ Kimi credits still low: **$3.80** available (threshold: $5.00) · low since <t:${T0 / 1000}:f> (30m) · ` +
        'recovers at $5.50',
    );
    expect(s.step('3.7', 45)).toEqual([]);
    expect(s.step('3.6', 60).map((n) => n.kind)).toEqual(['reminder']);
    expect(s.state?.reminders).toBe(2);
  });
});

describe('alert engine: runway warnings', () => {
  it('GIVEN the forecast reaches the threshold within RUNWAY_ALERT_DAYS THEN one warning per episode', () => {
    const s = new Script();
    expect(s.step('9', 0, { forecast: forecastIn(4, 0) })).toEqual([]);
    const warned = s.step('8', 5, { forecast: forecastIn(2.5, 5) });
    expect(warned.map((n) => n.kind)).toEqual(['runway']);
    // 2.5 days to the threshold and 7.5 to $0, rounded down by the one unit rule.
    expect(alertText(warned[0]!, 'text')).toBe(
      '🌙 📉 Kimi credits running down: $8.00 available (threshold: $5.00) · $1.00/day · ' +
        'threshold in 2 d (~2026-11-29 22:05 UTC) · $0 in 7 d (~2026-12-04 22:05 UTC)',
    );
    expect(alertSubject(warned[0]!)).toBe(
      '[creditwatch] Kimi credits running down: threshold in 2 d · $0 in 7 d',
    );
    expect(s.step('7.9', 10, { forecast: forecastIn(2.4, 10) })).toEqual([]);
    expect(s.step('7.8', 15, { forecast: forecastIn(3.5, 15) })).toEqual([]);
    // Back inside the window after wobbling just outside it: still the same episode.
    expect(s.step('7.7', 20, { forecast: forecastIn(2.9, 20) })).toEqual([]);
    expect(s.kinds()).toEqual(['runway']);
  });

  it('GIVEN a warned episode WHEN a top-up moves the forecast far out THEN a later approach warns again', () => {
    const s = new Script();
    s.step('8', 0, { forecast: forecastIn(2, 0) });
    s.step('40', 5, { forecast: forecastIn(30, 5) });
    expect(s.step('8', 10, { forecast: forecastIn(2, 10) }).map((n) => n.kind)).toEqual(['runway']);
  });

  it('GIVEN a recovery from low THEN the runway warning is armed again', () => {
    const s = new Script();
    s.step('8', 0, { forecast: forecastIn(2, 0) });
    s.step('4', 5);
    const sent = s.step('6', 10, { forecast: forecastIn(1, 10) });
    expect(sent.map((n) => n.kind)).toEqual(['recovered', 'runway']);
  });

  it('GIVEN RUNWAY_ALERT_DAYS=0 or too little history THEN no runway warning', () => {
    const off = new Script({ ...SETTINGS, runwayDays: 0 });
    off.step('8', 0, { forecast: forecastIn(0.5, 0) });
    expect(off.kinds()).toEqual([]);
    const thin = new Script();
    thin.step('8', 0, {
      forecast: {
        status: 'insufficient',
        reason: 'no successful readings yet',
        threshold: parseAmount('5'),
        basedOn: { observations: 0, days: 0, coverage: 0, fellBack: false },
        confidence: 'low',
        describe: 'not enough history',
        latest: null,
      },
    });
    expect(thin.kinds()).toEqual([]);
  });
});

describe('issue 10: the alert and the summary use the same runway words', () => {
  /** Hourly readings ending at T0 with `end` left, falling `perDay`. */
  function history(end: string, perDay: string, hours: number): HistoryPoint[] {
    return Array.from({ length: hours + 1 }, (_, i) => {
      const asOf = new Date(T0 - (hours - i) * HOUR);
      const available = parseAmount(end).plus(
        parseAmount(perDay)
          .times(hours - i)
          .div(24),
      );
      return { checkedAt: asOf, asOf, available };
    });
  }

  it('GIVEN $7.50 falling $2.40/day THEN the summary clause and the alert both say threshold in 25 h · $0 in 3 d', () => {
    const forecast = computeForecast({
      points: history('7.5', '2.40', 84),
      threshold: parseAmount('5'),
      currency: 'USD',
      now: new Date(T0),
    });
    const s = new Script();
    const [warning] = s.step('7.50', 0, { forecast });

    expect(forecast.describe).toBe('threshold in 25 h · $0 in 3 d');
    expect(warning?.kind).toBe('runway');
    expect(alertText(warning!, 'text')).toBe(
      '🌙 📉 Kimi credits running down: $7.50 available (threshold: $5.00) · $2.40/day · ' +
        'threshold in 25 h (~2026-11-28 11:00 UTC) · $0 in 3 d (~2026-11-30 13:00 UTC)',
    );
    const unix = (iso: string) => Date.parse(iso) / 1000;
    expect(alertText(warning!, 'discord')).toBe(
      '🌙 📉 Kimi credits running down: **$7.50** available (threshold: $5.00) · $2.40/day · ' +
        `threshold in 25 h (~<t:${unix('2026-11-28T11:00:00Z')}:f>) · $0 in 3 d (~<t:${unix('2026-11-30T13:00:00Z')}:f>)`,
    );
    expect(alertSubject(warning!)).toBe(`[creditwatch] Kimi credits running down: ${forecast.describe}`);
    expect(alertPayload(warning!).runway).toEqual({
      reachesAt: '2026-11-28T11:00:00.000Z',
      days: 1.04,
      zeroAt: '2026-11-30T13:00:00.000Z',
      zeroDays: 3.13,
      ratePerDay: '2.4',
      confidence: 'high',
    });
  });

  it('GIVEN a runway from 2 readings THEN the alert says low confidence in words, as the summary does', () => {
    const points = history('7.5', '2.40', 5).filter((_, i, all) => i === 0 || i === all.length - 1);
    const forecast = computeForecast({
      points,
      threshold: parseAmount('5'),
      currency: 'USD',
      now: new Date(T0),
    });
    const [warning] = new Script().step('7.50', 0, { forecast });

    expect(forecast.describe).toBe('threshold in 25 h · $0 in 3 d (low confidence: 2 readings over 5 h)');
    expect(alertText(warning!, 'text')).toMatch(
      / · \$0 in 3 d \(~[^)]+\) \(low confidence: 2 readings over 5 h\)$/,
    );
    expect(alertSubject(warning!)).toBe(`[creditwatch] Kimi credits running down: ${forecast.describe}`);
  });

  it('GIVEN checks failing from 20:59:30 THEN the alert says failing since 20:59, never 21:00', () => {
    const s = new Script();
    const first = 10 * 60 + 59.5; // minutes after T0 (10:00): 20:59:30
    s.step('12', 0);
    s.step(null, first);
    s.step(null, first + 5);
    const [failing] = s.step(null, first + 10);

    expect(failing?.kind).toBe('failing');
    expect(alertText(failing!, 'text')).toContain('3 failed checks in a row since 2026-11-27 20:59 UTC');
  });
});

describe('alert engine: top-ups, currencies, staleness and re-judging', () => {
  it('GIVEN a recovery without any rise (threshold lowered) THEN it does not claim a top-up', () => {
    const s = new Script();
    s.step('4', 0);
    const [n] = s.step('4', 5, { threshold: '3' });
    expect(n?.kind).toBe('recovered');
    expect(n?.topUp).toBeUndefined();
    expect(alertText(n!, 'text')).toContain('back above $3.30');
  });

  it('GIVEN a CNY account THEN every amount is in yuan', () => {
    const s = new Script();
    const [low] = s.step('4.5', 0, { currency: 'CNY' });
    expect(alertText(low!, 'discord')).toBe(
      '🌙 ⚠️ Kimi credits low! **¥4.50** available (threshold: ¥5.00) · recovers at ¥5.50',
    );
    expect(alertSubject(low!)).toBe('[creditwatch] Kimi credits low: ¥4.50 (threshold ¥5.00)');
    const [up] = s.step('20', 5, { currency: 'CNY' });
    expect(alertText(up!, 'text')).toContain('topped up +¥15.50');
  });

  it('GIVEN a stale Claude reading THEN it is still judged by amount, and the stale notice goes out once per episode', () => {
    const s = new Script();
    const first = s.step('8.07', 0, { provider: 'claude', stale: true });
    expect(first.map((n) => n.kind)).toEqual(['stale']);
    expect(alertText(first[0]!, 'discord')).toBe(
      `💳 ⏳ Claude balance reading is stale: 7h old (<t:${T0 / 1000 - 7 * 3600}:f>) (stale after 6h) · alerts judge its last figure, $8.07`,
    );
    expect(s.state?.state).toBe('stale');
    expect(s.step('8.07', 5, { provider: 'claude', stale: true })).toEqual([]);
    const low = s.step('4', 10, { provider: 'claude', stale: true });
    expect(low.map((n) => n.kind)).toEqual(['low']);
    expect(alertText(low[0]!, 'discord')).toBe(
      '💳 ⚠️ Claude credits low! **$4.00** (threshold: $5.00) · recovers at $5.50',
    );
    expect(s.state?.state).toBe('low');
    s.step('6', 15, { provider: 'claude' });
    expect(s.state?.state).toBe('ok');
    expect(s.step('6', 20, { provider: 'claude', stale: true }).map((n) => n.kind)).toEqual(['stale']);
  });

  it('GIVEN a Claude reading of unknown age THEN the stale notice says so, stale-since is the check that saw it, and no age or 1970 date appears', () => {
    const s = new Script();
    const first = s.step('8.07', 0, { provider: 'claude', undated: true });
    expect(first.map((n) => n.kind)).toEqual(['stale']);
    const note = first[0]!;
    expect(note.ageMs).toBeNull();
    expect(alertText(note, 'discord')).toBe(
      '💳 ⏳ Claude balance reading has no updated_at: age unknown, treated as stale · alerts judge its last figure, $8.07',
    );
    expect(alertSubject(note)).toBe('[creditwatch] Claude balance reading is stale');
    expect(alertPayload(note)).toMatchObject({
      kind: 'stale',
      ageMs: null,
      since: new Date(T0).toISOString(),
    });
    expect(s.state).toMatchObject({
      state: 'stale',
      staleSince: new Date(T0).toISOString(),
      lastBalanceAt: null,
    });
    // Fresh again, then undated again: a new episode that starts at the check that saw it.
    s.step('8.07', 5, { provider: 'claude' });
    expect(s.state?.staleSince).toBeNull();
    expect(s.step('8.07', 30, { provider: 'claude', undated: true }).map((n) => n.kind)).toEqual(['stale']);
    expect(s.state?.staleSince).toBe(new Date(T0 + 30 * MINUTE).toISOString());
  });

  it('GIVEN a dated stale reading THEN stale-since is its asOf plus the limit', () => {
    const s = new Script();
    s.step('8.07', 0, { provider: 'claude', stale: true });
    // asOf = T0 − 7 h, limit 6 h: stale since T0 − 1 h.
    expect(s.state?.staleSince).toBe(new Date(T0 - HOUR).toISOString());
  });

  it('GIVEN the same check re-judged (after /threshold) THEN failures are not counted twice', () => {
    const s = new Script();
    s.step('12', 0);
    s.step(null, 5);
    s.step(null, 10);
    // The threshold changes; the last (failed) result is judged again, with no new check.
    s.step(null, 12, { checkedMin: 10 });
    s.step(null, 13, { checkedMin: 10 });
    expect(s.state?.consecutiveFailures).toBe(2);
    expect(s.kinds()).toEqual([]);
  });

  it('GIVEN the same ok check re-judged against a raised threshold THEN the low alert goes out at once', () => {
    const s = new Script();
    s.step('8', 0);
    expect(s.step('8', 2, { checkedMin: 0, threshold: '10' }).map((n) => n.kind)).toEqual(['low']);
    // Re-judging it again changes nothing, and a re-judgement never counts as a top-up.
    expect(s.step('8', 3, { checkedMin: 0, threshold: '10' })).toEqual([]);
    const [n] = s.step('8', 4, { checkedMin: 0, threshold: '7' });
    expect(n?.kind).toBe('recovered');
    expect(n?.topUp).toBeUndefined();
  });
});

describe('alert messages and state lines', () => {
  it('GIVEN a low alert THEN the e-mail subject and webhook payload carry the facts', () => {
    const s = new Script();
    const [low] = s.step('4.80', 0);
    expect(alertSubject(low!)).toBe('[creditwatch] Kimi credits low: $4.80 (threshold $5.00)');
    expect(alertPayload(low!)).toEqual({
      text: '🌙 ⚠️ Kimi credits low! $4.80 available (threshold: $5.00) · recovers at $5.50',
      source: 'creditwatch',
      kind: 'low',
      provider: 'kimi',
      label: 'Kimi',
      currency: 'USD',
      available: '4.8',
      threshold: '5',
      critical: '2.5',
      severity: 'normal',
      episode: 1,
      recoverAt: '5.5',
      at: '2026-11-27T10:00:00.000Z',
    });
  });

  it('GIVEN stored states THEN /balance shows the state and since when', () => {
    const s = new Script();
    s.step('4', 0);
    expect(describeAlertState(s.state!, { repeatMs: DAY }, 'text')).toBe(
      'alert state: low since 2026-11-27 10:00 UTC (reminder every 24h)',
    );
    expect(describeAlertState(s.state!, { repeatMs: DAY })).toBe(
      `alert state: low since <t:${T0 / 1000}:f> (reminder every 24h)`,
    );
    s.step(null, 5);
    expect(describeAlertState(s.state!, { repeatMs: DAY }, 'text')).toBe(
      'alert state: low since 2026-11-27 10:00 UTC (reminder every 24h) · 1 failed check in a row',
    );
    s.step(null, 10);
    s.step(null, 15);
    expect(describeAlertState(s.state!, { repeatMs: DAY }, 'text')).toBe(
      'alert state: check failing since 2026-11-27 10:05 UTC (3 failed checks in a row; balance alerts held)',
    );
    s.step('9', 20);
    expect(describeAlertState(s.state!, { repeatMs: DAY }, 'text')).toBe(
      'alert state: ok since 2026-11-27 10:20 UTC',
    );
  });
});
