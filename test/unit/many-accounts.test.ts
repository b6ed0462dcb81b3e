import { SlashCommandBuilder } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { formatBalance } from '../../src/adapters/discord/commands/balance.js';
import {
  accountOption,
  accountSuggestions,
  MAX_CHOICES,
} from '../../src/adapters/discord/commands/options.js';
import { accountDisplay } from '../../src/core/accounts.js';
import { DISCORD_CONTENT_LIMIT, formatSummary, splitMessage } from '../../src/core/format.js';
import { type Currency, isLow, parseAmount } from '../../src/core/money.js';
import type { ProviderStatus, Summary } from '../../src/core/service.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const PROVIDERS = ['kimi', 'deepseek', 'openrouter', 'siliconflow', 'novita', 'stepfun'];
/** 30 accounts: the six providers' default accounts and 24 named ones (`kimi:team-1`, …). */
const ACCOUNTS = [
  ...PROVIDERS,
  ...Array.from({ length: 24 }, (_, i) => `${PROVIDERS[i % PROVIDERS.length]}:team-${i + 1}`),
];
const LONG_REASON = `connection to api.example.com:443 closed before a reply (ECONNRESET) ${'x'.repeat(300)}`;

function status(id: string, i: number): ProviderStatus {
  const failing = i % 3 === 0; // 10 of 30
  const currency: Currency = i % 2 === 0 ? 'USD' : 'CNY';
  const threshold = parseAmount('5');
  const result = failing
    ? { ok: false as const, provider: id, currency, reason: LONG_REASON, checkedAt: NOW, latencyMs: 9 }
    : {
        ok: true as const,
        provider: id,
        currency,
        available: parseAmount(`${(i * 7.31).toFixed(2)}`),
        voucher: parseAmount('1'),
        cash: parseAmount('2'),
        asOf: NOW,
        checkedAt: NOW,
        latencyMs: 9,
      };
  return {
    provider: id,
    ...accountDisplay(id),
    result,
    threshold,
    state: !result.ok ? 'failed' : isLow(result.available, threshold) ? 'low' : 'ok',
    ageMs: result.ok ? 0 : null,
    stale: false,
    staleAfterMs: null,
  };
}

const statuses = ACCOUNTS.map(status);
const summary: Summary = { checkedAt: NOW, statuses, anyLow: true, anyFailed: true };

function expectEveryAccountNamed(parts: readonly string[]): void {
  for (const part of parts) expect(part.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
  const all = parts.join('\n');
  for (const id of ACCOUNTS) expect(all).toContain(`**${accountDisplay(id).label}:**`);
}

describe('Discord at 30 accounts, 10 failing', () => {
  it('GIVEN the hourly summary THEN it is split into messages of at most 2,000 characters naming every account, ending with the totals', () => {
    const parts = splitMessage(formatSummary(summary, { schedule: 'Runs every hour', channelId: '1' }));
    expect(parts.length).toBeGreaterThan(1);
    expectEveryAccountNamed(parts);
    expect(parts.at(-1)?.split('\n').at(-1)).toMatch(
      /^Total: \$[\d.]+ · ¥[\d.]+ across 20 of 30 accounts; 10 unavailable$/,
    );
  });

  it('GIVEN /balance THEN its answer is split the same way and names every account', () => {
    const parts = splitMessage(formatBalance(summary, { forecasts: {}, alerts: {} }, null, false, NOW));
    expect(parts.length).toBeGreaterThan(1);
    expectEveryAccountNamed(parts);
  });

  it('GIVEN an account named team-1 THEN it is shown with its provider’s label and the account', () => {
    expect(accountDisplay('deepseek:team-2').label).toBe('DeepSeek (team-2)');
  });
});

describe('account options past 25 accounts', () => {
  it('GIVEN 25 accounts or fewer THEN they are choices; GIVEN 30 THEN the option autocompletes instead', () => {
    const few = new SlashCommandBuilder()
      .setName('balance')
      .setDescription('d')
      .addStringOption((o) => accountOption(o, ACCOUNTS.slice(0, 25), 'Only this one'))
      .toJSON().options?.[0] as {
      name: string;
      choices?: { name: string; value: string }[];
      autocomplete?: boolean;
    };
    expect([few.name, few.choices?.length, few.autocomplete]).toEqual(['account', 25, undefined]);
    expect(few.choices).toContainEqual({ name: 'Kimi (team-1)', value: 'kimi:team-1' });
    const many = new SlashCommandBuilder()
      .setName('balance')
      .setDescription('d')
      .addStringOption((o) => accountOption(o, ACCOUNTS, 'Only this one'))
      .toJSON().options?.[0] as { name: string; choices?: unknown[]; autocomplete?: boolean };
    expect([many.name, many.choices, many.autocomplete]).toEqual(['account', undefined, true]);
  });

  it('GIVEN what was typed THEN at most 25 accounts are offered, ids starting with it first, labels matched too', () => {
    expect(accountSuggestions(ACCOUNTS, '')).toHaveLength(MAX_CHOICES);
    const kimi = accountSuggestions(ACCOUNTS, 'kimi');
    expect(kimi.map((c) => c.value)).toEqual(ACCOUNTS.filter((a) => a.startsWith('kimi')));
    expect(kimi[1]).toEqual({ name: 'Kimi (team-1)', value: 'kimi:team-1' });
    expect(accountSuggestions(ACCOUNTS, 'SiliconFlow (team-4').map((c) => c.value)).toEqual([
      'siliconflow:team-4',
    ]);
  });
});
