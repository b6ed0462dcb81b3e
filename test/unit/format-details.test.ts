import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import {
  describeSchedule,
  formatDuration,
  formatKimiCheck,
  formatSummary,
  providerLine,
  staleNote,
  summaryToJson,
  totalsLine,
} from '../../src/core/format.js';
import { parseAmount } from '../../src/core/money.js';
import type { ProviderStatus, Summary } from '../../src/core/service.js';
import type { ProviderId } from '../../src/core/types.js';

const NOW = new Date('2026-11-28T10:00:00Z');
const HOUR = 3_600_000;

function ok(
  provider: ProviderId,
  available: string,
  opts: {
    threshold?: string;
    ageMs?: number | null;
    staleAfterMs?: number | null;
    stale?: boolean;
    voucher?: string;
    cash?: string;
    latencyMs?: number;
  } = {},
): ProviderStatus {
  const threshold = parseAmount(opts.threshold ?? '5');
  const amount = parseAmount(available);
  const ageMs = opts.ageMs === undefined ? 0 : opts.ageMs;
  return {
    provider,
    ...accountDisplay(provider),
    result: {
      ok: true,
      provider,
      currency: 'USD',
      available: amount,
      ...(opts.voucher ? { voucher: parseAmount(opts.voucher) } : {}),
      ...(opts.cash ? { cash: parseAmount(opts.cash) } : {}),
      asOf: ageMs === null ? null : new Date(NOW.getTime() - ageMs),
      checkedAt: NOW,
      latencyMs: opts.latencyMs ?? 5,
    },
    threshold,
    state: amount.lt(threshold) ? 'low' : 'ok',
    ageMs,
    stale: opts.stale ?? false,
    staleAfterMs: opts.staleAfterMs ?? null,
  };
}

function failed(provider: ProviderId, reason: string): ProviderStatus {
  return {
    provider,
    ...accountDisplay(provider),
    result: { ok: false, provider, currency: 'USD', reason, checkedAt: NOW, latencyMs: 12.6 },
    threshold: parseAmount('5'),
    state: 'failed',
    ageMs: null,
    stale: false,
    staleAfterMs: null,
  };
}

const summaryOf = (...statuses: ProviderStatus[]): Summary => ({
  checkedAt: NOW,
  statuses,
  anyLow: statuses.some((s) => s.state === 'low'),
  anyFailed: statuses.some((s) => s.state === 'failed'),
});

describe('summaryToJson (check --json)', () => {
  it('GIVEN an ok reading 2.5 h old THEN ageSeconds is its age in seconds, with every documented field', () => {
    const json = summaryToJson(
      summaryOf(ok('claude', '8.07', { ageMs: 2.5 * HOUR + 499, staleAfterMs: 6 * HOUR, latencyMs: 41.5 })),
    );
    expect(json).toEqual({
      checkedAt: '2026-11-28T10:00:00.000Z',
      anyLow: false,
      anyFailed: false,
      providers: [
        {
          id: 'claude',
          provider: 'claude',
          label: 'Claude',
          state: 'ok',
          currency: 'USD',
          threshold: '5.00',
          available: '8.07',
          asOf: new Date(NOW.getTime() - 2.5 * HOUR - 499).toISOString(),
          ageSeconds: 9000,
          stale: false,
          latencyMs: 42,
        },
      ],
    });
  });

  it('GIVEN an unknown age, a stale flag, a failure and extras THEN each shows as documented', () => {
    const json = summaryToJson(
      summaryOf(ok('claude', '1', { ageMs: null, stale: true }), failed('kimi', 'HTTP 401')),
      { claude: { describe: 'below threshold' } },
    ) as { anyLow: boolean; anyFailed: boolean; providers: Record<string, unknown>[] };
    expect(json.anyLow).toBe(true);
    expect(json.anyFailed).toBe(true);
    expect(json.providers[0]).toMatchObject({
      state: 'low',
      ageSeconds: null,
      stale: true,
      describe: 'below threshold',
    });
    expect(json.providers[1]).toEqual({
      id: 'kimi',
      provider: 'kimi',
      label: 'Kimi',
      state: 'failed',
      currency: 'USD',
      threshold: '5.00',
      reason: 'HTTP 401',
      latencyMs: 13,
    });
  });

  it('GIVEN an account THEN its entry has the account id, its provider and label, note and details', () => {
    const base = ok('deepseek:cn', '110.07');
    const reading = {
      ...(base.result as Extract<typeof base.result, { ok: true }>),
      note: 'key limit',
      details: { creditLimit: parseAmount('23.45') },
    };
    const json = summaryToJson(summaryOf({ ...base, result: reading })) as {
      providers: Record<string, unknown>[];
    };
    expect(json.providers[0]).toMatchObject({
      id: 'deepseek:cn',
      provider: 'deepseek',
      label: 'DeepSeek (cn)',
      available: '110.07',
      note: 'key limit',
      details: { creditLimit: '23.45' },
    });
  });

  it('GIVEN a Kimi reading without voucher and cash THEN those keys are absent, not null', () => {
    const json = summaryToJson(summaryOf(ok('kimi', '12.3'))) as { providers: Record<string, unknown>[] };
    expect(Object.keys(json.providers[0] ?? {})).not.toContain('voucher');
    expect(Object.keys(json.providers[0] ?? {})).not.toContain('cash');
  });
});

