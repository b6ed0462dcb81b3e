import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { createCore } from '../../src/entry/app.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { runNode } from '../support/run-node.js';

// The compiled CLI, exactly as `npm run check` runs it (npm test builds before vitest runs).
const CLI = join(import.meta.dirname, '../../dist/check.cjs');
const KEY = 'sk-cli-SECRET-key-42';

const runCheck = (env: Record<string, string>, args: string[] = []) => runNode(CLI, env, args);

describe('npm run check (compiled CLI as a child process)', () => {
  let moonshot: FakeMoonshot;
  let claudeDb: TestDatabase;
  let dir: string;
  let env: Record<string, string>;

  const setClaude = (amount: string | null, updatedAt = 'now()') =>
    withClient(claudeDb.connectionString, async (c) => {
      await c.query('DELETE FROM claude_api_usage');
      await c.query(
        `INSERT INTO claude_api_usage (available_balance, updated_at) VALUES ($1, ${updatedAt})`,
        [amount],
      );
    });

  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npm run build` first (npm test does)').toBe(true);
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
    claudeDb = await createTestDatabase('cw_cli');
    await withClient(claudeDb.connectionString, (c) =>
      c.query('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz)'),
    );
  });
  afterAll(async () => {
    await moonshot?.close();
    await claudeDb?.drop();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
    env = {
      HOME: dir,
      DATA_DIR: join(dir, 'data'),
      BALANCE_LOG_DIR: join(dir, 'logs'),
      MOONSHOT_API_KEY: KEY,
      MOONSHOT_BASE_URL: moonshot.url,
      CLAUDE_DB_URL: claudeDb.connectionString,
      PROVIDER_TIMEOUT_MS: '3000',
    };
    moonshot.setReply(moonshotBalance(12.34, 3.45, 8.89));
  });

  const logs = () => ({
    claude: readFileSync(join(dir, 'logs/claude/balance-log.txt'), 'utf8'),
    moonshot: readFileSync(join(dir, 'logs/moonshot/balance-log.txt'), 'utf8'),
  });
  const TS = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}';

  it('GIVEN both balances above threshold THEN it prints the seed summary and exits 0', async () => {
    await setClaude('8.07');
    const r = await runCheck(env);
    expect(r.stdout).toBe(
      [
        '📊 **API Balance Summary**',
        '',
        '💳 **Claude:** $8.07 (threshold: $5.00)',
        '🌙 **Kimi:** $12.34 available (threshold: $5.00)',
        '',
        'Runs every hour on the hour (UTC)',
        'Posts to <#1415741789758816369>',
        'Adds alerts if either < $5.00',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
    expect(logs().claude).toMatch(new RegExp(`^\\[${TS}\\] Claude: \\$8\\.07\\n$`));
    expect(logs().moonshot).toMatch(
      new RegExp(`^${TS} \\| Available: \\$12\\.34 \\| Voucher: \\$3\\.45 \\| Cash: \\$8\\.89\\n$`),
    );
    expect(moonshot.requests.at(-1)?.authorization).toBe(`Bearer ${KEY}`);
  });

  it('GIVEN Kimi below threshold THEN the line turns ⚠️, the alert line is added and it exits 2', async () => {
    await setClaude('8.07');
    moonshot.setReply(moonshotBalance(4.8, 1.2, 3.6));
    const r = await runCheck({
      ...env,
      SUMMARY_CHANNEL_ID: '123456789012345678',
      SUMMARY_CRON: '30 * * * *',
    });
    expect(r.stdout).toBe(
      [
        '📊 **API Balance Summary**',
        '',
        '💳 **Claude:** $8.07 (threshold: $5.00)',
        '⚠️ **Kimi:** $4.80 available (threshold: $5.00)',
        '',
        '🌙 ⚠️ Kimi credits low!',
        '',
        'Runs at 30 minutes past the hour (UTC)',
        'Posts to <#123456789012345678>',
        'Adds alerts if either < $5.00',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(2);
  });

  it('GIVEN a balance exactly at the threshold THEN it is not low and exits 0', async () => {
    await setClaude('5.00');
    moonshot.setReply(moonshotBalance(5, 5, 0));
    const r = await runCheck(env);
    expect(r.stdout).toContain('💳 **Claude:** $5.00 (threshold: $5.00)');
    expect(r.stdout).toContain('🌙 **Kimi:** $5.00 available (threshold: $5.00)');
    expect(r.stdout).not.toContain('credits low');
    expect(r.code).toBe(0);
  });

  it('GIVEN Moonshot failing THEN Claude is still shown, the reason is printed and logged, and it exits 1', async () => {
    await setClaude('4.07');
    moonshot.setReply({
      status: 502,
      body: '<html><body>Bad Gateway</body></html>',
      headers: { 'content-type': 'text/html' },
    });
    const r = await runCheck(env);
    const lines = r.stdout.split('\n');
    expect(lines[2]).toBe('⚠️ **Claude:** $4.07 (threshold: $5.00)');
    expect(lines[3]).toMatch(/^❌ \*\*Kimi:\*\* unavailable: .*HTTP 502.* \(threshold: \$5\.00\)$/);
    expect(r.stdout).toContain('💳 ⚠️ Claude credits low!');
    expect(r.code).toBe(1);
    expect(logs().moonshot).toMatch(new RegExp(`^${TS} \\| ERROR .*HTTP 502.*\\n$`));
    expect(r.stdout + r.stderr + logs().moonshot).not.toContain(KEY);
  });

  it('GIVEN the Claude table is empty THEN Claude is a failure, never $0, and it exits 1', async () => {
    await withClient(claudeDb.connectionString, (c) => c.query('DELETE FROM claude_api_usage'));
    const r = await runCheck(env);
    expect(r.stdout).toMatch(/❌ \*\*Claude:\*\* unavailable: .*no rows/);
    expect(r.stdout).toContain('🌙 **Kimi:** $12.34 available');
    expect(r.stdout).not.toContain('$0.00');
    expect(logs().claude).toMatch(new RegExp(`^\\[${TS}\\] Claude: ERROR .*no rows.*\\n$`));
    expect(r.code).toBe(1);
  });

  it('GIVEN an old Claude reading THEN the summary carries a stale note with its age', async () => {
    await setClaude('8.07', "now() - interval '7 hours 12 minutes'");
    const r = await runCheck(env);
    expect(r.stdout).toContain(
      '💳 **Claude:** $8.07 (threshold: $5.00)\n⏳ Claude reading is 7h 12m old (stale after 6h)\n',
    );
    expect(r.code).toBe(0);
  });

  it('GIVEN --provider kimi THEN it prints moonshot-balance.sh output, and its low block when low', async () => {
    const ok = await runCheck(env, ['--provider', 'kimi']);
    expect(ok.stdout).toBe(
      '✅ Moonshot Balance Check\n💰 Available: $12.34\n🎁 Voucher: $3.45\n💵 Cash: $8.89\n',
    );
    expect(ok.code).toBe(0);
    moonshot.setReply(moonshotBalance(1e-7, 0, 1e-7));
    const low = await runCheck(env, ['--provider', 'kimi']);
    expect(low.stdout).toBe(
      '⚠️ **Moonshot API Balance Low!**\n\n💰 **Available:** $0.00\n🎁 **Voucher:** $0.00\n💵 **Cash:** $0.00\n',
    );
    expect(low.code).toBe(2);
  });

  it('GIVEN --json THEN the summary is JSON with exact amounts', async () => {
    await setClaude('8.07');
    const r = await runCheck(env, ['--json']);
    const json = JSON.parse(r.stdout) as {
      providers: {
        provider: string;
        available?: string;
        state: string;
        threshold: string;
        forecast?: { status: string; describe: string };
      }[];
    };
    expect(json.providers.map((p) => [p.provider, p.available, p.state, p.threshold])).toEqual([
      ['claude', '8.07', 'ok', '5.00'],
      ['kimi', '12.34', 'ok', '5.00'],
    ]);
    // Rate and runway ride along; earlier runs in this directory were wiped, so there is too little history yet.
    expect(json.providers.map((p) => p.forecast?.status)).toEqual(['insufficient', 'insufficient']);
    expect(json.providers[1]?.forecast?.describe).toBe('not enough history');
    expect(r.code).toBe(0);
  });

  it("GIVEN recorded history THEN --json carries each account's last 7 days of spend, top-ups left out and a fall across midnight on the later day", async () => {
    await setClaude('8.07');
    const day = 86_400_000;
    const today = Math.floor(Date.now() / day) * day;
    const at = (days: number, hours: number) => new Date(today - days * day + hours * 3_600_000);
    const kimi = (when: Date, amount: string) => ({
      ok: true as const,
      provider: 'kimi',
      currency: 'USD' as const,
      available: parseAmount(amount),
      asOf: when,
      checkedAt: when,
      latencyMs: 5,
    });
    const seed = await createCore(loadConfig(env), createLogger('silent'));
    try {
      await seed.history.record([
        kimi(at(3, 10), '20'),
        kimi(at(3, 11), '19'),
        // A $10 top-up, then $1 of spend.
        kimi(at(2, 10), '29'),
        kimi(at(2, 11), '28'),
        kimi(at(1, 23), '14.34'),
      ]);
    } finally {
      await seed.close();
    }
    // The check reads $12.34 now: the $2.00 fall from yesterday 23:00 is today's.
    const r = await runCheck(env, ['--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as {
      providers: { id: string; spend7d?: { day: string; amount: string; observed: boolean }[] }[];
    };
    const key = (days: number) => new Date(today - days * day).toISOString().slice(0, 10);
    const kimiSpend = json.providers.find((p) => p.id === 'kimi')?.spend7d;
    expect(kimiSpend).toEqual([
      { day: key(6), amount: '0', observed: false },
      { day: key(5), amount: '0', observed: false },
      { day: key(4), amount: '0', observed: false },
      { day: key(3), amount: '1', observed: true },
      { day: key(2), amount: '1', observed: true },
      { day: key(1), amount: '13.66', observed: true },
      { day: key(0), amount: '2', observed: true },
    ]);
    // Claude has one reading: seven days, nothing spent.
    const claude = json.providers.find((p) => p.id === 'claude')?.spend7d;
    expect(claude?.map((d) => d.amount)).toEqual(['0', '0', '0', '0', '0', '0', '0']);
  });

  it('GIVEN a running bot holds the embedded store open THEN the CLI records into the same file alongside it', async () => {
    await setClaude('8.07');
    const bot = await createCore(loadConfig(env), createLogger('silent'));
    try {
      await bot.service.checkAll();
      const [cli] = await Promise.all([runCheck(env), bot.service.checkAll()]);
      expect(cli.code).toBe(0);
      await bot.service.checkAll();
      // Two providers × (three bot checks + one CLI check), all in the one file.
      expect(await bot.history.count()).toBe(8);
    } finally {
      await bot.close();
    }
  });

  it('GIVEN npm run claude:record -- 9.99 THEN the next check reads that balance; GIVEN a bad amount THEN usage and exit 1', async () => {
    const record = join(import.meta.dirname, '../../dist/src/entry/claude-record.js');
    const ok = await runNode(record, env, ['9.99']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Recorded Claude balance $9.99 in claude_api_usage');
    expect(ok.stdout).not.toContain('postgres://');
    expect((await runCheck(env)).stdout).toContain('💳 **Claude:** $9.99 (threshold: $5.00)');
    const bad = await runNode(record, env, ['-3']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('usage: npm run claude:record -- <amount>');
  });

  it('GIVEN invalid settings THEN it lists every problem and exits 1 without checking anything', async () => {
    const before = moonshot.requests.length;
    const r = await runCheck({
      HOME: dir,
      DATA_DIR: join(dir, 'data'),
      PROVIDERS: 'claude,kimi',
      DEFAULT_THRESHOLD: '5.123',
      SUMMARY_CRON: 'every hour',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('MOONSHOT_API_KEY is missing');
    expect(r.stderr).toContain('CLAUDE_DB_URL (or SUPABASE_DB_HOST + SUPABASE_DB_PASSWORD) is missing');
    expect(r.stderr).toContain(
      'DEFAULT_THRESHOLD="5.123" has 3 decimals; use at most 2 decimals (e.g. 5.12)',
    );
    expect(r.stderr).toContain('SUMMARY_CRON="every hour" is not a cron pattern');
    expect(moonshot.requests.length).toBe(before);
  });
});
