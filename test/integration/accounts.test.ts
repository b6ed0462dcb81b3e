import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/core/config.js';
import { formatSummary, summaryToJson } from '../../src/core/format.js';
import { parseAmount } from '../../src/core/money.js';
import { type Core, createCore } from '../../src/entry/app.js';
import { type FakeApi, startFakeApi } from '../support/fake-api.js';
import { MOONSHOT_OK_BODY } from '../support/fake-moonshot.js';
import { captureLogs } from '../support/log-capture.js';
import { DEEPSEEK_BALANCE } from '../support/provider-replies.js';

let moonshot: FakeApi;
let moonshotCn: FakeApi;
let deepseek: FakeApi;
let dir: string;
let core: Core | undefined;

beforeAll(async () => {
  moonshot = await startFakeApi({ json: MOONSHOT_OK_BODY });
  moonshotCn = await startFakeApi({ json: MOONSHOT_OK_BODY });
  deepseek = await startFakeApi({ json: DEEPSEEK_BALANCE });
});
afterEach(async () => {
  await core?.close();
  core = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await Promise.all([moonshot.close(), moonshotCn.close(), deepseek.close()]);
});

const env = (extra: Record<string, string> = {}) => ({
  HOME: dir,
  DATA_DIR: join(dir, 'data'),
  BALANCE_LOG_DIR: join(dir, 'logs'),
  PROVIDER_TIMEOUT_MS: '2000',
  MOONSHOT_API_KEY: 'sk-ai-SECRET',
  MOONSHOT_BASE_URL: moonshot.url,
  MOONSHOT_CN_API_KEY: 'sk-cn-SECRET',
  MOONSHOT_CN_BASE_URL: moonshotCn.url,
  MOONSHOT_CN_CURRENCY: 'CNY',
  DEEPSEEK_API_KEY: 'sk-ds-SECRET',
  DEEPSEEK_BASE_URL: deepseek.url,
  ...extra,
});

describe('accounts: provider:account in PROVIDERS', () => {
  it('GIVEN kimi, kimi:cn and deepseek THEN each is checked with its own settings and keyed by its id', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-accounts-'));
    const config = loadConfig(env({ PROVIDERS: 'deepseek,kimi:cn,kimi', DEEPSEEK_THRESHOLD: '200' }));
    expect(config.providers).toEqual(['kimi', 'kimi:cn', 'deepseek']);
    core = await createCore(config, captureLogs().logger, { sqliteMode: 'inline' });
    const summary = await core.service.checkAll();
    expect(
      summary.statuses.map((s) => [s.provider, s.label, s.result.currency, s.state, s.threshold.toFixed(2)]),
    ).toEqual([
      ['kimi', 'Kimi', 'USD', 'ok', '5.00'],
      ['kimi:cn', 'Kimi (cn)', 'CNY', 'ok', '5.00'],
      ['deepseek', 'DeepSeek', 'CNY', 'low', '200.00'],
    ]);
    // Each key went to its own host only.
    expect([moonshot.requests.at(-1)?.authorization, moonshotCn.requests.at(-1)?.authorization]).toEqual([
      'Bearer sk-ai-SECRET',
      'Bearer sk-cn-SECRET',
    ]);
    const text = formatSummary(summary, null);
    expect(text).toContain('🌙 **Kimi (cn):** ¥49.59 available (threshold: ¥5.00)');
    expect(text).toContain('⚠️ **DeepSeek:** ¥110.07 available (threshold: ¥200.00)');
    expect(text.split('\n').at(-1)).toBe('Total: $49.59 · ¥159.66 across 3 accounts');
    const json = summaryToJson(summary) as { providers: Array<Record<string, unknown>> };
    expect(json.providers.map((p) => [p.id, p.provider, p.currency, p.voucher])).toEqual([
      ['kimi', 'kimi', 'USD', '46.58893'],
      ['kimi:cn', 'kimi', 'CNY', '46.58893'],
      ['deepseek', 'deepseek', 'CNY', '10'],
    ]);
    const rows = await sql<{ provider: string }>`select provider from readings order by provider`.execute(
      core.db.kysely,
    );
    expect(rows.rows.map((r) => r.provider)).toEqual(['deepseek', 'kimi', 'kimi:cn']);
  });

  it('GIVEN data from before accounts (claude/kimi thresholds and history) THEN the default accounts keep it, a new account starts fresh', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-accounts-migrate-'));
    // The store as an older creditwatch left it: Kimi's threshold raised, Kimi read once.
    const before = await createCore(loadConfig(env({ PROVIDERS: 'kimi' })), captureLogs().logger, {
      sqliteMode: 'inline',
    });
    await before.thresholds.set('kimi', parseAmount('60'), 'admin');
    await before.service.checkAll();
    await before.close();

    core = await createCore(loadConfig(env({ PROVIDERS: 'kimi,kimi:cn' })), captureLogs().logger, {
      sqliteMode: 'inline',
    });
    const summary = await core.service.checkAll();
    expect(summary.statuses.map((s) => [s.provider, s.threshold.toFixed(2), s.state])).toEqual([
      ['kimi', '60.00', 'low'],
      ['kimi:cn', '5.00', 'ok'],
    ]);
    const rows = await sql<{
      provider: string;
      n: number;
    }>`select provider, count(*) as n from readings group by provider order by provider`.execute(
      core.db.kysely,
    );
    expect(rows.rows.map((r) => [r.provider, Number(r.n)])).toEqual([
      ['kimi', 2],
      ['kimi:cn', 1],
    ]);
  });

  it('GIVEN bad accounts THEN the one configuration error lists each problem by its variable', () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-accounts-bad-'));
    let problems: readonly string[] = [];
    try {
      loadConfig({
        HOME: dir,
        PROVIDERS: 'kimi:team_b,gemini,stepfun:intl,claude:ops',
        STEPFUN_INTL_CURRENCY: 'EUR',
        STEPFUN_INTL_THRESHOLD: '-1',
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      'PROVIDERS entry "kimi:team_b" must be provider or provider:account (account: a-z, 0-9 and -, at most 20)',
      'PROVIDERS names unknown provider "gemini"; known: claude, kimi, deepseek, openrouter, siliconflow, novita, stepfun, openai, anthropic',
      'CLAUDE_OPS_DB_URL is missing; claude:ops is in PROVIDERS. Set it, or remove claude:ops from PROVIDERS',
      'STEPFUN_INTL_API_KEY is missing; stepfun:intl is in PROVIDERS. Set it, or remove stepfun:intl from PROVIDERS',
      'STEPFUN_INTL_CURRENCY="EUR" must be USD or CNY',
      'STEPFUN_INTL_THRESHOLD="-1" must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50',
    ]);
  });
});
