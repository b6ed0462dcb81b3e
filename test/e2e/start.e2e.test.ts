import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord.js';
import { type FakeMoonshot, getClosedPort, startFakeMoonshot } from '../support/fake-moonshot.js';
import { runNode } from '../support/run-node.js';

// `npm start`'s program, as npm runs it (npm test builds first).
const MAIN = join(import.meta.dirname, '../../dist/src/entry/main.js');
const MESSAGES_PATH = /^\/channels\/\d+\/messages$/;
// Once a year: a post seen within seconds can only be the one made at start.
const FAR_CRON = '0 0 1 1 *';
// Several processes per test on a shared 2-core machine: generous, and no test asserts a duration.
const SLOW = 90_000;

/** The JSON log lines a process wrote to stderr. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('npm start: a trial run, --once, and what the logs say', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  const env = (extra: Record<string, string> = {}): Record<string, string> => {
    const home = mkdtempSync(join(dir, 'run-'));
    return {
      HOME: home,
      // Not the project's .env (read whatever the cwd): only these settings.
      ENV_FILE: join(home, '.env'),
      DATA_DIR: join(home, 'data'),
      BALANCE_LOG_DIR: join(home, 'logs'),
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-start-SECRET',
      MOONSHOT_BASE_URL: moonshot.url,
      DISCORD_TOKEN: fake.token,
      HTTP_PORT: '0',
      DISCORD_API_URL: fake.apiUrl,
      SUMMARY_CHANNEL_ID: fake.channelId,
      SUMMARY_CRON: FAR_CRON,
      // No digest during a test (its default, 09:00 UTC, could fall inside one).
      DIGEST_CRON: 'off',
      LOG_LEVEL: 'info',
      ...extra,
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-start-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
    moonshot = await startFakeMoonshot();
  });
  afterAll(async () => {
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  it(
    'GIVEN --dry-run THEN one summary is printed at once, then the schedule is followed until SIGINT',
    async () => {
      const child = spawn(process.execPath, [MAIN, '--dry-run'], {
        env: { PATH: process.env.PATH ?? '', ...env({ DISCORD_TOKEN: '' }) },
        stdio: 'pipe',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      try {
        await fake.waitFor(() => stderr.includes('now following the schedule'), 15_000, 'first dry-run post');
        expect(stdout).toContain(`--- dry run: post to <#${fake.channelId}>`);
        expect(stdout).toContain('📊 **API Balance Summary**');
        expect(stdout.match(/--- dry run: post to/g)).toHaveLength(1);
        const started = jsonLines(stderr).find((l) => l.msg === 'creditwatch started');
        expect(started?.next).toMatch(/^\d{4}-01-01T00:00:00/);
      } finally {
        const exited = exitOf(child);
        child.kill('SIGINT');
        expect(await exited).toBe(0);
      }
    },
    SLOW,
  );

  it(
    'GIVEN --once --dry-run, or --once with DRY_RUN=true THEN one summary is printed and it exits 0',
    async () => {
      for (const [args, extra] of [
        [['--once', '--dry-run'], { DISCORD_TOKEN: '' }],
        [['--once'], { DISCORD_TOKEN: '', DRY_RUN: 'true' }],
      ] as const) {
        const r = await runNode(MAIN, env(extra), args);
        expect(r.code).toBe(0);
        expect(r.stdout.match(/--- dry run: post to/g)).toHaveLength(1);
        expect(r.stdout).toContain('🌙 **Kimi:**');
        const done = jsonLines(r.stderr).find((l) => l.msg === 'summary posted; exiting (--once)');
        expect(done).toMatchObject({ dryRun: true, channelId: fake.channelId, messageId: null });
      }
    },
    SLOW,
  );

  it(
    'GIVEN --once THEN one summary is posted to Discord over REST (no gateway session), logged with channel and message id, exit 0',
    async () => {
      const identifies = fake.gateway.identifyCount;
      const before = fake.messages.length;
      const r = await runNode(MAIN, env(), ['--once']);
      expect(r.code).toBe(0);
      const posted = fake.messages.slice(before);
      expect(posted).toHaveLength(1);
      expect(posted[0]?.channelId).toBe(fake.channelId);
      expect(posted[0]?.content).toContain('📊 **API Balance Summary**');
      expect(fake.gateway.identifyCount).toBe(identifies);
      const lines = jsonLines(r.stderr);
      expect(lines.find((l) => l.msg === 'posted')).toMatchObject({
        channelId: fake.channelId,
        messageId: posted[0]?.id,
      });
      expect(lines.find((l) => l.msg === 'summary posted; exiting (--once)')).toMatchObject({
        channelId: fake.channelId,
        messageId: posted[0]?.id,
      });
      expect(r.stderr).not.toContain(fake.token);
      expect(r.stdout).toBe('');
    },
    SLOW,
  );

  it(
    'GIVEN --once and Discord refuses the post THEN it says POST FAILED and exits non-zero',
    async () => {
      fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ status: 403 }]);
      const before = fake.messages.length;
      const r = await runNode(MAIN, env(), ['--once']);
      expect(r.code).not.toBe(0);
      expect(fake.messages.length).toBe(before);
      const lines = jsonLines(r.stderr);
      expect(lines.some((l) => l.msg === 'POST FAILED' && l.channelId === fake.channelId)).toBe(true);
      expect(lines.some((l) => l.msg === 'summary not posted (--once)')).toBe(true);
    },
    SLOW,
  );

  it(
    'GIVEN a scheduled summary THEN its "run finished" line says what was posted where',
    async () => {
      const child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH ?? '', ...env({ SUMMARY_CRON: '*/1 * * * * *' }) },
        stdio: 'pipe',
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      try {
        const finished = await fake.waitFor(
          () => jsonLines(stderr).find((l) => l.msg === 'run finished' && l.job === 'summary'),
          20_000,
          'a summary run',
        );
        expect(finished).toMatchObject({ posted: 'summary', channelId: fake.channelId });
        expect(fake.messages.map((m) => m.id)).toContain(finished.messageId);
      } finally {
        const exited = exitOf(child);
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
    },
    SLOW,
  );

  it(
    'GIVEN SIGTERM while the bot is still starting THEN it stops cleanly and exits 0 (not killed mid-start)',
    async () => {
      // Hold the gateway lookup, so the signal lands inside startBot.
      fake.failNext({ method: 'GET', pathPattern: /^\/gateway\/bot$/ }, [{ delayMs: 3000 }]);
      const t0 = Date.now();
      const child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH ?? '', ...env() },
        stdio: 'pipe',
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = exitOf(child);
      await fake.waitFor(
        () => fake.requests.some((r) => r.path === '/gateway/bot' && r.time >= t0),
        30_000,
        'gateway lookup',
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const messages = jsonLines(stderr).map((l) => l.msg);
      expect(messages).toContain('shutting down');
      expect(messages).toContain('creditwatch stopped');
    },
    SLOW,
  );

  it(
    'GIVEN LOG_LEVEL=warn and a failing provider THEN the failed check is still logged, at warn',
    async () => {
      const port = await getClosedPort();
      const r = await runNode(
        MAIN,
        env({ DISCORD_TOKEN: '', LOG_LEVEL: 'warn', MOONSHOT_BASE_URL: `http://127.0.0.1:${port}` }),
        ['--once', '--dry-run'],
      );
      expect(r.code).toBe(0);
      const checked = jsonLines(r.stderr).find((l) => l.msg === 'balance checked');
      expect(checked).toMatchObject({ level: 40, provider: 'kimi', state: 'failed' });
      expect(String(checked?.reason)).toContain('ECONNREFUSED');
    },
    SLOW,
  );

  it(
    'GIVEN stderr is not a terminal THEN logs are JSON; GIVEN LOG_FORMAT=pretty THEN they read as text',
    async () => {
      const json = await runNode(MAIN, env({ DISCORD_TOKEN: '' }), ['--once', '--dry-run']);
      expect(jsonLines(json.stderr).length).toBeGreaterThan(0);
      const pretty = await runNode(MAIN, env({ DISCORD_TOKEN: '', LOG_FORMAT: 'pretty' }), [
        '--once',
        '--dry-run',
      ]);
      expect(pretty.code).toBe(0);
      expect(jsonLines(pretty.stderr)).toEqual([]);
      expect(pretty.stderr).toMatch(
        /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] INFO: summary posted; exiting \(--once\)$/m,
      );
      expect(pretty.stderr).not.toContain('sk-start-SECRET');
      const bad = await runNode(MAIN, env({ DISCORD_TOKEN: '', LOG_FORMAT: 'fancy' }), [
        '--once',
        '--dry-run',
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('LOG_FORMAT="fancy" must be json or pretty');
    },
    SLOW,
  );
});
