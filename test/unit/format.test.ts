import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import { computeForecast, type HistoryPoint } from '../../src/core/forecast.js';
import {
  describeSchedule,
  formatDuration,
  formatKimiCheck,
  formatSummary,
  formatUtc,
  summaryToJson,
} from '../../src/core/format.js';
import { type Amount, type Currency, formatMoney, isLow, parseAmount } from '../../src/core/money.js';
import { exitCodeFor, type ProviderStatus, type Summary } from '../../src/core/service.js';
import type { ProviderId } from '../../src/core/types.js';
import { runwayClauses } from '../../src/entry/jobs/summary.js';

const NOW = new Date('2026-11-28T10:00:00Z');
const footer = { schedule: describeSchedule('0 * * * *'), channelId: '1415741789758816369' };

function status(
  provider: ProviderId,
  available: string | null,
  threshold = '5',
  opts: {
    currency?: Currency;
    reason?: string;
    ageMs?: number;
    staleAfterMs?: number;
    voucher?: string;
    cash?: string;
  } = {},
): ProviderStatus {
  const currency = opts.currency ?? 'USD';
  const t = parseAmount(threshold);
  const result =
    available === null
      ? {
          ok: false as const,
          provider,
          currency,
          reason: opts.reason ?? 'boom',
          checkedAt: NOW,
          latencyMs: 5,
        }
      : {
          ok: true as const,
          provider,
          currency,
          available: parseAmount(available),
          ...(opts.voucher ? { voucher: parseAmount(opts.voucher) } : {}),
          ...(opts.cash ? { cash: parseAmount(opts.cash) } : {}),
          asOf: new Date(NOW.getTime() - (opts.ageMs ?? 0)),
          checkedAt: NOW,
          latencyMs: 5,
        };
  const state = !result.ok ? 'failed' : isLow(result.available, t) ? 'low' : 'ok';
  const staleAfterMs = opts.staleAfterMs ?? null;
  const ageMs = result.ok ? (opts.ageMs ?? 0) : null;
  return {
    provider,
    ...accountDisplay(provider),
    result,
    threshold: t,
    state,
    ageMs,
    stale: ageMs !== null && staleAfterMs !== null && ageMs > staleAfterMs,
    staleAfterMs,
  };
}

const summary = (...statuses: ProviderStatus[]): Summary => ({
  checkedAt: NOW,
  statuses,
  anyLow: statuses.some((s) => s.state === 'low'),
  anyFailed: statuses.some((s) => s.state === 'failed'),
});

describe('money', () => {
  it('GIVEN exact decimals THEN they show with 2 decimals, half-up, with the currency symbol', () => {
    const cases: [string, Currency, string][] = [
      ['12.3', 'USD', '$12.30'],
      ['1e-07', 'USD', '$0.00'],
      ['0.005', 'USD', '$0.01'],
      ['-0.5', 'USD', '-$0.50'],
      ['-0.001', 'USD', '$0.00'],
      ['8', 'CNY', '¥8.00'],
    ];
    for (const [v, c, want] of cases) expect(formatMoney(parseAmount(v), c)).toBe(want);
  });

  it('GIVEN decimal sums THEN there is no float drift', () => {
    const sum = ['0.1', '0.2'].map(parseAmount).reduce((a: Amount, b) => a.plus(b));
    expect(sum.eq(parseAmount('0.3'))).toBe(true);
  });

  it('GIVEN text that is not a decimal THEN parseAmount refuses it', () => {
    for (const bad of ['', 'null', '12,30', '1e', 'NaN', 'Infinity', '$5'])
      expect(() => parseAmount(bad)).toThrow();
    expect(() => parseAmount(Number.NaN)).toThrow();
  });
});

