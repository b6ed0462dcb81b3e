import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import {
  alertButtonId,
  alertButtonRows,
  hasButtons,
  parseAlertButtonId,
} from '../../src/core/alerts/buttons.js';
import {
  type AlertNotification,
  type AlertSettings,
  type AlertState,
  evaluate,
  isCritical,
} from '../../src/core/alerts/engine.js';
import { alertPayload, alertSubject, alertText, pings } from '../../src/core/alerts/messages.js';
import type { OkForecast } from '../../src/core/forecast.js';
import { DISCORD_CONTENT_LIMIT } from '../../src/core/format.js';
import { parseAmount } from '../../src/core/money.js';
import type { ProviderStatus } from '../../src/core/service.js';
import type { ProviderId } from '../../src/core/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const SETTINGS: AlertSettings = { recoveryMargin: 0.1, failureAfter: 3, repeatMs: DAY, runwayDays: 3 };

function status(available: string, minutes: number, critical?: string): ProviderStatus {
  const checkedAt = new Date(T0 + minutes * MINUTE);
  const threshold = parseAmount('5');
  const amount = parseAmount(available);
  return {
    provider: 'kimi',
    ...accountDisplay('kimi'),
    result: {
      ok: true,
      provider: 'kimi',
      currency: 'USD',
      available: amount,
      asOf: checkedAt,
      checkedAt,
      latencyMs: 1,
    },
    threshold,
    ...(critical === undefined ? {} : { critical: parseAmount(critical) }),
    state: amount.lt(threshold) ? 'low' : 'ok',
    ageMs: 0,
    stale: false,
    staleAfterMs: null,
  };
}

/** A forecast that reaches $0 in `zeroDays` from a reading at `minutes`. */
function forecast(zeroDays: number, minutes: number, available: string): OkForecast {
  const now = T0 + minutes * MINUTE;
  const rate = parseAmount(available).div(zeroDays);
  const thresholdDays = Math.max(0, (Number(available) - 5) / Number(rate));
  return {
    status: 'ok',
    threshold: parseAmount('5'),
    basedOn: { observations: 20, days: 5, coverage: 1, fellBack: false },
    confidence: 'high',
    describe: 'x',
    latest: { asOf: new Date(now), available: parseAmount(available) },
    spend: parseAmount('10'),
    ratePerDay: rate,
    topUps: [],
    belowThreshold: Number(available) < 5,
    reachesThresholdAt: Number(available) < 5 ? null : new Date(now + thresholdDays * DAY),
    runsOutAt: new Date(now + zeroDays * DAY),
    daysToZero: zeroDays,
    daysToThreshold: thresholdDays,
  };
}

class Run {
  state: AlertState | null = null;
  readonly held: AlertNotification[] = [];
  step(available: string, minutes: number, o: { critical?: string; forecast?: OkForecast } = {}) {
    const { next, notifications, snoozed } = evaluate(this.state, {
      status: status(available, minutes, o.critical),
      ...(o.forecast ? { forecast: o.forecast } : {}),
      now: new Date(T0 + minutes * MINUTE),
      settings: SETTINGS,
    });
    this.state = JSON.parse(JSON.stringify(next)) as AlertState;
    this.held.push(...snoozed);
    return notifications;
  }
  kinds(available: string, minutes: number, o: { critical?: string; forecast?: OkForecast } = {}) {
    return this.step(available, minutes, o).map((n) => n.kind);
  }
}

