import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alertButtonId } from '../../src/core/alerts/buttons.js';
import { loadConfig } from '../../src/core/config.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { fakeDiscordEnv } from '../support/bot-env.js';
import {
  type FakeDiscord,
  Permission,
  type RecordedMessage,
  startFakeDiscord,
  stringOption,
  subcommand,
  subcommandGroup,
} from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const MEMBER = { id: '400000000000000001', username: 'ana.finance' };
const ADMIN = { id: '400000000000000002', username: 'ops.admin' };
const HOUR = 3_600_000;

interface Replica {
  readonly bot: Bot;
  /** Every log line's message so far. */
  readonly logs: () => { msg: string; interactionId?: string }[];
}

/**
 * Two bots on one Postgres and one (fake) Discord, as two replicas run: each holds a gateway session, so each
 * receives every interaction, and both run the alert check. Each test gets its own database, fake Discord and
 * pair of replicas, and makes the readings it relies on.
 */
describe('two replicas sharing one store: alerts, clicks and quiet hours, each acted on once', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let db: TestDatabase;
  let dir: string;
  let a: Replica;
  let b: Replica;
  // One clock for both replicas, moved by the tests.
  let clock: number;
  let n = 0;

  const start = async (): Promise<Replica> => {
    const logs = captureLogs('info');
    const config = loadConfig({
      HOME: dir,
      DATA_DIR: join(dir, `data-${++n}`),
      BALANCE_LOG_DIR: join(dir, `logs-${n}`),
      DATABASE_URL: db.connectionString,
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-replicas-e2e-SECRET',
      MOONSHOT_BASE_URL: moonshot.url,
      ...fakeDiscordEnv(fake),
    });
    const bot = await startBot(config, logs.logger, {
      dryRun: false,
      rest: { retries: 1, timeout: 5000 },
      postRetry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200 },
      now: () => new Date(clock),
    });
    const logLines = () =>
      logs.lines
        .flatMap((l) => l.split('\n').filter(Boolean))
        .map((l) => JSON.parse(l) as { msg: string; interactionId?: string });
    return { bot, logs: logLines };
  };

  /** Both replicas run the alert check for the same slot at once (one of them gets it), Kimi at `available`. */
  const checkBoth = async (iso: string, available: number) => {
    moonshot.setReply(moonshotBalance(available, 0, available));
    clock = Date.parse(iso);
    await Promise.all([a.bot.alerts.job.trigger(new Date(clock)), b.bot.alerts.job.trigger(new Date(clock))]);
  };

  const created = (from: number) => fake.messages.slice(from).filter((m) => m.kind === 'create');
  const count = (msg: string, interactionId?: string) =>
    [...a.logs(), ...b.logs()].filter(
      (l) => l.msg === msg && (interactionId === undefined || l.interactionId === interactionId),
    ).length;

  beforeEach(async () => {
    clock = Date.parse('2030-03-01T10:00:00Z');
    dir = mkdtempSync(join(tmpdir(), 'cw-replicas-e2e-'));
    db = await createTestDatabase('cw_replicas');
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(12, 0, 12));
    // One after the other: the first runs the migrations.
    a = await start();
    b = await start();
    await fake.waitFor(() => fake.gateway.openSockets >= 2, 10_000, 'two gateway sessions');
  }, 60_000);

  afterEach(async () => {
    await a?.bot.stop(1000);
    await b?.bot.stop(1000);
    await fake?.close();
    await moonshot?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN both replicas check THEN one low alert; GIVEN Acknowledge clicked THEN one replica acts on it, the alert is edited once, and the other replica sends no reminder', async () => {
    const before = fake.messages.length;
    // A slow fall ($0.40 a day): low, but nowhere near running out within 24 h.
    await checkBoth('2030-02-27T10:05:00Z', 5.6);
    await checkBoth('2030-03-01T10:05:00Z', 4.8);
    const alert: RecordedMessage = await fake.waitFor(
      () => created(before).find((m) => m.content?.includes('Kimi credits low!')),
      10_000,
      'the low alert',
    );
    expect(created(before)).toHaveLength(1);

    const episode = (await b.bot.alerts.state('kimi'))!.episode;
    const click = fake.clickButton({
      messageId: alert.id,
      customId: alertButtonId('ack', 'kimi', episode),
      user: MEMBER,
    });
    await click.final(15_000);
    // Both replicas got the click: one acted, the other stood aside.
    await fake.waitFor(
      () => count('another replica handles this interaction', click.id) === 1,
      10_000,
      'the other replica standing aside',
    );
    expect(count('alert button')).toBe(1);
    expect(fake.messages.filter((m) => m.kind === 'edit' && m.id === alert.id)).toHaveLength(1);
    for (const r of [a, b]) {
      expect(await r.bot.alerts.state('kimi')).toMatchObject({
        episode,
        acknowledgedBy: `${MEMBER.username} (${MEMBER.id})`,
      });
    }

    // A day later each replica runs a check of its own: the episode is acknowledged, so no reminder.
    const later = fake.messages.length;
    moonshot.setReply(moonshotBalance(4.8, 0, 4.8));
    clock += 25 * HOUR;
    await b.bot.alerts.job.trigger(new Date(clock));
    clock += 5 * 60_000;
    await a.bot.alerts.job.trigger(new Date(clock));
    expect(created(later)).toEqual([]);
    expect((await a.bot.alerts.state('kimi'))?.reminders).toBe(0);
  }, 60_000);

  it('GIVEN /alerts snooze answered by one replica THEN the other holds non-critical alerts too, and the command was run once', async () => {
    // Kimi low at $4.80: the low alert is out, so what follows are top-ups from there.
    const start = fake.messages.length;
    await checkBoth('2030-03-01T10:05:00Z', 4.8);
    await fake.waitFor(
      () => created(start).find((m) => m.content?.includes('Kimi credits low!')),
      10_000,
      'the low alert',
    );
    const cmd = fake.sendCommand({
      name: 'alerts',
      options: [subcommand('snooze', [stringOption('account', 'kimi'), stringOption('duration', '2h')])],
      user: ADMIN,
      permissions: Permission.ManageGuild,
    });
    expect((await cmd.final(15_000)).content).toMatch(/^🔕 Kimi snoozed for 2h/);
    await fake.waitFor(
      () => count('another replica handles this interaction', cmd.id) === 1,
      10_000,
      'the other replica standing aside',
    );
    expect([...a.logs(), ...b.logs()].filter((l) => l.msg === 'alerts snoozed')).toHaveLength(1);
    const before = fake.messages.length;
    clock += 5 * 60_000;
    moonshot.setReply(moonshotBalance(4.9, 0, 4.9));
    // Each replica checks a slot of its own: neither sends the top-up.
    await a.bot.alerts.job.trigger(new Date(clock));
    moonshot.setReply(moonshotBalance(5.0, 0, 5.0));
    clock += 5 * 60_000;
    await b.bot.alerts.job.trigger(new Date(clock));
    expect(created(before)).toEqual([]);
  }, 60_000);

  it('GIVEN quiet hours set through one replica THEN alerts raised on either are held and, after the window, delivered once as one message', async () => {
    // Kimi at $5.00 (not below the $5.00 threshold: no alert), so the night's readings are top-ups from there.
    await checkBoth('2030-03-03T19:00:00Z', 5.0);
    expect(await a.bot.alerts.state('kimi')).toMatchObject({ state: 'ok' });
    clock = Date.parse('2030-03-03T20:00:00Z'); // 21:00 in Paris (UTC+1)
    const set = fake.sendCommand({
      name: 'alerts',
      options: [
        subcommandGroup('quiet-hours', [
          subcommand('set', [
            stringOption('from', '22:00'),
            stringOption('to', '06:30'),
            stringOption('timezone', 'Europe/Paris'),
          ]),
        ]),
      ],
      user: ADMIN,
      permissions: Permission.ManageGuild,
    });
    expect((await set.final(15_000)).content).toMatch(/^🔕 Quiet hours set: 22:00–06:30 Europe\/Paris/);
    expect(await a.bot.alerts.quietHours()).toMatchObject({ timeZone: 'Europe/Paris' });

    const before = fake.messages.length;
    // Top-ups at night, one on each replica's own slot.
    moonshot.setReply(moonshotBalance(5.1, 0, 5.1));
    clock = Date.parse('2030-03-03T22:00:00Z');
    await a.bot.alerts.job.trigger(new Date(clock));
    moonshot.setReply(moonshotBalance(5.2, 0, 5.2));
    clock = Date.parse('2030-03-04T02:00:00Z');
    await b.bot.alerts.job.trigger(new Date(clock));
    expect(created(before)).toEqual([]);
    expect(await a.bot.alerts.heldCount()).toBe(2);

    // 06:35 in Paris: both replicas check (different slots, at once); one delivers the held alerts.
    clock = Date.parse('2030-03-04T05:35:00Z');
    await Promise.all([
      a.bot.alerts.job.trigger(new Date(clock)),
      b.bot.alerts.job.trigger(new Date(clock + 60_000)),
    ]);
    const held = await fake.waitFor(
      () => created(before).find((m) => m.content?.startsWith('🔕')),
      10_000,
      'the held alerts',
    );
    expect(held.content).toContain('**2 alerts held during quiet hours** (22:00–06:30 Europe/Paris)');
    expect(held.content).toContain('💰 Kimi topped up +$0.10 (now $5.10)');
    expect(held.content).toContain('💰 Kimi topped up +$0.10 (now $5.20)');
    expect(created(before)).toHaveLength(1);
    expect(await b.bot.alerts.heldCount()).toBe(0);
  }, 60_000);
});
