import { describe, expect, it } from 'vitest';
import { accountDisplay } from '../../src/core/accounts.js';
import { DISCORD_CONTENT_LIMIT, splitMessage } from '../../src/core/format.js';
import type { Currency } from '../../src/core/money.js';
import { parseAmount } from '../../src/core/money.js';
import {
  type DigestAccount,
  type DigestInput,
  formatDigest,
  NEAREST_COUNT,
  nearestThreshold,
} from '../../src/core/spend-digest.js';
import { digestKinds, digestMessages, digestNonce, isWeeklySlot } from '../../src/entry/jobs/digest.js';

const HOUR = 3_600_000;
// Wednesday 2 December 2026, 09:00 UTC.
const AT = new Date(Date.UTC(2026, 11, 2, 9, 0, 0));
const unix = (d: Date | number) => Math.floor(new Date(d).getTime() / 1000);

function account(
  provider: string,
  over: Partial<Omit<DigestAccount, 'available' | 'threshold' | 'recent' | 'other'>> & {
    available?: string | null;
    threshold?: string;
    recent?: string | null;
    other?: string | null;
    currency?: Currency;
  } = {},
): DigestAccount {
  const amount = (v: string | null | undefined, fallback: string | null) =>
    v === undefined ? (fallback === null ? null : parseAmount(fallback)) : v === null ? null : parseAmount(v);
  const { label, emoji } = accountDisplay(provider);
  return {
    provider,
    label,
    emoji,
    currency: over.currency ?? 'USD',
    topUps: over.topUps ?? [],
    ...(over.estimate === undefined ? {} : { estimate: over.estimate }),
    available: amount(over.available, '20'),
    threshold: parseAmount(over.threshold ?? '5'),
    recent: amount(over.recent, '1'),
    other: amount(over.other, '7'),
  };
}

const daily = (accounts: DigestAccount[], extra: Partial<DigestInput> = {}): string =>
  formatDigest({ kind: 'daily', at: AT, accounts, ...extra });