describe('threshold logic', () => {
  it('GIVEN a balance below, at and above the threshold THEN only below is low', () => {
    expect(isLow(parseAmount('4.99'), parseAmount('5'))).toBe(true);
    expect(isLow(parseAmount('5.00'), parseAmount('5'))).toBe(false);
    expect(isLow(parseAmount('5.01'), parseAmount('5'))).toBe(false);
  });

  it('GIVEN failures and lows THEN the exit code is 1 for a failure, else 2 for low, else 0', () => {
    expect(exitCodeFor(summary(status('claude', '8'), status('kimi', '9')))).toBe(0);
    expect(exitCodeFor(summary(status('claude', '4'), status('kimi', '9')))).toBe(2);
    expect(exitCodeFor(summary(status('claude', '4'), status('kimi', null)))).toBe(1);
  });
});

describe('summary formatting', () => {
  it('GIVEN both ok THEN it is the seed summary exactly', () => {
    expect(formatSummary(summary(status('claude', '8.07'), status('kimi', '12.34')), footer)).toBe(
      [
        '📊 **API Balance Summary**',
        '',
        '💳 **Claude:** $8.07 (threshold: $5.00)',
        '🌙 **Kimi:** $12.34 available (threshold: $5.00)',
        '',
        'Runs every hour on the hour (UTC)',
        'Posts to <#1415741789758816369>',
        'Adds alerts if either < $5.00',
      ].join('\n'),
    );
  });

  it('GIVEN both low THEN both lines turn ⚠️ and both alert lines follow, in provider order', () => {
    const text = formatSummary(summary(status('claude', '1'), status('kimi', '2')), footer);
    expect(text).toContain(
      '⚠️ **Claude:** $1.00 (threshold: $5.00)\n⚠️ **Kimi:** $2.00 available (threshold: $5.00)\n\n💳 ⚠️ Claude credits low!\n🌙 ⚠️ Kimi credits low!\n',
    );
  });

  it('GIVEN a failed provider THEN its line says why and the other line still prints', () => {
    const text = formatSummary(
      summary(
        status('claude', null, '5', { reason: 'table claude_api_usage does not exist' }),
        status('kimi', '12.34'),
      ),
      footer,
    );
    expect(text).toContain(
      '❌ **Claude:** unavailable: table claude_api_usage does not exist (threshold: $5.00)\n🌙 **Kimi:** $12.34 available',
    );
    expect(text).not.toContain('credits low');
  });

  it('GIVEN a stale reading THEN a note with its age and the limit follows its line', () => {
    const text = formatSummary(
      summary(status('claude', '8.07', '5', { ageMs: 26 * 3_600_000 + 60_000, staleAfterMs: 6 * 3_600_000 })),
      footer,
    );
    expect(text).toContain(
      '💳 **Claude:** $8.07 (threshold: $5.00)\n⏳ Claude reading is 1d 2h old (stale after 6h)',
    );
  });

  it('GIVEN different thresholds, CNY and runway clauses THEN the footer and lines tell the truth', () => {
    const text = formatSummary(
      summary(status('claude', '8.07', '10'), status('kimi', '50', '5', { currency: 'CNY' })),
      { schedule: describeSchedule('*/30 * * * *'), channelId: '42' },
      { claude: 'below threshold · $0 in 6 d' },
    );
    expect(text).toContain('⚠️ **Claude:** $8.07 (threshold: $10.00) · below threshold · $0 in 6 d');
    expect(text).toContain('🌙 **Kimi:** ¥50.00 available (threshold: ¥5.00)\n');
    expect(text).toContain(
      'Runs every 30 minutes (UTC)\nPosts to <#42>\nAdds alerts when a balance is below its threshold',
    );
  });

  it('GIVEN cron patterns THEN the schedule is described in words, or quoted', () => {
    expect(describeSchedule('0 * * * *')).toBe('Runs every hour on the hour (UTC)');
    expect(describeSchedule('0 0 * * * *')).toBe('Runs every hour on the hour (UTC)');
    expect(describeSchedule('15 * * * *')).toBe('Runs at 15 minutes past the hour (UTC)');
    expect(describeSchedule('30 9 * * *')).toBe('Runs at 09:30 (UTC)');
    expect(describeSchedule('0 9 * * 1-5')).toBe('Runs at 09:00, Monday through Friday (UTC)');
  });

  it('GIVEN durations THEN the two largest units are shown', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(12 * 60_000)).toBe('12m');
    expect(formatDuration(7 * 3_600_000 + 12 * 60_000)).toBe('7h 12m');
    expect(formatDuration(3 * 86_400_000 + 2 * 3_600_000 + 5 * 60_000)).toBe('3d 2h');
  });
});

