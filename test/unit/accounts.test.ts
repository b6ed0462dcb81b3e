import { describe, expect, it } from 'vitest';
import { CLAUDE_MODULE } from '../../src/adapters/providers/claude.js';
import { KIMI_MODULE } from '../../src/adapters/providers/kimi.js';
import type { AccountSettingsReader } from '../../src/adapters/providers/module.js';
import { accountInfo, accountVariable, parseAccountId } from '../../src/core/accounts.js';

function reader(
  account: string | undefined,
  env: Record<string, string>,
  prefix = 'CLAUDE',
  required = true,
) {
  const problems: string[] = [];
  const name = (s: string) => accountVariable(prefix, account, s);
  const r: AccountSettingsReader = {
    account,
    name,
    get: (s) => env[name(s)]?.trim() || undefined,
    exact: (v) => env[v]?.trim() || undefined,
    problem: (t) => problems.push(t),
    because: 'it is in PROVIDERS',
    required,
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

describe('the seed providers read their own settings', () => {
  it('GIVEN Claude not required THEN unset settings are no problem, set ones are judged, example values pass', () => {
    const none = reader(undefined, {}, 'CLAUDE', false);
    expect(CLAUDE_MODULE.settings(none.r)).toBeUndefined();
    expect(none.problems).toEqual([]);
    const bad = reader(
      undefined,
      { CLAUDE_DB_SSL: 'Yes', CLAUDE_DB_URL: 'mysql://h/db', SUPABASE_DB_PASSWORD: 'your-db-password' },
      'CLAUDE',
      false,
    );
    expect(CLAUDE_MODULE.settings(bad.r)).toBeUndefined();
    expect(bad.problems).toEqual([
      'CLAUDE_DB_SSL="yes" must be off, require or verify',
      'CLAUDE_DB_URL is not a valid postgres: or postgresql: URL',
    ]);
  });

  it("GIVEN Claude required THEN each of the seed's example values is named, and a Supabase host's port and password are both checked", () => {
    const examples = reader(undefined, {
      CLAUDE_DB_URL: 'postgres://postgres:password@db.example.supabase.co:5432/postgres',
      SUPABASE_DB_HOST: 'db.example.supabase.co',
      SUPABASE_DB_PASSWORD: 'your-db-password',
    });
    expect(CLAUDE_MODULE.settings(examples.r)).toBeUndefined();
    expect(examples.problems.map((p) => p.split(' ')[0])).toEqual([
      'CLAUDE_DB_URL',
      'SUPABASE_DB_HOST',
      'SUPABASE_DB_PASSWORD',
    ]);
    const host = reader(undefined, { SUPABASE_DB_HOST: 'db.x.supabase.co', SUPABASE_DB_PORT: '0' });
    expect(CLAUDE_MODULE.settings(host.r)).toBeUndefined();
    expect(host.problems).toEqual([
      'SUPABASE_DB_PORT="0" must be a whole number from 1 to 65535, in plain digits',
      'SUPABASE_DB_PASSWORD is missing; it is needed with SUPABASE_DB_HOST (or set CLAUDE_DB_URL)',
    ]);
    const ok = reader(undefined, { SUPABASE_DB_HOST: 'db.x.supabase.co', SUPABASE_DB_PASSWORD: 'pw' });
    expect(CLAUDE_MODULE.settings(ok.r)).toMatchObject({
      sslMode: 'require',
      describe: 'db.x.supabase.co:5432/postgres',
    });
  });

  it('GIVEN Kimi without a key THEN its module still tells the currency its host bills in (import-logs needs it)', () => {
    const cn = reader(undefined, { MOONSHOT_BASE_URL: 'https://api.moonshot.cn' }, 'MOONSHOT', false);
    expect(KIMI_MODULE.settings(cn.r)).toBeUndefined();
    expect(cn.problems).toEqual([]);
    expect(KIMI_MODULE.currencyOf?.(cn.r)).toBe('CNY');
    expect(
      KIMI_MODULE.currencyOf?.(
        reader(
          undefined,
          { MOONSHOT_CURRENCY: 'usd', MOONSHOT_BASE_URL: 'https://api.moonshot.cn' },
          'MOONSHOT',
        ).r,
      ),
    ).toBe('USD');
    expect(
      KIMI_MODULE.currencyOf?.(reader(undefined, { MOONSHOT_BASE_URL: 'not a url' }, 'MOONSHOT').r),
    ).toBe('USD');
  });
});
