import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../src/core/config.js';
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
  subcommandGroup,
} from '../support/fake-discord.js';
import {
  type FakeMoonshot,
  getClosedPort,
  moonshotBalance,
  startFakeMoonshot,
} from '../support/fake-moonshot.js';
import { parseMail, type SmtpReceiver, startSmtpReceiver } from '../support/receivers.js';

const KEY = 'sk-quiet-hours-e2e-SECRET-5309';
const HOOK_SECRET = 'hook-token-SECRET-8086';
const MEMBER = { id: '300000000000000001', username: 'ana.finance' };
const ADMIN = { id: '300000000000000002', username: 'ops.admin' };
const unix = (ms: number) => Math.floor(ms / 1000);

/** Each test gets its own bot, data directory, fake Discord, webhook and SMTP receiver, and sets up what it relies on. */
describe('quiet hours and /alerts test through the bot against a fake Discord (real discord.js client)', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let smtp: SmtpReceiver;
  let hook: Server;
  let hookUrl: string;
  /** What the webhook answers; every body it got. */
  let hookStatus: number;
  let hooks: Record<string, unknown>[];
  let dir: string;
  let config: Config;
  let bot: Bot;
  let role: string;
  // The bot's clock, moved by the tests (quiet hours are judged by it, not by the machine's clock).
  let clock: number;

  const start = () =>
    startBot(config, createLogger('silent'), {
      dryRun: false,
      rest: { retries: 1, timeout: 5000 },
      postRetry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200 },
      now: () => new Date(clock),
    });

  /** A check at `iso` (the bot's clock) with Kimi at `available`. */
  const checkAt = async (iso: string, available: number) => {
    moonshot.setReply(moonshotBalance(available, 0, available));
    clock = Date.parse(iso);
    await bot.alerts.job.trigger(new Date(clock));
  };

  const created = (from: number) => fake.messages.slice(from).filter((m) => m.kind === 'create');

  const alerts = (
    options: Parameters<typeof subcommand>[1] | null,
    name: string,
    admin: boolean,
    group?: string,
  ) =>
    fake
      .sendCommand({
        name: 'alerts',
        options: group ? [subcommandGroup(group, [subcommand(name, options ?? [])])] : [subcommand(name)],
        user: admin ? ADMIN : MEMBER,
        ...(admin ? { permissions: Permission.ManageGuild } : {}),
      })
      .final(30_000);

  const setQuiet = (from: string, to: string, timezone: string, admin = true) =>
    alerts(
      [stringOption('from', from), stringOption('to', to), stringOption('timezone', timezone)],
      'set',
      admin,
      'quiet-hours',
    );

  beforeEach(async () => {
    clock = Date.parse('2030-02-01T12:00:00Z');
    hookStatus = 200;
    hooks = [];
    dir = mkdtempSync(join(tmpdir(), 'cw-quiet-e2e-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(12, 0, 12));
    smtp = await startSmtpReceiver();
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        res.writeHead(hookStatus).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/${HOOK_SECRET}`;
    role = fake.roleIds.Member ?? '';
    config = loadConfig({
      ...botEnv(dir, fake),
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: KEY,
      MOONSHOT_BASE_URL: moonshot.url,
      ALERT_MENTION_ROLE_ID: role,
      ALERT_WEBHOOK_URL: hookUrl,
      SMTP_URL: smtp.url,
      ALERT_EMAIL_TO: 'ops@example.test',
      // The status page's recent alerts count held ones when they are delivered.
      HTTP_PORT: String(await getClosedPort()),
    });
    bot = await start();
  }, 60_000);

  afterEach(async () => {
    await bot?.stop(1000);
    await fake?.close();
    await moonshot?.close();
    await smtp?.close();
    hook?.closeAllConnections();
    await new Promise<void>((resolve) => (hook ? hook.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a member THEN /alerts quiet-hours and /alerts test are refused privately and nothing changes', async () => {
    const set = await setQuiet('22:00', '07:00', 'Europe/Berlin', false);
    expect(set.ephemeral).toBe(true);
    expect(set.content).toBe(
      'You need the Manage Server permission (or an admin role) for /alerts quiet-hours set. Nothing was changed.',
    );
    const clear = await alerts(null, 'clear', false, 'quiet-hours');
    expect(clear.content).toContain('You need the Manage Server permission');
    const before = fake.messages.length;
    const test = await alerts(null, 'test', false);
    expect(test.ephemeral).toBe(true);
    expect(test.content).toContain('You need the Manage Server permission');
    expect(await bot.alerts.quietHours()).toBeNull();
    expect(created(before)).toEqual([]);
  }, 60_000);

  it('GIVEN an unknown, hostile or malformed time zone, or an empty window THEN it is refused with a clear reason and nothing is stored', async () => {
    const unknown = await setQuiet('22:00', '07:00', 'Mars/Olympus_Mons');
    expect(unknown.ephemeral).toBe(true);
    expect(unknown.content).toBe(
      'Quiet hours not set: "Mars/Olympus_Mons" is not an IANA time zone; write it like Europe/Berlin, America/New_York or UTC.',
    );
    const hostile = await setQuiet('22:00', '07:00', `<@&${role}> ../../etc`);
    expect(hostile.content).toContain('is not an IANA time zone');
    expect(hostile.allowedMentions).toEqual({ parse: [] });
    expect((await setQuiet('22:00', '22:00', 'UTC')).content).toContain('The window is empty');
    expect((await setQuiet('10pm', '07:00', 'UTC')).content).toContain('"10pm" is not a time of day');
    expect(await bot.alerts.quietHours()).toBeNull();
  }, 60_000);

  it('GIVEN quiet hours 22:00–07:00 Europe/Berlin THEN across midnight non-critical alerts are held, a critical one goes out, and at 07:00 Berlin the held ones come as one message (after a restart too)', async () => {
    clock = Date.parse('2030-02-01T20:00:00Z'); // 21:00 in Berlin (UTC+1)
    const set = await setQuiet('22:00', '7:00', 'europe/berlin');
    expect(set.content).toBe(
      '🔕 Quiet hours set: 22:00–07:00 Europe/Berlin, every day. Non-critical alerts raised then are held and delivered as one message when the window ends; critical alerts still go out at once.',
    );
    expect(await bot.alerts.quietHours()).toMatchObject({
      from: '22:00',
      to: '07:00',
      timeZone: 'Europe/Berlin',
      setBy: `${ADMIN.username} (${ADMIN.id})`,
    });

    // A slow fall (about $0.10 a day: no "runs out within 24 h"), checked by day (its runway warning goes
    // out then), low at night.
    await checkAt('2030-01-28T12:00:00Z', 5.4);
    await checkAt('2030-01-31T12:00:00Z', 5.1);
    const start0 = fake.messages.length;
    await checkAt('2030-02-01T21:30:00Z', 4.8); // 22:30 Berlin: low, held
    await checkAt('2030-02-01T23:30:00Z', 4.9); // 00:30 Berlin, the next day: top-up, held
    expect(created(start0)).toEqual([]);
    expect(await bot.alerts.heldCount()).toBe(2);
    const status = await alerts(null, 'status', false);
    expect(status.content).toContain(
      '🔕 **Quiet hours:** 22:00–07:00 Europe/Berlin (quiet now); 2 alerts held',
    );

    // Critical goes out during quiet hours, pinging the role, with its buttons.
    await checkAt('2030-02-02T01:00:00Z', 1.5); // 02:00 Berlin
    const critical = await fake.waitFor(
      () => created(start0).find((m) => m.content?.includes('critically low')),
      10_000,
      'the critical alert during quiet hours',
    );
    expect(critical.allowedMentions).toEqual({ parse: [], roles: [role] });
    expect(created(start0)).toHaveLength(1);
    expect(hooks.filter((h) => h.kind === 'critical')).toHaveLength(1);

    // The held alerts are in the shared store: a restarted bot delivers them.
    await bot.stop(1000);
    bot = await start();
    const afterRestart = fake.messages.length;
    await checkAt('2030-02-02T05:55:00Z', 1.5); // 06:55 Berlin: still quiet
    expect(created(afterRestart)).toEqual([]);

    await checkAt('2030-02-02T06:05:00Z', 1.5); // 07:05 Berlin: the window is over
    const digest: RecordedMessage = await fake.waitFor(
      () => created(afterRestart).find((m) => m.content?.startsWith('🔕')),
      10_000,
      'the held alerts',
    );
    const low = Date.parse('2030-02-01T21:30:00Z');
    const topUp = Date.parse('2030-02-01T23:30:00Z');
    expect(digest.content).toBe(
      [
        '🔕 **2 alerts held during quiet hours** (22:00–07:00 Europe/Berlin), oldest first:',
        // The critical alert opened a newer episode: the low one was over before the window ended.
        `• <t:${unix(low)}:f> 🌙 ⚠️ Kimi credits low! **$4.80** available (threshold: $5.00) · recovers at $5.50 · _over before the window ended_`,
        `• <t:${unix(topUp)}:f> 💰 Kimi topped up +$0.10 (now $4.90)`,
      ].join('\n'),
    );
    expect(digest.allowedMentions).toEqual({ parse: [], roles: [] });
    expect(created(afterRestart)).toHaveLength(1);
    expect(await bot.alerts.heldCount()).toBe(0);
    // The restarted bot's status page lists each held alert as sent at 07:05 Berlin, through every channel.
    const page = (await (await fetch(`${bot.http!.url}/api/status`)).json()) as {
      alerts: { recent: { at: string; account: string; kind: string; delivered: string[] }[] };
    };
    expect(page.alerts.recent.map((e) => [e.account, e.kind, e.at, [...e.delivered].sort()]).sort()).toEqual([
      ['kimi', 'low', '2030-02-02T06:05:00.000Z', ['discord', 'email', 'webhook']],
      ['kimi', 'topup', '2030-02-02T06:05:00.000Z', ['discord', 'email', 'webhook']],
    ]);
    const hookDigest = hooks.find((h) => h.kind === 'held');
    expect(hookDigest?.text).toContain('2 alerts held during quiet hours (22:00–07:00 Europe/Berlin)');
    expect(hookDigest?.text).toContain('2030-02-01 21:30 UTC');
    await fake.waitFor(
      () => smtp.mails.find((m) => parseMail(m.raw).subject.includes('2 alerts held during quiet hours')),
      10_000,
      'the held alerts by e-mail',
    );

    // Delivered once: the next check sends nothing more.
    await checkAt('2030-02-02T06:10:00Z', 1.5);
    expect(created(afterRestart)).toHaveLength(1);
  }, 60_000);

  it('GIVEN quiet hours cleared THEN alerts go out at once again', async () => {
    // Quiet hours 22:00–07:00 Berlin, and Kimi last seen at $1.50 (by day).
    await setQuiet('22:00', '07:00', 'Europe/Berlin');
    expect(await bot.alerts.quietHours()).toMatchObject({ timeZone: 'Europe/Berlin' });
    await checkAt('2030-02-02T06:10:00Z', 1.5); // 07:10 Berlin
    const clear = await alerts(null, 'clear', true, 'quiet-hours');
    expect(clear.content).toBe('🔔 Quiet hours cleared: every alert goes out at once again.');
    expect(await bot.alerts.quietHours()).toBeNull();
    const before = fake.messages.length;
    await checkAt('2030-02-02T23:00:00Z', 1.7);
    await fake.waitFor(
      () => created(before).find((m) => m.content === '💰 Kimi topped up +$0.20 (now $1.70)'),
      10_000,
      'a top-up at night without quiet hours',
    );
  }, 60_000);

  it('GIVEN /alerts test with the webhook answering 500 THEN Discord and e-mail get a marked test alert and the admin is told privately which failed, without the webhook secret', async () => {
    hookStatus = 500;
    const before = fake.messages.length;
    const mails = smtp.mails.length;
    const reply = await alerts(null, 'test', true);
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(
      /^🧪 Test alert sent: 2 of 3 channels delivered it\.\n✅ discord: delivered\n❌ webhook: not delivered: `webhook 127\.0\.0\.1:\d+ answered HTTP 500 \(after 4 attempts\)`\n✅ email: delivered$/,
    );
    expect(reply.content).not.toContain(HOOK_SECRET);
    const test = created(before).find((m) => m.content?.startsWith('🧪'));
    expect(test?.content).toContain('**creditwatch test alert** (sent by ops.admin');
    expect(test?.content).toContain('this is only a test, no account is low');
    expect(test?.allowedMentions).toEqual({ parse: [], roles: [] });
    const mail = smtp.mails.slice(mails).map((m) => parseMail(m.raw));
    expect(mail.map((m) => m.subject)).toEqual(['[creditwatch] Test alert (no account is low)']);
    expect(hooks.filter((h) => h.kind === 'test').length).toBe(4);
  }, 60_000);
});
