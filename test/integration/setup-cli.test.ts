import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_VALUES } from '../../src/core/config.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { runNode } from '../support/run-node.js';

// The compiled CLIs, as npm runs them (npm test builds before vitest runs).
const ROOT = join(import.meta.dirname, '../..');
const CHECK = join(ROOT, 'dist/check.cjs');
const RECORD = join(ROOT, 'dist/src/entry/claude-record.js');
const KEY = 'sk-setup-SECRET-key-7';

describe('a new user setting up the CLIs', () => {
  let moonshot: FakeMoonshot;
  let dir: string;

  beforeAll(async () => {
    expect(existsSync(CHECK), 'run `npm run build` first (npm test does)').toBe(true);
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
    dir = mkdtempSync(join(tmpdir(), 'cw-setup-'));
  });
  afterAll(async () => {
    await moonshot?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN cron runs dist/check.cjs from another directory THEN the project .env is read and relative DATA_DIR / BALANCE_LOG_DIR land in the project folder; --verbose names them', async () => {
    // A copy of the built project (the bundle and its package.json), so its .env is the test's own.
    const project = join(dir, 'project');
    mkdirSync(join(project, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'dist/check'), join(project, 'dist/check'), { recursive: true });
    cpSync(CHECK, join(project, 'dist/check.cjs'));
    cpSync(join(ROOT, 'package.json'), join(project, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
    writeFileSync(
      join(project, '.env'),
      [
        'PROVIDERS=kimi',
        `MOONSHOT_API_KEY=${KEY}`,
        `MOONSHOT_BASE_URL=${moonshot.url}`,
        'DATA_DIR=./data',
        'BALANCE_LOG_DIR=./logs',
      ].join('\n'),
    );
    const elsewhere = join(dir, 'cron-cwd');
    mkdirSync(elsewhere);

    // ENV_FILE empty: the default, the project's .env.
    const r = await runNode(join(project, 'dist/check.cjs'), { HOME: elsewhere, ENV_FILE: '' }, [
      '--verbose',
    ]);
    expect(r.stdout).toContain('🌙 **Kimi:** $12.34 available (threshold: $5.00)');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `settings: ${join(project, '.env')}\n` +
        `store: sqlite ${join(project, 'data/creditwatch.sqlite')}\n` +
        `balance logs: ${join(project, 'logs')}\n`,
    );
    expect(existsSync(join(project, 'data/creditwatch.sqlite'))).toBe(true);
    expect(readFileSync(join(project, 'logs/moonshot/balance-log.txt'), 'utf8')).toContain(
      'Available: $12.34',
    );
    // Nothing under the directory cron ran it from: one history, not two.
    expect(existsSync(join(elsewhere, 'data'))).toBe(false);
    expect(existsSync(join(elsewhere, 'logs'))).toBe(false);
  });

  it('GIVEN --provider kimi and no Claude settings THEN it checks Kimi without asking for them', async () => {
    const home = mkdtempSync(join(dir, 'kimi-'));
    const r = await runNode(
      CHECK,
      {
        HOME: home,
        PROVIDERS: 'claude,kimi',
        MOONSHOT_API_KEY: KEY,
        MOONSHOT_BASE_URL: moonshot.url,
        DATA_DIR: join(home, 'data'),
        BALANCE_LOG_DIR: join(home, 'logs'),
      },
      ['--provider', 'kimi'],
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('$12.34');
    expect(r.code).toBe(0);
    // Without --provider, Claude's settings are still required.
    const all = await runNode(CHECK, { HOME: home, MOONSHOT_API_KEY: KEY, MOONSHOT_BASE_URL: moonshot.url });
    expect(all.code).toBe(1);
    expect(all.stderr).toContain(
      'CLAUDE_DB_URL (or SUPABASE_DB_HOST + SUPABASE_DB_PASSWORD) is missing; claude is in PROVIDERS',
    );
    // --provider claude without them names the flag, not PROVIDERS.
    const claude = await runNode(CHECK, { HOME: home, PROVIDERS: 'claude,kimi' }, ['--provider', 'claude']);
    expect(claude.code).toBe(1);
    expect(claude.stderr).toContain('is missing; --provider claude checks it');
    expect(claude.stderr).not.toContain('MOONSHOT_API_KEY');
  });

  it('GIVEN an unedited copy of .env.example THEN the error says which values are still the examples, before any network call', async () => {
    const home = mkdtempSync(join(dir, 'example-'));
    const before = moonshot.requests.length;
    const r = await runNode(CHECK, {
      HOME: home,
      ENV_FILE: join(ROOT, '.env.example'),
      DATA_DIR: join(home, 'data'),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    for (const name of ['MOONSHOT_API_KEY', 'SUPABASE_DB_HOST', 'SUPABASE_DB_PASSWORD']) {
      expect(r.stderr).toContain(`${name} is still the example value from .env.example`);
    }
    expect(r.stderr).not.toContain('db.example.supabase.co');
    expect(moonshot.requests.length).toBe(before);
  });

  it('GIVEN .env.example THEN every value it ships for a secret or address is one the config refuses', () => {
    const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const shipped = parseEnv(text);
    // The commented-out alternatives are examples too, once someone uncomments them.
    const commented = parseEnv(
      text
        .split('\n')
        .filter((l) => /^# [A-Z_]+=/.test(l))
        .map((l) => l.slice(2))
        .join('\n'),
    );
    for (const name of ['MOONSHOT_API_KEY', 'SUPABASE_DB_HOST', 'SUPABASE_DB_PASSWORD']) {
      expect(EXAMPLE_VALUES[name], name).toBe(shipped[name]);
    }
    expect(EXAMPLE_VALUES.CLAUDE_DB_URL).toBe(commented.CLAUDE_DB_URL);
  });

  describe('claude:record', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase('cw_record');
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('GIVEN PROVIDERS=kimi THEN it needs only the Claude database and says why it needs it', async () => {
      const home = mkdtempSync(join(dir, 'record-'));
      const missing = await runNode(RECORD, { HOME: home, PROVIDERS: 'kimi' }, ['8.07']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        'CLAUDE_DB_URL (or SUPABASE_DB_HOST + SUPABASE_DB_PASSWORD) is missing; claude:record writes to that database',
      );
      expect(missing.stderr).not.toContain('claude is in PROVIDERS');
      expect(missing.stderr).not.toContain('MOONSHOT_API_KEY');
      const ok = await runNode(
        RECORD,
        { HOME: home, PROVIDERS: 'kimi', CLAUDE_DB_URL: db.connectionString },
        ['8.07'],
      );
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toContain('Recorded Claude balance $8.07 in claude_api_usage');
      expect(ok.code).toBe(0);
    });

    it.each([
      [[], 'no amount given'],
      [['-3'], '"-3" is negative; a balance is 0 or more'],
      [['$8.07'], '"$8.07": give the number alone, without a currency sign'],
      [['8,07'], '"8,07": use a dot for decimals, e.g. 8.07'],
      [['8.123456'], '"8.123456" has more than 4 decimals'],
      [['123456789'], '"123456789" is too large (at most 9999999.9999)'],
      [['USD 8'], '"USD 8": give the number alone, without a currency sign'],
      [['eight'], '"eight" is not a plain number such as 8.07'],
      [['8.07', '9'], 'one amount expected, got 2 arguments'],
      [['1e3'], '"1e3" is not a plain number such as 8.07'],
    ])('GIVEN %j THEN it says what is wrong, then the usage, and exits 1', async (args, problem) => {
      const home = mkdtempSync(join(dir, 'record-bad-'));
      const r = await runNode(RECORD, { HOME: home, CLAUDE_DB_URL: db.connectionString }, args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `creditwatch: ${problem}\nusage: npm run claude:record -- <amount>   e.g. npm run claude:record -- 8.07\n`,
      );
    });
  });
});