describe('the digest message', () => {
  it("GIVEN two accounts THEN the header carries Discord's timestamp, each account its 24 h and 7 d spend, and a total per currency", () => {
    const text = daily(
      [
        account('claude', { recent: '1.20', other: '8.40' }),
        account('kimi', { recent: '0', other: '3.10' }),
        account('deepseek', { recent: '2', other: '14', currency: 'CNY' }),
      ],
      { schedule: 'Runs at 09:00 (UTC)' },
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe(`📰 **Daily spend digest** · <t:${unix(AT)}:f>`);
    expect(text).toContain('💸 **Spend** · last 24 h · last 7 days');
    expect(lines).toContain('💳 **Claude:** $1.20 · $8.40');
    expect(lines).toContain('🌙 **Kimi:** $0.00 · $3.10');
    expect(lines).toContain('Total (USD): $1.20 · $11.50');
    expect(lines).toContain('Total (CNY): ¥2.00 · ¥14.00');
    // Dollars first, never added to yuan.
    expect(lines.indexOf('Total (USD): $1.20 · $11.50')).toBeLessThan(
      lines.indexOf('Total (CNY): ¥2.00 · ¥14.00'),
    );
    expect(lines.at(-1)).toBe('Runs at 09:00 (UTC)');
    // No UTC text: every moment is Discord's markup, which each reader sees in their own zone.
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  });

  it('GIVEN an account with no history THEN it says so, and one without readings in the last 24 h says that instead of $0.00', () => {
    const text = daily([
      account('claude', { recent: null, other: null }),
      account('kimi', { recent: null, other: '4.50' }),
    ]);
    expect(text).toContain('💳 **Claude:** no history yet');
    expect(text).toContain('🌙 **Kimi:** no readings · $4.50');
    // The account without history adds nothing to the total.
    expect(text).toContain('Total (USD): $0.00 · $4.50');
  });

  it('GIVEN one account THEN no total line (the account is its own total)', () => {
    expect(daily([account('kimi')])).not.toContain('Total');
  });

  it('GIVEN a failed check THEN the spend line says the account is unavailable now and it is not ranked by threshold', () => {
    const text = daily([account('kimi', { available: null }), account('claude', { available: '30' })]);
    expect(text).toContain('🌙 **Kimi:** $1.00 · $7.00 · ❌ unavailable now');
    const nearest = text.split('🎯 **Nearest their threshold**')[1]!;
    expect(nearest).toContain('Claude');
    expect(nearest).not.toContain('Kimi');
  });

  it("GIVEN top-ups THEN each account's are listed with Discord timestamps (three at most, the rest counted), and none says none", () => {
    const t = (h: number, amount: string) => ({
      at: new Date(AT.getTime() - h * HOUR),
      amount: parseAmount(amount),
    });
    const text = daily([
      account('kimi', { topUps: [t(20, '20')] }),
      account('claude', { topUps: [t(23, '1'), t(22, '2'), t(21, '3'), t(2, '4')] }),
      account('deepseek'),
    ]);
    expect(text).toContain('💰 **Top-ups** · last 24 h');
    expect(text).toContain(`💰 🌙 Kimi topped up +$20.00 at <t:${unix(AT.getTime() - 20 * HOUR)}:f>`);
    expect(text).toContain(
      `💰 💳 Claude topped up +$2.00 at <t:${unix(AT.getTime() - 22 * HOUR)}:f>, +$3.00 at <t:${unix(AT.getTime() - 21 * HOUR)}:f>, +$4.00 at <t:${unix(AT.getTime() - 2 * HOUR)}:f> (and 1 earlier)`,
    );
    expect(text).not.toContain('+$1.00');
    expect(text).not.toMatch(/DeepSeek topped up/);
    expect(daily([account('kimi')])).toMatch(/💰 \*\*Top-ups\*\* · last 24 h\nnone\n/);
  });

  it('GIVEN accounts at different distances from their thresholds THEN the nearest three are listed nearest first, below-threshold ones flagged, in any currency', () => {
    const accounts = [
      account('claude', { available: '30', threshold: '5' }), // 6×
      account('kimi', { available: '6', threshold: '5' }), // 1.2×
      account('deepseek', { available: '40', threshold: '50', currency: 'CNY' }), // 0.8×: below
      account('openrouter', { available: '9', threshold: '5' }), // 1.8×
      account('novita', { available: '100', threshold: '0' }), // no threshold: not ranked
    ];
    expect(nearestThreshold(accounts).map((a) => a.provider)).toEqual(['deepseek', 'kimi', 'openrouter']);
    expect(NEAREST_COUNT).toBe(3);
    const text = daily(accounts);
    const nearest = text.split('🎯 **Nearest their threshold**\n')[1]!.split('\n');
    expect(nearest[0]).toMatch(/^\S+ \*\*DeepSeek:\*\* ¥40\.00 · ⚠️ ¥10\.00 below its ¥50\.00 threshold$/);
    expect(nearest[1]).toBe('🌙 **Kimi:** $6.00 · $1.00 above its $5.00 threshold');
    expect(nearest[2]).toMatch(/OpenRouter:\*\* \$9\.00 · \$4\.00 above its \$5\.00 threshold$/);
    expect(text).not.toMatch(/Claude:\*\* \$30\.00/);
  });

  it('GIVEN an estimated figure THEN it is shown with ≈ where it is ranked', () => {
    const text = daily([account('claude', { available: '6', estimate: true })]);
    expect(text).toContain('💳 **Claude:** ≈ $6.00 · $1.00 above its $5.00 threshold');
  });

  it('GIVEN no account with a reading and a threshold THEN the part says so rather than staying empty', () => {
    expect(daily([account('kimi', { available: null })])).toContain(
      '🎯 **Nearest their threshold**\nno account has a reading and a threshold',
    );
  });

  it('GIVEN the weekly digest THEN it shows the last 7 days beside the 7 before, with the change', () => {
    const text = formatDigest({
      kind: 'weekly',
      at: AT,
      accounts: [
        account('claude', { recent: '8.40', other: '6' }),
        account('kimi', { recent: '3', other: '4' }),
        account('deepseek', { recent: '2', other: '0' }),
      ],
    });
    expect(text.split('\n')[0]).toBe(`📰 **Weekly spend digest** · week to <t:${unix(AT)}:f>`);
    expect(text).toContain('💸 **Spend** · last 7 days · the 7 days before');
    expect(text).toContain('💳 **Claude:** $8.40 · $6.00 (+40 %)');
    expect(text).toContain('🌙 **Kimi:** $3.00 · $4.00 (−25 %)');
    // No spend the week before: no percentage to give.
    expect(text).toMatch(/DeepSeek:\*\* \$2\.00 · \$0\.00$/m);
    expect(text).toContain('💰 **Top-ups** · last 7 days');
  });

  it('GIVEN 40 accounts with top-ups, a late line and a chart THEN every message is within 2,000 characters, no line is lost, and the chart rides on the last', () => {
    const providers = [
      'claude',
      'kimi',
      'deepseek',
      'openrouter',
      'siliconflow',
      'novita',
      'stepfun',
      'openai',
    ];
    const accounts = Array.from({ length: 40 }, (_, i) =>
      account(`${providers[i % providers.length]}:team-${String(i).padStart(2, '0')}`, {
        available: `${1000 + i}.25`,
        recent: `${i}.99`,
        other: `${i * 7}.5`,
        topUps: Array.from({ length: 5 }, (_, k) => ({
          at: new Date(AT.getTime() - (k + 1) * HOUR),
          amount: parseAmount(`${100 + k}`),
        })),
      }),
    );
    const text = daily(accounts, { schedule: 'Runs at 09:00 (UTC)' });
    expect(text.length).toBeGreaterThan(DISCORD_CONTENT_LIMIT * 2);
    const chart = { name: 'digest-spend-7d-usd.png', data: Buffer.from('png') };
    const messages = digestMessages(text, [chart], 'the bot was down', AT);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) expect(m.content.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
    expect(messages.slice(0, -1).every((m) => m.files === undefined)).toBe(true);
    expect(messages.at(-1)!.files).toEqual([chart]);
    const lines = messages.flatMap((m) => m.content.split('\n'));
    expect(lines[1]).toBe(`🕒 posted late: the bot was down at <t:${unix(AT)}:f>`);
    for (const line of text.split('\n').filter((l) => l.trim() !== '')) expect(lines).toContain(line);
    // Each account's top-up line holds three top-ups and counts the rest.
    expect(lines.filter((l) => l.endsWith('(and 2 earlier)'))).toHaveLength(40);
    expect(splitMessage(text).length).toBe(messages.length);
  });
});

describe('the digest message, whole', () => {
  const t = (h: number, amount: string) => ({
    at: new Date(AT.getTime() - h * HOUR),
    amount: parseAmount(amount),
  });

  it('GIVEN two accounts with top-ups and no schedule THEN the daily digest is exactly its parts, blank lines between, nothing after the last', () => {
    const text = daily([
      account('kimi', { available: '6', recent: '1.5', other: '9', topUps: [t(3, '20')] }),
      account('claude', { available: '30', recent: '0.25', other: '2', topUps: [t(4, '1'), t(3, '2')] }),
    ]);
    expect(text.split('\n')).toEqual([
      `📰 **Daily spend digest** · <t:${unix(AT)}:f>`,
      '',
      '💸 **Spend** · last 24 h · last 7 days',
      '🌙 **Kimi:** $1.50 · $9.00',
      '💳 **Claude:** $0.25 · $2.00',
      'Total (USD): $1.75 · $11.00',
      '',
      '💰 **Top-ups** · last 24 h',
      `💰 🌙 Kimi topped up +$20.00 at <t:${unix(AT.getTime() - 3 * HOUR)}:f>`,
      `💰 💳 Claude topped up +$1.00 at <t:${unix(AT.getTime() - 4 * HOUR)}:f>, +$2.00 at <t:${unix(AT.getTime() - 3 * HOUR)}:f>`,
      '',
      '🎯 **Nearest their threshold**',
      '🌙 **Kimi:** $6.00 · $1.00 above its $5.00 threshold',
      '💳 **Claude:** $30.00 · $25.00 above its $5.00 threshold',
    ]);
  });

  it('GIVEN no accounts THEN each part says there is nothing, and the schedule closes it', () => {
    expect(daily([], { schedule: 'Runs at 09:00 (UTC)' }).split('\n')).toEqual([
      `📰 **Daily spend digest** · <t:${unix(AT)}:f>`,
      '',
      '💸 **Spend** · last 24 h · last 7 days',
      'no accounts',
      '',
      '💰 **Top-ups** · last 24 h',
      'none',
      '',
      '🎯 **Nearest their threshold**',
      'no account has a reading and a threshold',
      '',
      'Runs at 09:00 (UTC)',
    ]);
  });

  it('GIVEN a yuan account listed first THEN the dollar total still comes first; a currency whose accounts have no history gets no total', () => {
    const totals = (accounts: DigestAccount[]) =>
      daily(accounts)
        .split('\n')
        .filter((l) => l.startsWith('Total'));
    expect(
      totals([
        account('deepseek', { recent: '2', other: '14', currency: 'CNY' }),
        account('kimi', { recent: null, other: '3' }),
      ]),
    ).toEqual(['Total (USD): $0.00 · $3.00', 'Total (CNY): ¥2.00 · ¥14.00']);
    expect(
      totals([
        account('kimi', { recent: '1', other: '3' }),
        account('deepseek', { recent: null, other: null, currency: 'CNY' }),
      ]),
    ).toEqual(['Total (USD): $1.00 · $3.00']);
    // A new account (this week's readings, none the week before) counts in this week's total.
    const weekly = formatDigest({
      kind: 'weekly',
      at: AT,
      accounts: [
        account('kimi', { recent: '2', other: null }),
        account('claude', { recent: '1', other: '3' }),
      ],
    });
    expect(weekly.split('\n').filter((l) => l.startsWith('Total'))).toEqual(['Total (USD): $3.00 · $3.00']);
  });

  it('GIVEN accounts equally near their thresholds THEN they are ranked by label', () => {
    const accounts = [
      account('openrouter', { available: '10', threshold: '5' }),
      account('kimi', { available: '10', threshold: '5' }),
      account('deepseek', { available: '4', threshold: '2', currency: 'CNY' }),
    ];
    expect(nearestThreshold(accounts).map((a) => a.label)).toEqual(['DeepSeek', 'Kimi', 'OpenRouter']);
    expect(nearestThreshold([...accounts].reverse()).map((a) => a.label)).toEqual([
      'DeepSeek',
      'Kimi',
      'OpenRouter',
    ]);
  });

  it('GIVEN the weekly digest with the same spend, no spend readings the week before or none this week THEN ±0 %, or no percentage', () => {
    const lines = formatDigest({
      kind: 'weekly',
      at: AT,
      accounts: [
        account('claude', { recent: '5.01', other: '5' }),
        account('kimi', { recent: '3', other: null }),
        account('deepseek', { recent: null, other: '4' }),
      ],
    }).split('\n');
    expect(lines.slice(3, 6)).toEqual([
      '💳 **Claude:** $5.01 · $5.00 (±0 %)',
      '🌙 **Kimi:** $3.00 · no readings',
      `${account('deepseek').emoji} **DeepSeek:** no readings · $4.00`,
    ]);
  });
});

describe('the digest schedule', () => {
  it('GIVEN the default schedule THEN Monday 09:00 UTC is the weekly slot and no other day or time is', () => {
    const cron = '0 9 * * *';
    expect(isWeeklySlot(cron, new Date('2026-11-30T09:00:00Z'))).toBe(true);
    expect(isWeeklySlot(cron, new Date('2026-12-01T09:00:00Z'))).toBe(false);
    expect(isWeeklySlot(cron, new Date('2026-12-02T09:00:00Z'))).toBe(false);
    expect(isWeeklySlot(cron, new Date('2026-11-29T09:00:00Z'))).toBe(false);
  });

  it('GIVEN a schedule that fires several times a day THEN only the first slot of the Monday is the weekly one', () => {
    const cron = '0 9,17 * * *';
    expect(isWeeklySlot(cron, new Date('2026-11-30T09:00:00Z'))).toBe(true);
    expect(isWeeklySlot(cron, new Date('2026-11-30T17:00:00Z'))).toBe(false);
    expect(isWeeklySlot('*/2 * * * * *', new Date('2026-11-30T00:00:00Z'))).toBe(true);
    expect(isWeeklySlot('*/2 * * * * *', new Date('2026-11-30T00:00:02Z'))).toBe(false);
  });

  it('GIVEN DIGEST_WEEKLY off THEN a Monday slot posts the daily digest only; on, both', () => {
    const monday = new Date('2026-11-30T09:00:00Z');
    expect(digestKinds({ cron: '0 9 * * *', weekly: false }, monday)).toEqual(['daily']);
    expect(digestKinds({ cron: '0 9 * * *', weekly: true }, monday)).toEqual(['daily', 'weekly']);
    expect(digestKinds({ cron: '0 9 * * *', weekly: true }, AT)).toEqual(['daily']);
  });

  it('GIVEN a slot THEN the daily and weekly nonces differ from each other and from part to part, within 25 characters', () => {
    const nonces = [digestNonce('daily', AT, 0), digestNonce('daily', AT, 1), digestNonce('weekly', AT, 0)];
    expect(new Set(nonces).size).toBe(3);
    for (const n of nonces) expect(n.length).toBeLessThanOrEqual(25);
    expect(digestNonce('daily', new Date(AT.getTime() + 999), 0)).toBe(nonces[0]);
  });
});
