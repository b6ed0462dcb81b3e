import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord.js';
import { type FakeMoonshot, startFakeMoonshot } from '../support/fake-moonshot.js';
import { runNode } from '../support/run-node.js';

// The compiled programs, as `npm start` and `npm run deploy-commands` run them (npm test builds first).
const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/entry/main.js');
const DEPLOY = join(ROOT, 'dist/src/entry/deploy-commands.js');

async function exitOf(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, ms: Date.now() - t0 };
}

describe('the bot as a process', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  const env = (extra: Record<string, string> = {}) => ({
    HOME: dir,
    // Not the project's .env (read whatever the cwd): only these settings.
    ENV_FILE: join(dir, '.env'),
    DATA_DIR: join(dir, 'data'),
    BALANCE_LOG_DIR: join(dir, 'logs'),
    PROVIDERS: 'kimi',
    MOONSHOT_API_KEY: 'sk-process-SECRET',
    MOONSHOT_BASE_URL: moonshot.url,
    DISCORD_TOKEN: fake.token,
    HTTP_PORT: '0',
    DISCORD_API_URL: fake.apiUrl,
    SUMMARY_CHANNEL_ID: fake.channelId,
    // No digest during a test (its default, 09:00 UTC, could fall inside one).
    DIGEST_CRON: 'off',
    LOG_LEVEL: 'info',
    ...extra,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-proc-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
    moonshot = await startFakeMoonshot();
  });
  afterAll(async () => {
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a guild id THEN deploy-commands looks up the application and registers all four commands in the guild', async () => {
    const r = await runNode(
      DEPLOY,
      env({
        DISCORD_GUILD_ID: fake.guildId,
        PROVIDERS: 'claude,kimi',
        CLAUDE_DB_URL: 'postgres://u@127.0.0.1:1/x',
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Registered 4 commands (/alerts, /balance, /balance-history, /threshold) in guild',
    );
    expect(fake.requests.some((q) => q.method === 'GET' && q.path === '/applications/@me')).toBe(true);
    const reg = fake.registrations.at(-1)!;
    expect(reg.scope).toBe('guild');
    expect(reg.guildId).toBe(fake.guildId);
    const body = reg.body as {
      name: string;
      options?: {
        name: string;
        type: number;
        choices?: unknown[];
        options?: { name: string; min_value?: number; max_value?: number; required?: boolean }[];
      }[];
      default_member_permissions?: string | null;
      contexts?: number[] | null;
    }[];
    const byName = Object.fromEntries(body.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['alerts', 'balance', 'balance-history', 'threshold']);
    const choices = [
      { name: 'Claude', value: 'claude' },
      { name: 'Kimi', value: 'kimi' },
    ];
    expect(byName.balance?.options?.find((o) => o.name === 'account')?.choices).toEqual(choices);
    expect(byName['balance-history']?.options?.find((o) => o.name === 'account')?.choices).toEqual(choices);
    expect(byName.balance?.options?.find((o) => o.name === 'fresh')?.type).toBe(5);
    expect(byName['balance-history']?.options?.find((o) => o.name === 'period')?.choices).toEqual(
      ['24h', '7d', '30d', '90d'].map((p) => ({ name: p, value: p })),
    );
    const threshold = byName.threshold!;
    // No command-wide permission: members may run `/threshold show`; set and reset are guarded per subcommand.
    expect(threshold.default_member_permissions ?? null).toBeNull();
    expect(threshold.contexts).toEqual([0]);
    expect(threshold.options?.map((o) => o.name)).toEqual(['set', 'show', 'reset']);
    const amount = threshold.options?.[0]?.options?.find((o) => o.name === 'amount');
    // Both optional: `/threshold set` takes the threshold, the critical level, or both (one is required at run time).
    expect(amount).toMatchObject({ min_value: 0, max_value: 1_000_000, required: false });
    const critical = threshold.options?.[0]?.options?.find((o) => o.name === 'critical');
    expect(critical).toMatchObject({ min_value: 0, max_value: 1_000_000, required: false });
    // /alerts: status, snooze, unsnooze, the quiet-hours group (set from/to/timezone, clear) and test.
    const alerts = byName.alerts!;
    expect(alerts.contexts).toEqual([0]);
    expect(alerts.options?.map((o) => [o.name, o.type])).toEqual([
      ['status', 1],
      ['snooze', 1],
      ['unsnooze', 1],
      ['quiet-hours', 2],
      ['test', 1],
    ]);
    const quiet = alerts.options?.find((o) => o.name === 'quiet-hours') as unknown as {
      options: { name: string; options?: { name: string; type: number; required?: boolean }[] }[];
    };
    expect(quiet.options.map((o) => o.name)).toEqual(['set', 'clear']);
    expect(quiet.options[0]?.options?.map((o) => [o.name, o.type, o.required])).toEqual([
      ['from', 3, true],
      ['to', 3, true],
      ['timezone', 3, true],
    ]);
    expect(alerts.options?.find((o) => o.name === 'test')?.options ?? []).toEqual([]);
  });

  it('GIVEN no guild id and an application id THEN deploy-commands registers globally without a lookup', async () => {
    const before = fake.requests.filter((q) => q.path === '/applications/@me').length;
    const r = await runNode(
      DEPLOY,
      env({
        DISCORD_APPLICATION_ID: fake.applicationId,
        PROVIDERS: 'kimi,kimi:cn',
        MOONSHOT_CN_API_KEY: 'sk-process-cn-SECRET',
        MOONSHOT_CN_BASE_URL: moonshot.url,
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('globally');
    expect(fake.registrations.at(-1)?.scope).toBe('global');
    expect(fake.requests.filter((q) => q.path === '/applications/@me').length).toBe(before);
    // Only the enabled accounts are offered, by id and label, in every command's `account` option.
    type Option = { name: string; choices?: unknown[]; options?: Option[] };
    const body = fake.registrations.at(-1)!.body as { name: string; options: Option[] }[];
    const accountOptions = body.flatMap((c) =>
      c.options.flatMap((o) => [o, ...(o.options ?? [])]).filter((o) => o.name === 'account'),
    );
    // /balance, /balance-history, /threshold set, /threshold reset, /alerts snooze and /alerts unsnooze.
    expect(accountOptions).toHaveLength(6);
    for (const o of accountOptions) {
      expect(o.choices).toEqual([
        { name: 'Kimi', value: 'kimi' },
        { name: 'Kimi (cn)', value: 'kimi:cn' },
      ]);
    }
    expect(JSON.stringify(body)).not.toContain('"name":"provider"');
  });

  it('GIVEN no DISCORD_TOKEN THEN npm start stops with a clear message naming the token and --dry-run', async () => {
    const r = await runNode(MAIN, env({ DISCORD_TOKEN: '' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DISCORD_TOKEN is missing');
    expect(r.stderr).toContain('--dry-run');
  });

  it('GIVEN SIGTERM THEN the running bot closes its gateway connection and exits 0 within a few seconds', async () => {
    const identifies = fake.gateway.identifyCount;
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...env() },
      cwd: dir,
      stdio: 'pipe',
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await fake.waitFor(
      () => fake.gateway.identifyCount > identifies && stderr.includes('creditwatch started'),
      15_000,
      'bot ready',
    );
    const exited = exitOf(child);
    child.kill('SIGTERM');
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(6000);
    expect(stderr).toContain('creditwatch stopped');
    expect(stderr).not.toContain(fake.token);
    expect(stderr).not.toContain('sk-process-SECRET');
    await fake.waitFor(() => fake.gateway.openSockets === 0, 5000, 'socket closed');
  });

  it('GIVEN --dry-run THEN the schedule runs and each post is printed to stdout, and SIGINT exits 0', async () => {
    const child = spawn(process.execPath, [MAIN, '--dry-run'], {
      env: { PATH: process.env.PATH ?? '', ...env({ DISCORD_TOKEN: '', SUMMARY_CRON: '*/1 * * * * *' }) },
      cwd: dir,
      stdio: 'pipe',
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    await fake.waitFor(() => stdout.includes('Adds an alert if it is < $5.00'), 10_000, 'dry-run post');
    const exited = exitOf(child);
    child.kill('SIGINT');
    expect((await exited).code).toBe(0);
    expect(stdout).toContain(`--- dry run: post to <#${fake.channelId}>`);
    expect(stdout).toContain(
      '📊 **API Balance Summary**\n\n🌙 **Kimi:** $49.59 available (threshold: $5.00)',
    );
  });
});