describe('summary lines and notes', () => {
  it('GIVEN a stale reading THEN the note names its age, and the limit only when there is one', () => {
    expect(
      staleNote(ok('claude', '8', { ageMs: 7 * HOUR + 12 * 60_000, stale: true, staleAfterMs: 6 * HOUR })),
    ).toBe('⏳ Claude reading is 7h 12m old (stale after 6h)');
    expect(staleNote(ok('claude', '8', { ageMs: 7 * HOUR, stale: true, staleAfterMs: null }))).toBe(
      '⏳ Claude reading is 7h old',
    );
    expect(
      staleNote(ok('claude', '8', { ageMs: 7 * HOUR, stale: false, staleAfterMs: 6 * HOUR })),
    ).toBeNull();
    expect(staleNote(ok('claude', '8', { ageMs: null, stale: true, staleAfterMs: 6 * HOUR }))).toBe(
      '⏳ Claude reading has no updated_at (age unknown; treated as stale)',
    );
    expect(staleNote(failed('claude', 'down'))).toBeNull();
  });

  it('GIVEN ok, low and failed providers THEN each line has its emoji, figure, threshold and clause', () => {
    expect(providerLine(ok('kimi', '12.34'), 'threshold in 3 d')).toBe(
      '🌙 **Kimi:** $12.34 available (threshold: $5.00) · threshold in 3 d',
    );
    expect(providerLine(ok('claude', '4.99'))).toBe('⚠️ **Claude:** $4.99 (threshold: $5.00)');
    expect(providerLine(ok('claude', '5'), '')).toBe('💳 **Claude:** $5.00 (threshold: $5.00)');
    expect(providerLine(failed('kimi', 'timeout'), 'ignored')).toBe(
      '❌ **Kimi:** unavailable: timeout (threshold: $5.00)',
    );
  });

  it('GIVEN no footer THEN the summary ends after the provider lines', () => {
    expect(formatSummary(summaryOf(ok('claude', '8.07')), null)).toBe(
      '📊 **API Balance Summary**\n\n💳 **Claude:** $8.07 (threshold: $5.00)',
    );
  });

  it('GIVEN one provider, or three with one threshold THEN the footer rule says it in words', () => {
    const footer = { schedule: 'S', channelId: '1' };
    expect(
      formatSummary(summaryOf(ok('kimi', '9')), footer)
        .split('\n')
        .at(-1),
    ).toBe('Adds an alert if it is < $5.00');
    const three = summaryOf(ok('claude', '9'), ok('kimi', '9'), ok('kimi', '8'));
    expect(formatSummary(three, footer).split('\n').slice(-3)).toEqual([
      'Adds alerts if any < $5.00',
      '',
      'Total: $26.00 across 3 accounts',
    ]);
  });

  it('GIVEN accounts in two currencies, one failing THEN the total is one sum per currency, never added across', () => {
    const cny = (id: ProviderId, amount: string): ProviderStatus => {
      const s = ok(id, amount);
      return { ...s, result: { ...s.result, currency: 'CNY' } as ProviderStatus['result'] };
    };
    const text = formatSummary(
      summaryOf(
        ok('claude', '100.40'),
        cny('kimi', '88'),
        ok('deepseek', '23.05'),
        failed('stepfun', 'down'),
      ),
      null,
    );
    expect(text.split('\n').at(-1)).toBe('Total: $123.45 · ¥88.00 across 3 of 4 accounts; 1 unavailable');
    expect(totalsLine(summaryOf(failed('kimi', 'x'), failed('claude', 'y'), failed('novita', 'z')))).toBe(
      'Total: unknown; all 3 accounts unavailable',
    );
  });

  it('GIVEN a Kimi reading without voucher or cash THEN the check block says n/a for them', () => {
    expect(formatKimiCheck(ok('kimi', '12.34'))).toBe(
      '✅ Moonshot Balance Check\n💰 Available: $12.34\n🎁 Voucher: n/a\n💵 Cash: n/a',
    );
  });
});