describe('alert engine: two levels (low and critical), each once per crossing', () => {
  it('GIVEN 12 → 4 → 2 → 2.6 → 2.8 → 2 → 5.6 THEN low, critical, (re-armed silently at 2.75), critical again, recovered', () => {
    const r = new Run();
    expect(r.kinds('12', 0)).toEqual([]);
    const [low] = r.step('4', 5);
    expect(low?.kind).toBe('low');
    expect(pings(low!)).toBe(false);
    const [critical] = r.step('2', 10);
    expect(critical).toMatchObject({ kind: 'critical', cause: 'level' });
    expect(critical?.critical.toFixed(2)).toBe('2.50');
    expect(pings(critical!)).toBe(true);
    expect(alertText(critical!, 'discord')).toBe(
      '🌙 🚨 Kimi credits critically low! **$2.00** available (critical: $2.50, threshold: $5.00) · recovers at $5.50',
    );
    expect(alertSubject(critical!)).toBe(
      '[creditwatch] Kimi credits critically low: $2.00 (threshold $5.00)',
    );
    expect(alertPayload(critical!)).toMatchObject({
      kind: 'critical',
      severity: 'critical',
      critical: '2.5',
    });
    expect(r.state).toMatchObject({ state: 'critical', balance: 'critical' });
    // Above the critical level but inside its margin (2.75): still critical, nothing said.
    expect(r.kinds('2.6', 15)).toEqual(['topup']);
    expect(r.state?.balance).toBe('critical');
    // At 2.75 the critical alert is armed again; the balance is still low, so nothing is said.
    expect(r.kinds('2.8', 20)).toEqual(['topup']);
    expect(r.state).toMatchObject({ state: 'low', balance: 'low' });
    expect(r.kinds('2', 25)).toEqual(['critical']);
    const recovered = r.step('5.6', 30);
    expect(recovered.map((n) => n.kind)).toEqual(['recovered', 'topup']);
    expect(recovered.some(pings)).toBe(false);
    expect(r.state).toMatchObject({ state: 'ok', balance: 'ok', episodeKind: null });
  });

  it('GIVEN a first check already below the critical level THEN one critical alert (not a low one as well)', () => {
    const r = new Run();
    expect(r.kinds('1', 0)).toEqual(['critical']);
    expect(r.state?.state).toBe('critical');
  });

  it('GIVEN an ok balance falling straight below the critical level THEN one critical alert; a reminder while critical pings too', () => {
    const r = new Run();
    r.step('8', 0);
    expect(r.kinds('2', 5)).toEqual(['critical']);
    const [reminder] = r.step('1.9', 5 + 24 * 60);
    expect(reminder).toMatchObject({ kind: 'reminder', level: 'critical' });
    expect(isCritical(reminder!)).toBe(true);
    expect(alertText(reminder!, 'text')).toMatch(
      /^🌙 ⏰ Kimi credits still critically low: \$1\.90 available/,
    );
  });

  it('GIVEN a critical level set per account THEN it is used; one above the threshold is held at the threshold', () => {
    const r = new Run();
    expect(r.kinds('4', 0, { critical: '4.5' })).toEqual(['critical']);
    expect(r.state?.critical).toBe('4.5');
    const s = new Run();
    expect(s.kinds('4.9', 0, { critical: '9' })).toEqual(['critical']);
    expect(s.state?.critical).toBe('5');
  });
});

describe('alert engine: running out within 24 h is critical', () => {
  it('GIVEN an ok balance whose forecast reaches $0 in 20 h THEN one critical alert (no runway warning too), re-armed past 48 h', () => {
    const r = new Run();
    const first = r.step('9', 0, { forecast: forecast(20 / 24, 0, '9') });
    expect(first.map((n) => n.kind)).toEqual(['critical']);
    expect(first[0]).toMatchObject({ cause: 'runs-out' });
    expect(pings(first[0]!)).toBe(true);
    const unix = Math.floor((T0 + 20 * HOUR) / 1000);
    expect(alertText(first[0]!, 'discord')).toBe(
      `🌙 🚨 Kimi credits run out within 24 h: **$9.00** available (threshold: $5.00) · $10.80/day · $0 in 20 h (~<t:${unix}:f>)`,
    );
    expect(r.kinds('8.9', 5, { forecast: forecast(0.8, 5, '8.9') })).toEqual([]);
    // A top-up pushes it past 48 h: armed again, and the next fall alerts again.
    expect(r.kinds('30', 10, { forecast: forecast(5, 10, '30') })).toEqual(['topup']);
    expect(r.state?.zeroWarned).toBe(false);
    expect(r.kinds('29', 15, { forecast: forecast(0.5, 15, '29') })).toEqual(['critical']);
  });

  it('GIVEN a low balance running out within 24 h THEN critical too', () => {
    const r = new Run();
    expect(r.kinds('4', 0)).toEqual(['low']);
    expect(r.kinds('3.9', 5, { forecast: forecast(0.5, 5, '3.9') })).toEqual(['critical']);
  });
});

