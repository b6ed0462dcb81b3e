import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClaudeProvider } from '../../src/adapters/providers/claude.js';
import { createKimiProvider } from '../../src/adapters/providers/kimi.js';
import { loadConfig } from '../../src/core/config.js';
import { formatSummary } from '../../src/core/format.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import { type Core, createCore } from '../../src/entry/app.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase, requirePostgres, type TestDatabase, withClient } from '../support/postgres.js';

let moonshot: FakeMoonshot;
let claudeDb: TestDatabase;
const providers: BalanceProvider[] = [];

beforeAll(async () => {
  await requirePostgres();
  moonshot = await startFakeMoonshot();
  claudeDb = await createTestDatabase('cw_implausible');
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await moonshot?.close();
  await claudeDb?.drop();
});

function kimi(): BalanceProvider {
  const p = createKimiProvider({
    baseUrl: moonshot.url,
    apiKey: 'sk-test',
    currency: 'USD',
    timeoutMs: 3000,
  });
  providers.push(p);
  return p;
}

function claude(): BalanceProvider {
  const p = createClaudeProvider({
    connectionString: claudeDb.connectionString,
    currency: 'USD',
    timeoutMs: 3000,
    staleAfterMs: 6 * 3_600_000,
  });
  providers.push(p);
  return p;
}

/** `claude_api_usage` with an unbounded numeric column (the seed's job may have made it so) and one row. */
async function claudeRow(balance: string): Promise<void> {
  await withClient(claudeDb.connectionString, async (c) => {
    await c.query('DROP TABLE IF EXISTS claude_api_usage');
    await c.query('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz)');
    await c.query('INSERT INTO claude_api_usage VALUES ($1::numeric, now())', [balance]);
  });
}

function failureReason(r: CheckResult): string {
  if (r.ok) throw new Error(`expected a failed reading, got ${r.available.toFixed().slice(0, 40)}`);
  return r.reason;
}

describe('implausible amounts', () => {
  it.each([
    ['1.7e308', '{"code":0,"data":{"available_balance":1.7e308,"voucher_balance":1,"cash_balance":1}}'],
    [
      '1e400 (Infinity once parsed)',
      '{"code":0,"data":{"available_balance":1e400,"voucher_balance":1,"cash_balance":1}}',
    ],
    [
      'a cash part of -1e15',
      '{"code":0,"data":{"available_balance":5,"voucher_balance":1,"cash_balance":-1e15}}',
    ],
  ])(
    'GIVEN Kimi reports %s THEN the check fails with "implausible amount" and a short reason',
    async (_, body) => {
      moonshot.setReply({ body, headers: { 'content-type': 'application/json' } });
      const reason = failureReason(await kimi().check());
      expect(reason).toMatch(/^implausible amount/);
      expect(reason.length).toBeLessThan(120);
    },
  );

  it('GIVEN Kimi reports 999,999,999,999,999.99 THEN it is still a reading (the bound is 1e15)', async () => {
    moonshot.setReply(moonshotBalance(999_999_999_999_999.9, 1, -3));
    const r = await kimi().check();
    expect(r.ok).toBe(true);
  });

  it.each([
    ['1e2100', /^implausible amount: available 1\.000e\+2100\b/],
    ['-2500000000000000', /^implausible amount: available -2\.500e\+15\b/],
    ['Infinity', /^implausible amount: available Infinity\b/],
  ])(
    'GIVEN the latest Claude row holds %s THEN the check fails with "implausible amount"',
    async (value, reason) => {
      await claudeRow(value);
      const r = failureReason(await claude().check());
      expect(r).toMatch(reason);
      expect(r.length).toBeLessThan(120);
    },
  );

  describe('through the balance service', () => {
    let dir: string;
    let core: Core | undefined;
    afterEach(async () => {
      await core?.close();
      core = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    async function start(): Promise<Core> {
      dir = mkdtempSync(join(tmpdir(), 'cw-implausible-'));
      const config = loadConfig(
        {
          HOME: dir,
          DATA_DIR: join(dir, 'data'),
          BALANCE_LOG_DIR: join(dir, 'logs'),
          PROVIDERS: 'claude,kimi',
        },
        { providerSettings: 'optional' },
      );
      core = await createCore(config, captureLogs().logger, { providers: [claude(), kimi()] });
      return core;
    }

    it('GIVEN a Claude row of 1e2100 THEN the summary fits a Discord message, Kimi still shows, and nothing is stored as ok', async () => {
      await claudeRow('1e2100');
      moonshot.setReply(moonshotBalance(12.34, 10, 2.34));
      const c = await start();
      const summary = await c.service.checkAll();
      const text = formatSummary(summary, null);
      expect(text.length).toBeLessThan(2000);
      expect(text).toContain('$12.34');
      expect(text).toMatch(/Claude:\*\* unavailable: implausible amount/);
      const stored = await c.history.range('claude', new Date(0), new Date(Date.now() + 60_000));
      expect(stored.map((r) => r.ok)).toEqual([false]);
    });

    it('GIVEN a reading of 1.7e308 stored as ok before this rule THEN the history reads it as a failed reading', async () => {
      const c = await start();
      const now = Date.now();
      await c.db.kysely
        .insertInto('readings')
        .values(
          ['10', '1.7e308'].map((available, i) => ({
            provider: 'kimi',
            checked_at: now - 3_600_000 + i,
            as_of: now - 3_600_000 + i,
            ok: 1,
            currency: 'USD',
            available,
            voucher: null,
            cash: null,
            latency_ms: 1,
            error: null,
            source: 'check',
            dedupe_key: null,
          })),
        )
        .execute();
      const stored = await c.history.range('kimi', new Date(0), new Date(now));
      expect(stored.map((r) => (r.ok ? r.available.toFixed() : r.reason))).toEqual([
        '10',
        expect.stringMatching(/^implausible amount: available 1\.700e\+308/),
      ]);
    });
  });
});