describe('durations and schedules in words', () => {
  it.each([
    [0, '0s'],
    [-5_000, '0s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [HOUR, '1h'],
    [7 * HOUR, '7h'],
    [HOUR + 59 * 60_000 + 59_999, '1h 59m'],
    [24 * HOUR, '1d'],
    [3 * 24 * HOUR + 59 * 60_000, '3d'],
    [3 * 24 * HOUR + 23 * HOUR, '3d 23h'],
  ])('GIVEN %d ms THEN %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });

  // cronstrue's words (24-hour times) inside the footer's "Runs … (UTC)"; the seed's own hourly line kept.
  it.each([
    ['0 * * * *', 'Runs every hour on the hour (UTC)'],
    ['0 0 * * * *', 'Runs every hour on the hour (UTC)'],
    ['0  *\t* * *', 'Runs every hour on the hour (UTC)'],
    ['*/15 * * * *', 'Runs every 15 minutes (UTC)'],
    ['0 */5 * * * *', 'Runs every 5 minutes (UTC)'],
    ['*/1 * * * * *', 'Runs every second (UTC)'],
    ['* * * * *', 'Runs every minute (UTC)'],
    ['5 * * * *', 'Runs at 5 minutes past the hour (UTC)'],
    ['0 7 * * *', 'Runs at 07:00 (UTC)'],
    ['0 13 * * *', 'Runs at 13:00 (UTC)'],
    ['  0 30 9 * * *  ', 'Runs at 09:30 (UTC)'],
    ['30 0 * * * *', 'Runs at 30 seconds past the minute, on the hour (UTC)'],
    ['0 * 1 * *', 'Runs every hour, on day 1 of the month (UTC)'],
    ['0 * * 2 *', 'Runs every hour, only in February (UTC)'],
    ['0 9 * * 1-5', 'Runs at 09:00, Monday through Friday (UTC)'],
    ['0 9 * * 7', 'Runs at 09:00, only on Sunday (UTC)'],
    ['5 1-3 * * *', 'Runs at 5 minutes past the hour, between 01:00 and 03:59 (UTC)'],
    ['*/5 7 * * *', 'Runs every 5 minutes, between 07:00 and 07:59 (UTC)'],
    ['0 0 L * *', 'Runs at 00:00, on the last day of the month (UTC)'],
    ['x * * * *', 'Runs on schedule `x * * * *` (UTC)'],
    ['*/x * * * *', 'Runs on schedule `*/x * * * *` (UTC)'],
    ['5x 7 * * *', 'Runs on schedule `5x 7 * * *` (UTC)'],
    ['60 * * * *', 'Runs on schedule `60 * * * *` (UTC)'],
  ])('GIVEN %s THEN %s', (cron, want) => {
    expect(describeSchedule(cron)).toBe(want);
  });
});