describe('alert engine: top-up notices, acknowledgements and snoozes', () => {
  it('GIVEN a rise between two readings THEN one top-up notice "💰 Kimi topped up +$20.00 (now $36.00)"; the same reading again says nothing', () => {
    const r = new Run();
    r.step('16', 0);
    const [topUp] = r.step('36', 5);
    expect(topUp?.kind).toBe('topup');
    expect(alertText(topUp!, 'discord')).toBe('💰 Kimi topped up +$20.00 (now $36.00)');
    expect(alertSubject(topUp!)).toBe('[creditwatch] Kimi topped up +$20.00 (now $36.00)');
    expect(pings(topUp!)).toBe(false);
    expect(r.kinds('36', 10)).toEqual([]);
    expect(r.kinds('35', 15)).toEqual([]);
  });

  it('GIVEN an acknowledged low episode THEN no reminders for it; a new episode is not acknowledged', () => {
    const r = new Run();
    r.step('4', 0);
    r.state = { ...r.state!, acknowledgedBy: 'ana (1)', acknowledgedAt: new Date(T0 + MINUTE).toISOString() };
    expect(r.kinds('4', 24 * 60)).toEqual([]);
    expect(r.kinds('4', 48 * 60)).toEqual([]);
    expect(r.kinds('2', 49 * 60)).toEqual(['critical']);
    expect(r.state).toMatchObject({ acknowledgedBy: null, acknowledgedAt: null, episodeKind: 'critical' });
  });

  it('GIVEN a snoozed account THEN low alerts, reminders and top-ups are held, critical ones go out, and it ends by itself', () => {
    const r = new Run();
    r.step('8', 0);
    r.state = {
      ...r.state!,
      snoozedUntil: new Date(T0 + DAY).toISOString(),
      snoozedBy: 'ops (2)',
    };
    expect(r.kinds('4', 5)).toEqual([]);
    expect(r.held.map((n) => n.kind)).toEqual(['low']);
    // The state still moved: the episode is open, only the message was held.
    expect(r.state).toMatchObject({ balance: 'low', episodeKind: 'low' });
    expect(r.kinds('2', 10)).toEqual(['critical']);
    // After 24 h the snooze is over: the reminder goes out again.
    expect(r.kinds('2.1', 10 + 24 * 60)).toEqual(['reminder', 'topup']);
    expect(r.state).toMatchObject({ snoozedUntil: null, snoozedBy: null });
  });

  it('GIVEN every kind of notification THEN each message fits Discord’s 2,000 characters', () => {
    const r = new Run();
    const all = [
      ...r.step('16', 0),
      ...r.step('4', 5),
      ...r.step('2', 10),
      ...r.step('36', 15),
      ...r.step('35', 20, { forecast: forecast(0.5, 20, '35') }),
    ];
    expect(new Set(all.map((n) => n.kind))).toEqual(new Set(['low', 'critical', 'recovered', 'topup']));
    for (const n of all) expect(alertText(n, 'discord').length).toBeLessThan(DISCORD_CONTENT_LIMIT);
  });
});

describe('alert button ids', () => {
  it('GIVEN ids creditwatch makes THEN they parse back; crafted ones are refused', () => {
    const enabled = ['kimi', 'kimi:cn'] as ProviderId[];
    for (const action of ['ack', 'snooze', 'refresh'] as const) {
      const id = alertButtonId(action, 'kimi:cn', 12);
      expect(id.length).toBeLessThanOrEqual(100);
      expect(parseAlertButtonId(id, enabled)).toEqual({ action, provider: 'kimi:cn', episode: 12 });
    }
    for (const crafted of [
      'alert|ack|claude|1',
      'alert|ack|kimi|-1',
      'alert|ack|kimi|01',
      'alert|ack|kimi|1.5',
      'alert|nuke|kimi|1',
      'alert|ack|kimi|1|x',
      'alert|ack|__proto__|1',
      `alert|ack|kimi|${'1'.repeat(12)}`,
      `alert|ack|kimi|1${' '.repeat(100)}`,
      '',
    ]) {
      expect(parseAlertButtonId(crafted, enabled)).toBeNull();
    }
  });

  it('GIVEN alerts of each kind THEN those of an episode carry one row of three buttons, the others none', () => {
    expect(hasButtons({ kind: 'low' })).toBe(true);
    expect(hasButtons({ kind: 'critical' })).toBe(true);
    expect(hasButtons({ kind: 'reminder' })).toBe(true);
    expect(hasButtons({ kind: 'topup' })).toBe(false);
    expect(hasButtons({ kind: 'recovered' })).toBe(false);
    const [row] = alertButtonRows('kimi', 3, { acknowledged: true }) as {
      type: number;
      components: { label: string; disabled?: boolean }[];
    }[];
    expect(row?.type).toBe(1);
    expect(row?.components.map((b) => [b.label, b.disabled ?? false])).toEqual([
      ['Acknowledge', true],
      ['Snooze 24h', false],
      ['Refresh', false],
    ]);
  });
});
