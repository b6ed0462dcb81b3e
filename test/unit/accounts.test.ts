import { describe, expect, it } from 'vitest';
import { CLAUDE_MODULE } from '../../src/adapters/providers/claude.js';
import type { AccountSettingsReader } from '../../src/adapters/providers/module.js';
import { accountInfo, accountVariable, parseAccountId } from '../../src/core/accounts.js';

function reader(account: string | undefined, env: Record<string, string>) {
  const problems: string[] = [];
  const name = (s: string) => accountVariable('CLAUDE', account, s);
  const r: AccountSettingsReader = {
    account,
    name,
    get: (s) => env[name(s)]?.trim() || undefined,
    exact: (v) => env[v]?.trim() || undefined,
    problem: (t) => problems.push(t),
    because: 'it is in PROVIDERS',
  };
  return { r, problems };
}

describe('accounts', () => {
  it('GIVEN provider or provider:account THEN it is parsed; anything else is refused', () => {
    expect(parseAccountId('kimi')).toEqual({ provider: 'kimi', name: undefined });
    expect(parseAccountId('kimi:cn')).toEqual({ provider: 'kimi', name: 'cn' });
    for (const bad of ['kimi:', 'kimi:CN', 'kimi:a:b', ':cn', `kimi:${'a'.repeat(21)}`, 'kimi:a_b']) {
      expect(parseAccountId(bad)).toBeNull();
    }
  });

  it('GIVEN an account THEN it is shown as "Kimi (cn)" with its provider’s emoji and part names', () => {
    expect(accountInfo('kimi:cn')).toEqual({
      id: 'kimi:cn',
      provider: 'kimi',
      name: 'cn',
      label: 'Kimi (cn)',
      emoji: '🌙',
      parts: { voucher: 'voucher', cash: 'cash' },
    });
    expect(accountInfo('claude').label).toBe('Claude');
    expect(accountInfo('deepseek:team-b').parts).toEqual({ voucher: 'granted', cash: 'topped-up' });
  });

  it('GIVEN an account name with a dash THEN its variables are upper-cased with _', () => {
    expect(accountVariable('MOONSHOT', 'team-b', 'API_KEY')).toBe('MOONSHOT_TEAM_B_API_KEY');
    expect(accountVariable('MOONSHOT', undefined, 'API_KEY')).toBe('MOONSHOT_API_KEY');
  });
});

describe('claude module settings', () => {
  it('GIVEN the seed’s SUPABASE_* variables THEN the default account reads them, with TLS required for Supabase', () => {
    const { r, problems } = reader(undefined, {
      SUPABASE_DB_HOST: 'db.x.supabase.co',
      SUPABASE_DB_PASSWORD: 'pw',
    });
    const s = CLAUDE_MODULE.settings(r);
    expect(problems).toEqual([]);
    expect(s?.describe).toBe('db.x.supabase.co:5432/postgres');
    expect(s?.db.ssl).toEqual({ rejectUnauthorized: false });
    expect(s?.staleAfterMs).toBe(6 * 3_600_000);
  });

  it('GIVEN an account THEN only CLAUDE_X_DB_URL names its database, and each problem is listed', () => {
    const ok = reader('ops', { CLAUDE_OPS_DB_URL: 'postgres://u@h:5433/d', CLAUDE_OPS_STALE_AFTER: '90m' });
    expect(CLAUDE_MODULE.settings(ok.r)).toMatchObject({ describe: 'h:5433/d', staleAfterMs: 90 * 60_000 });
    const bad = reader('ops', { SUPABASE_DB_HOST: 'db.x.supabase.co', CLAUDE_OPS_DB_SSL: 'maybe' });
    expect(CLAUDE_MODULE.settings(bad.r)).toBeUndefined();
    expect(bad.problems).toEqual([
      'CLAUDE_OPS_DB_SSL="maybe" must be off, require or verify',
      'CLAUDE_OPS_DB_URL is missing; it is in PROVIDERS',
    ]);
  });
});
