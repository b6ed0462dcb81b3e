import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/storage/db.js';
import { HistoryStore } from '../../src/adapters/storage/history.js';
import { runNode } from '../support/run-node.js';

const SCRIPT = join(import.meta.dirname, '../../dist/src/entry/import-logs.js');

const run = (env: Record<string, string>, files: string[]) => runNode(SCRIPT, env, files);

const CLAUDE_LOG = [
  '[2026-01-29 09:00:00] Claude: $8.07',
  '[2026-01-29 10:00:00] Claude: $     8.05',
  '[2026-01-29 11:00:00] Claude: $',
  '[2026-01-29 12:00:00] Claude: $8.03',
  'garbage line',
  '',
].join('\n');

const MOONSHOT_LOG = [
  '2026-01-29 09:00:00 | Available: $12.34 | Voucher: $3.45 | Cash: $8.89',
  '[2026-01-29 09:00:00] POSTED: 🌙 Kimi Balance: $12.34 (voucher: $3.45, cash: $8.89)',
  '2026-01-29 10:00:00 | Available: $12.32 | Voucher: $3.45 | Cash: $8.87',
  '[2026-01-29 11:00:00] Moonshot: $12.30',
  '2026-01-29 12:00:00 | Available: $null | Voucher: $null | Cash: $null',
  '',
].join('\n');

describe('npm run import-logs', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cw-import-'));
    writeFileSync(join(dir, 'claude.txt'), CLAUDE_LOG);
    writeFileSync(join(dir, 'moonshot.txt'), MOONSHOT_LOG);
    // No provider secrets: importing needs only the history store.
    env = { HOME: dir, DATA_DIR: join(dir, 'data'), PROVIDERS: 'claude,kimi' };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN the seed log formats THEN readings are imported, the rest skipped and counted, and a second import adds nothing', async () => {
    // A store of its own: "already had 0" must not depend on what another test ran against the shared one.
    const seedEnv = { ...env, DATA_DIR: join(dir, 'seed') };
    const first = await run(seedEnv, [join(dir, 'claude.txt'), join(dir, 'moonshot.txt')]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('claude.txt: imported 3, already had 0, skipped 2');
    expect(first.stdout).toContain(
      "moonshot.txt: imported 3, already had 0, skipped 2 (1 POSTED line — the seed's copy of a post, not a reading; 1 failed check, 0 unparseable)",
    );
    // Each line format the readings came in is counted, combined-balance-check.sh's "Moonshot: $X" included.
    expect(first.stdout).toContain('  readings: 3 × […] Claude: $X\n');
    expect(first.stdout).toContain(
      '  readings: 1 × […] Moonshot: $X, 2 × … | Available: $X | Voucher: $Y | Cash: $Z\n',
    );
    expect(first.stdout).toContain('total: imported 6, already had 0, skipped 4');

    const second = await run(seedEnv, [join(dir, 'claude.txt'), join(dir, 'moonshot.txt')]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('total: imported 0, already had 6, skipped 4');

    const db = await openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'seed/creditwatch.sqlite') });
    try {
      const h = new HistoryStore(db);
      const from = new Date('2026-01-29T00:00:00Z');
      const to = new Date('2026-01-30T00:00:00Z');
      const kimi = await h.range('kimi', from, to);
      expect(kimi.map((r) => (r.ok ? [r.checkedAt.toISOString(), r.available.toFixed(2)] : null))).toEqual([
        ['2026-01-29T09:00:00.000Z', '12.34'],
        ['2026-01-29T10:00:00.000Z', '12.32'],
        ['2026-01-29T11:00:00.000Z', '12.30'],
      ]);
      const claude = await h.range('claude', from, to);
      expect(claude.map((r) => (r.ok ? r.available.toFixed(2) : null))).toEqual(['8.07', '8.05', '8.03']);
    } finally {
      await db.close();
    }
  });

  it('GIVEN a log longer than one batch THEN it is streamed: every line counted once, problems numbered in the whole file', async () => {
    // 12,001 lines: a reading a minute for 200 hours, with a bad line at 7,777 and a blank line at 10,000.
    const start = Date.UTC(2025, 0, 1);
    const stamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      if (i === 7_776) lines.push('garbage in the middle');
      else if (i === 9_999) lines.push('');
      else lines.push(`[${stamp(start + i * 60_000)}] Claude: $${(5000 - i / 100).toFixed(2)}`);
    }
    lines.push(`[${stamp(start + 12_000 * 60_000)}] Claude: $1.00`);
    const file = join(dir, 'long.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const streamedEnv = { ...env, DATA_DIR: join(dir, 'streamed') };
    const r = await run(streamedEnv, [file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('long.txt: imported 11999, already had 0, skipped 1');
    expect(r.stdout).toContain('line 7777: unrecognised line: garbage in the middle');
    const again = await run(streamedEnv, [file]);
    expect(again.stdout).toContain('total: imported 0, already had 11999, skipped 1');
    const db = await openDatabase({
      databaseUrl: null,
      sqlitePath: join(dir, 'streamed/creditwatch.sqlite'),
    });
    try {
      const w = await new HistoryStore(db).window(
        'claude',
        new Date(start),
        new Date(start + 300 * 3_600_000),
      );
      expect(w.digest?.readings).toBe(11_999);
      expect(w.digest?.last.available.toFixed(2)).toBe('1.00');
    } finally {
      await db.close();
    }
  });

  it('GIVEN a missing file THEN it says so and exits 1', async () => {
    const r = await run(env, [join(dir, 'nope.txt')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nope.txt: cannot read (ENOENT)');
  });

  it('GIVEN no file, an unknown option or --help THEN it says what is wrong and shows the usage', async () => {
    const usage = 'usage: npm run import-logs -- <balance-log file>...';
    const none = await run(env, []);
    expect(none.code).toBe(1);
    expect(none.stderr.startsWith(`no balance-log file given\n\n${usage}`)).toBe(true);
    const unknown = await run(env, ['--since', '2026-01-01', join(dir, 'claude.txt')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown option '--since'");
    expect(unknown.stderr).toContain(usage);
    expect(unknown.stdout).toBe('');
    const help = await run(env, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(usage);
    expect(help.stderr).toBe('');
    // After `--` every argument is a file, even one that looks like an option.
    const dashed = await run(env, ['--', '--help']);
    expect(dashed.code).toBe(1);
    expect(dashed.stderr).toContain('--help: cannot read (ENOENT)');
  });
});