describe('moonshot-balance.sh output', () => {
  it('GIVEN an ok Kimi balance THEN the check block; GIVEN low THEN the low block; GIVEN failure THEN an Error line', () => {
    expect(formatKimiCheck(status('kimi', '12.34', '5', { voucher: '3.45', cash: '8.89' }))).toBe(
      '✅ Moonshot Balance Check\n💰 Available: $12.34\n🎁 Voucher: $3.45\n💵 Cash: $8.89',
    );
    expect(formatKimiCheck(status('kimi', '4.5', '5', { voucher: '1', cash: '3.5' }))).toBe(
      '⚠️ **Moonshot API Balance Low!**\n\n💰 **Available:** $4.50\n🎁 **Voucher:** $1.00\n💵 **Cash:** $3.50',
    );
    expect(formatKimiCheck(status('kimi', null, '5', { reason: 'no answer within 10000 ms' }))).toBe(
      'Error: Moonshot balance check failed: no answer within 10000 ms',
    );
  });

  it('GIVEN a summary THEN its JSON keeps exact amounts and reasons', () => {
    const json = summaryToJson(
      summary(status('kimi', '12.30', '5', { voucher: '3.45', cash: '-0.5' }), status('claude', null)),
    ) as {
      providers: Record<string, unknown>[];
    };
    expect(json.providers[0]).toMatchObject({
      provider: 'kimi',
      available: '12.3',
      voucher: '3.45',
      cash: '-0.5',
      state: 'ok',
    });
    expect(json.providers[1]).toMatchObject({ provider: 'claude', state: 'failed', reason: 'boom' });
  });
});

describe('issue 10: times never after the moment they describe', () => {
  it('GIVEN 20:59:30 THEN formatUtc prints 20:59, not 21:00', () => {
    expect(formatUtc(new Date('2026-11-27T20:59:30Z'))).toBe('2026-11-27 20:59 UTC');
    expect(formatUtc(new Date('2026-11-27T20:59:59.999Z'))).toBe('2026-11-27 20:59 UTC');
    expect(formatUtc(new Date('2026-11-27T21:00:00Z'))).toBe('2026-11-27 21:00 UTC');
  });
});

describe('README: the summary post example is what the code prints', () => {
  /** 6-hourly readings over 7 days ending at NOW with `end` left, falling `perDay`. */
  function history(end: string, perDay: string): HistoryPoint[] {
    return Array.from({ length: 29 }, (_, i) => {
      const hoursBefore = (28 - i) * 6;
      const asOf = new Date(NOW.getTime() - hoursBefore * 3_600_000);
      return {
        checkedAt: asOf,
        asOf,
        available: parseAmount(end).plus(parseAmount(perDay).times(hoursBefore).div(24)),
      };
    });
  }

  it('GIVEN Claude at $8.07 spending $0.60/day and Kimi at $4.80 spending $1.50/day THEN the post matches README', () => {
    const forecast = (end: string, perDay: string) =>
      computeForecast({
        points: history(end, perDay),
        threshold: parseAmount('5'),
        currency: 'USD',
        now: NOW,
      });
    const text = formatSummary(
      summary(status('claude', '8.07'), status('kimi', '4.80')),
      footer,
      runwayClauses({ claude: forecast('8.07', '0.60'), kimi: forecast('4.80', '1.50') }),
    );
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /### The summary post\n\n```\n([\s\S]*?)\n```/.exec(readme)?.[1];

    expect(text).toContain('💳 **Claude:** $8.07 (threshold: $5.00) · threshold in 5 d · $0 in 13 d');
    expect(text).toContain('⚠️ **Kimi:** $4.80 available (threshold: $5.00) · below threshold · $0 in 3 d');
    expect(example).toBe(text);
  });
});
