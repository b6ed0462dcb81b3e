import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import {
  type FakeDiscord,
  numberOption,
  Permission,
  startFakeDiscord,
  stringOption,
  subcommand,
} from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';

const KEY = 'sk-alerts-e2e-SECRET-1138';

/** Each test gets a bot of its own (fresh data directory, fake Discord and Kimi at $12) and sets up what it relies on. */
describe('alerts through the bot against a fake Discord (real discord.js client)', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let bot: Bot;
  let role: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-alerts-e2e-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(12, 0, 12));
    role = fake.roleIds.Member ?? '';
    const config = loadConfig({
      ...botEnv(dir, fake),
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: KEY,
      MOONSHOT_BASE_URL: moonshot.url,
      ALERT_MENTION_ROLE_ID: role,
    });
    bot = await startBot(config, createLogger('silent'), {
      dryRun: false,
      rest: { retries: 1, timeout: 5000 },
      postRetry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200 },
    });
  });

  afterEach(async () => {
    await bot?.stop(1000);
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Kimi checked at $12, then at $4.80 (below the default $5.00 threshold): the low alert is posted. */
  const fallLow = async () => {
    await bot.alerts.job.trigger(new Date('2030-01-01T10:00:00Z'));
    moonshot.setReply(moonshotBalance(4.8, 0, 4.8));
    await bot.alerts.job.trigger(new Date('2030-01-01T10:05:00Z'));
    return fake.waitForMessage((m) => m.content?.includes('Kimi credits low!') ?? false);
  };

  /** Kimi's threshold at $4.00, then one check at $4.80 (above it: no alert), so an alert state exists. */
  const okAtFourDollars = async () => {
    await bot.core.thresholds.set('kimi', parseAmount('4'), 'test');
    moonshot.setReply(moonshotBalance(4.8, 0, 4.8));
    await bot.alerts.job.trigger(new Date('2030-01-01T10:05:00Z'));
    expect(await bot.alerts.state('kimi')).toMatchObject({ state: 'ok' });
  };

  it('GIVEN the balance falls below the threshold THEN one low alert in the alert channel, pinging nobody', async () => {
    const alert = await fallLow();
    expect(alert.channelId).toBe(fake.channelId);
    expect(alert.content).toBe(
      '🌙 ⚠️ Kimi credits low! **$4.80** available (threshold: $5.00) · recovers at $5.50',
    );
    // Only critical alerts ping ALERT_MENTION_ROLE_ID.
    expect(alert.allowedMentions).toEqual({ parse: [], roles: [] });

    await bot.alerts.job.trigger(new Date('2030-01-01T10:10:00Z'));
    expect(fake.messages.filter((m) => m.content?.includes('Kimi credits'))).toHaveLength(1);
  });

  it('GIVEN an alert state THEN /balance shows it and since when', async () => {
    await fallLow();
    const reply = await fake.sendCommand({ name: 'balance' }).final();
    expect(reply.content).toMatch(/🔔 alert state: low since <t:\d+:f> \(reminder every 24h\)/);
  });

  it('GIVEN /threshold lowers the threshold THEN the recovery is posted at once, pinging nobody', async () => {
    await fallLow();
    const before = moonshot.requests.length;
    const set = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', 4)])],
      permissions: Permission.ManageGuild,
    });
    expect((await set.final()).content).toContain('Kimi threshold set to $4.00');
    const recovered = await fake.waitForMessage(
      (m) => m.content?.includes('Kimi credits recovered') ?? false,
    );
    expect(recovered.content).toMatch(
      /^🌙 ✅ Kimi credits recovered: \*\*\$4\.80\*\* available \(threshold: \$4\.00\) · back above \$4\.40 · low for \d+s$/,
    );
    expect(recovered.allowedMentions).toEqual({ parse: [], roles: [] });
    // Re-judged from the last check: the provider was not asked again.
    expect(moonshot.requests.length).toBe(before);
  });

  it('GIVEN the balance falls below the critical level THEN one critical alert pings the role; it re-arms above its margin and fires again; a top-up to $36 recovers it', async () => {
    const kimi = () =>
      fake.messages.filter((m) => m.kind === 'create' && /Kimi (credits|topped)/.test(m.content ?? ''));
    // The threshold at $4.00: critical at half of it, $2.00, re-armed at $2.20.
    await okAtFourDollars();
    const before = kimi().length;
    moonshot.setReply(moonshotBalance(1.5, 0, 1.5));
    await bot.alerts.job.trigger(new Date('2030-01-01T11:00:00Z'));
    const critical = await fake.waitForMessage((m) => m.content?.includes('critically low') ?? false);
    expect(critical.content).toBe(
      `<@&${role}> 🌙 🚨 Kimi credits critically low! **$1.50** available (critical: $2.00, threshold: $4.00) · recovers at $4.40`,
    );
    expect(critical.allowedMentions).toEqual({ parse: [], roles: [role] });
    await bot.alerts.job.trigger(new Date('2030-01-01T11:05:00Z'));
    expect(kimi().length).toBe(before + 1);

    moonshot.setReply(moonshotBalance(2.3, 0, 2.3));
    await bot.alerts.job.trigger(new Date('2030-01-01T11:10:00Z'));
    await fake.waitForMessage((m) => m.content === '💰 Kimi topped up +$0.80 (now $2.30)');
    expect(await bot.alerts.state('kimi')).toMatchObject({ state: 'low', balance: 'low' });

    moonshot.setReply(moonshotBalance(1.9, 0, 1.9));
    await bot.alerts.job.trigger(new Date('2030-01-01T11:15:00Z'));
    const again = await fake.waitFor(
      () => kimi().filter((m) => m.content?.includes('critically low')).length === 2,
      5000,
      'a second critical alert',
    );
    expect(again).toBe(true);

    moonshot.setReply(moonshotBalance(36, 0, 36));
    await bot.alerts.job.trigger(new Date('2030-01-01T11:20:00Z'));
    const recovered = await fake.waitForMessage(
      (m) => m.content?.includes('Kimi credits recovered') ?? false,
    );
    expect(recovered.allowedMentions).toEqual({ parse: [], roles: [] });
    await fake.waitForMessage((m) => m.content === '💰 Kimi topped up +$34.10 (now $36.00)');
    await bot.alerts.job.trigger(new Date('2030-01-01T11:25:00Z'));
    // Every message this test made: critical, top-up, critical, recovered, top-up, and nothing twice.
    expect(
      kimi()
        .slice(before)
        .map((m) => m.content?.match(/critically low|topped up|recovered/)?.[0]),
    ).toEqual(['critically low', 'topped up', 'critically low', 'recovered', 'topped up']);
    for (const m of fake.messages) expect((m.content ?? '').length).toBeLessThanOrEqual(2000);
  });

  it('GIVEN /threshold set with critical THEN an admin sets the critical level, a member cannot, and /threshold show lists it', async () => {
    await okAtFourDollars();
    const member = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('critical', 3)])],
    });
    expect((await member.final()).content).toContain('You need the Manage Server permission');
    const set = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('critical', 3)])],
      permissions: Permission.ManageGuild,
    });
    expect((await set.final()).content).toBe(
      '✅ Kimi critical level set to $3.00 (was half the threshold). The next post and alert check use it.',
    );
    const above = fake.sendCommand({
      name: 'threshold',
      options: [
        subcommand('set', [
          stringOption('account', 'kimi'),
          numberOption('amount', 2),
          numberOption('critical', 3),
        ]),
      ],
      permissions: Permission.ManageGuild,
    });
    expect((await above.final()).content).toContain('must not be above the threshold');
    const show = fake.sendCommand({ name: 'threshold', options: [subcommand('show')] });
    const shown = (await show.final()).content ?? '';
    expect(shown).toContain('🌙 **Kimi:** $4.00 · critical $3.00');
    expect(shown).toMatch(/• <t:\d+:f> Kimi critical level: default → \$3\.00 by /);
    // /threshold set starts the re-evaluation without waiting for it: on a loaded machine it lands a moment later.
    await expect
      .poll(async () => (await bot.alerts.state('kimi'))?.critical, { timeout: 10_000, interval: 50 })
      .toBe('3');
  });
});
