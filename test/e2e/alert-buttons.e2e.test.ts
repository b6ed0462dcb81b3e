import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertButtonId } from '../../src/core/alerts/buttons.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import {
  type FakeDiscord,
  Permission,
  type RecordedMessage,
  startFakeDiscord,
  stringOption,
  subcommand,
} from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';

const KEY = 'sk-alert-buttons-e2e-SECRET-2187';
const MEMBER = { id: '200000000000000001', username: 'ana.finance' };
const ADMIN = { id: '200000000000000002', username: 'ops.admin' };
const HOUR = 3_600_000;

type Button = { custom_id: string; label: string; disabled?: boolean };
const buttonsOf = (m: { components: readonly unknown[] } | Record<string, unknown> | null): Button[] =>
  ((m?.components ?? []) as { components: Button[] }[]).flatMap((row) => row.components);

describe('alert buttons through the bot against a fake Discord (real discord.js client)', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let bot: Bot;
  let role: string;
  // The bot's clock: each check is five minutes after the last (a check is judged by its time).
  let clock = Date.parse('2030-02-01T10:00:00Z');

  const check = async (available: number) => {
    moonshot.setReply(moonshotBalance(available, 0, available));
    clock += 5 * 60_000;
    await bot.alerts.job.trigger(new Date(clock));
  };

  /** A fresh low episode: back to $12 (ok, recovered if needed), then $4.80. Returns its alert message. */
  const lowAlert = async (): Promise<RecordedMessage> => {
    // A snooze left by another test would hold the low alert back: let it run out first.
    const snoozed = (await bot.alerts.state('kimi'))?.snoozedUntil;
    if (snoozed) clock = Math.max(clock, Date.parse(snoozed));
    await check(12);
    const before = fake.messages.length;
    await check(4.8);
    return fake.waitFor(
      () =>
        fake.messages
          .slice(before)
          .find((m) => m.kind === 'create' && m.content?.includes('Kimi credits low!')),
      5000,
      'a low alert',
    );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-alert-buttons-'));
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
      now: () => new Date(clock),
    });
  });

  afterAll(async () => {
    await bot?.stop(1000);
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a low alert THEN it carries Acknowledge, Snooze 24h and Refresh for its episode, within Discord’s limits', async () => {
    const alert = await lowAlert();
    const state = await bot.alerts.state('kimi');
    expect(buttonsOf(alert).map((b) => [b.label, b.custom_id])).toEqual([
      ['Acknowledge', alertButtonId('ack', 'kimi', state!.episode)],
      ['Snooze 24h', alertButtonId('snooze', 'kimi', state!.episode)],
      ['Refresh', alertButtonId('refresh', 'kimi', state!.episode)],
    ]);
    expect((alert.content ?? '').length).toBeLessThanOrEqual(2000);
  });

  it('GIVEN a member clicks Acknowledge THEN the alert is edited to say who and when, the episode is acknowledged, and a second click says so', async () => {
    const alert = await lowAlert();
    const episode = (await bot.alerts.state('kimi'))!.episode;
    const click = fake.clickButton({
      messageId: alert.id,
      customId: alertButtonId('ack', 'kimi', episode),
      user: MEMBER,
    });
    const update = await click.final();
    expect((await click.callback()).type).toBe(7);
    const edited = fake.channelMessage(alert.id)!;
    expect(edited.content).toBe(
      `${alert.content}\n✅ Acknowledged by <@${MEMBER.id}> <t:${Math.floor(clock / 1000)}:f>: no more reminders for this episode.`,
    );
    expect(update.allowedMentions).toEqual({ parse: [] });
    expect(buttonsOf(edited).find((b) => b.label === 'Acknowledge')?.disabled).toBe(true);
    expect(await bot.alerts.state('kimi')).toMatchObject({
      episode,
      acknowledgedBy: `${MEMBER.username} (${MEMBER.id})`,
      acknowledgedAt: new Date(clock).toISOString(),
    });
    const again = fake.clickButton({
      messageId: alert.id,
      customId: alertButtonId('ack', 'kimi', episode),
      user: ADMIN,
    });
    const reply = await again.final();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(/^Already acknowledged by ana\.finance/);
  });

  it('GIVEN Snooze 24h THEN a member is refused privately; an admin snoozes: the alert says until when, non-critical alerts are held, a critical one still goes out', async () => {
    const alert = await lowAlert();
    const episode = (await bot.alerts.state('kimi'))!.episode;
    const id = alertButtonId('snooze', 'kimi', episode);
    const refused = await fake.clickButton({ messageId: alert.id, customId: id, user: MEMBER }).final();
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toContain('You need the Manage Server permission');
    expect((await bot.alerts.state('kimi'))?.snoozedUntil).toBeNull();

    const click = fake.clickButton({
      messageId: alert.id,
      customId: id,
      user: ADMIN,
      permissions: Permission.ManageGuild,
    });
    await click.final();
    const until = Math.floor((clock + 24 * HOUR) / 1000);
    expect(fake.channelMessage(alert.id)?.content).toBe(
      `${alert.content}\n🔕 Snoozed by <@${ADMIN.id}> until <t:${until}:f> (<t:${until}:R>): only critical Kimi alerts until then.`,
    );
    expect(await bot.alerts.state('kimi')).toMatchObject({
      snoozedUntil: new Date(clock + 24 * HOUR).toISOString(),
      snoozedBy: `${ADMIN.username} (${ADMIN.id})`,
    });

    // A top-up is not critical: held. Falling below the critical level ($2.50) is: it goes out and pings.
    const before = fake.messages.length;
    await check(4.9);
    await check(1.5);
    const critical = await fake.waitFor(
      () => fake.messages.slice(before).find((m) => m.content?.includes('critically low')),
      5000,
      'the critical alert',
    );
    expect(critical.allowedMentions).toEqual({ parse: [], roles: [role] });
    expect(fake.messages.slice(before).some((m) => m.content?.includes('topped up'))).toBe(false);
  });

  it('GIVEN the snooze has run out (24 h later) THEN non-critical alerts go out again', async () => {
    // Snoozed in the previous test when it ran first; snooze now (as an admin) when this one runs alone.
    const state = await bot.alerts.state('kimi');
    if (!state?.snoozedUntil) {
      const alert = await lowAlert();
      const episode = (await bot.alerts.state('kimi'))!.episode;
      await fake
        .clickButton({
          messageId: alert.id,
          customId: alertButtonId('snooze', 'kimi', episode),
          user: ADMIN,
          permissions: Permission.ManageGuild,
        })
        .final();
    }
    const held = fake.messages.length;
    await check(3);
    expect(fake.messages.slice(held).filter((m) => m.kind === 'create')).toEqual([]);
    clock += 24 * HOUR + 60_000;
    const before = fake.messages.length;
    await check(3.2);
    await fake.waitFor(
      () => fake.messages.slice(before).find((m) => m.content === '💰 Kimi topped up +$0.20 (now $3.20)'),
      5000,
      'the top-up notice after the snooze',
    );
    expect((await bot.alerts.state('kimi'))?.snoozedUntil).toBeNull();
  });

  it('GIVEN a member clicks Refresh THEN the account is checked now and the figure is answered privately', async () => {
    const alert = await lowAlert();
    const episode = (await bot.alerts.state('kimi'))!.episode;
    moonshot.setReply(moonshotBalance(4.7, 0, 4.7));
    const calls = moonshot.requests.length;
    const click = fake.clickButton({
      messageId: alert.id,
      customId: alertButtonId('refresh', 'kimi', episode),
      user: MEMBER,
    });
    expect((await click.callback()).type).toBe(5);
    const reply = await click.final();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('**Kimi:** $4.70 available');
    expect(moonshot.requests.length).toBeGreaterThan(calls);
    // The alert itself is not changed by a refresh.
    expect(fake.channelMessage(alert.id)?.content).toBe(alert.content);
  });

  it('GIVEN crafted custom_ids THEN each is refused privately and nothing changes', async () => {
    const alert = await lowAlert();
    const before = await bot.alerts.state('kimi');
    for (const customId of [
      'alert|snooze|openai|1',
      'alert|ack|kimi|abc',
      'alert|delete|kimi|1',
      'alert|ack|constructor|1',
      `alert|ack|kimi|${'9'.repeat(20)}`,
      'anything else',
    ]) {
      const reply = await fake
        .clickButton({ messageId: alert.id, customId, user: ADMIN, permissions: Permission.ManageGuild })
        .final();
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toContain('not one creditwatch made');
    }
    expect(await bot.alerts.state('kimi')).toEqual(before);
    expect(fake.channelMessage(alert.id)?.content).toBe(alert.content);
  });

  it('GIVEN an alert whose episode has ended (the balance recovered) THEN Acknowledge and Snooze say so instead of acting', async () => {
    const alert = await lowAlert();
    const episode = (await bot.alerts.state('kimi'))!.episode;
    await check(12);
    const after = await bot.alerts.state('kimi');
    expect(after?.state).toBe('ok');
    for (const [action, perms] of [
      ['ack', undefined],
      ['snooze', Permission.ManageGuild],
    ] as const) {
      const reply = await fake
        .clickButton({
          messageId: alert.id,
          customId: alertButtonId(action, 'kimi', episode),
          user: ADMIN,
          ...(perms ? { permissions: perms } : {}),
        })
        .final();
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toMatch(
        /^This Kimi alert's episode has ended \(it is ok since <t:\d+:f>\); nothing was done\./,
      );
    }
    expect(await bot.alerts.state('kimi')).toMatchObject({ acknowledgedAt: null, snoozedUntil: null });
  });

  it('GIVEN /alerts THEN members see the status; snooze and unsnooze are admin-only and change what goes out', async () => {
    await lowAlert();
    const status = await fake
      .sendCommand({ name: 'alerts', options: [subcommand('status')], user: MEMBER })
      .final();
    expect(status.ephemeral).toBe(true);
    expect(status.content).toMatch(
      /^\*\*Alerts\*\* .*\n🌙 \*\*Kimi:\*\* low since <t:\d+:f> \(reminder every 24h\)/,
    );

    const snooze = (user: typeof MEMBER, duration: string, admin: boolean) =>
      fake
        .sendCommand({
          name: 'alerts',
          options: [
            subcommand('snooze', [stringOption('account', 'kimi'), stringOption('duration', duration)]),
          ],
          user,
          ...(admin ? { permissions: Permission.ManageGuild } : {}),
        })
        .final();
    expect((await snooze(MEMBER, '2h', false)).content).toContain('You need the Manage Server permission');
    expect((await snooze(ADMIN, 'forever', true)).content).toContain('is not a duration from 1m to 30d');
    const until = Math.floor((clock + 2 * HOUR) / 1000);
    expect((await snooze(ADMIN, '2h', true)).content).toBe(
      `🔕 Kimi snoozed for 2h, until <t:${until}:f> (<t:${until}:R>): only critical alerts until then.`,
    );
    const shown = await fake.sendCommand({ name: 'alerts', options: [subcommand('status')] }).final();
    expect(shown.content).toContain(`snoozed until <t:${until}:f> (critical alerts still go out)`);

    const before = fake.messages.length;
    await check(4.9);
    expect(fake.messages.slice(before).filter((m) => m.kind === 'create')).toEqual([]);
    const unsnooze = await fake
      .sendCommand({
        name: 'alerts',
        options: [subcommand('unsnooze', [stringOption('account', 'kimi')])],
        user: ADMIN,
        permissions: Permission.ManageGuild,
      })
      .final();
    expect(unsnooze.content).toBe('🔔 Kimi is not snoozed any more: every alert goes out again.');
    await check(5.0);
    await fake.waitFor(
      () => fake.messages.slice(before).find((m) => m.content === '💰 Kimi topped up +$0.10 (now $5.00)'),
      5000,
      'the top-up notice after unsnooze',
    );
  });
});
