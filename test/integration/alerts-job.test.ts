import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingMessage, Poster } from '../../src/adapters/discord/poster.js';
import { alertButtonRows } from '../../src/core/alerts/buttons.js';
import { loadConfig } from '../../src/core/config.js';
import { Insight } from '../../src/core/insight.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { type Core, createCore } from '../../src/entry/app.js';
import { type Alerts, startAlerts } from '../../src/entry/jobs/alerts.js';
import {
  type FakeMoonshot,
  type FakeReply,
  moonshotBalance,
  startFakeMoonshot,
} from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import {
  parseMail,
  type SmtpReceiver,
  startSmtpReceiver,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/receivers.js';

const MINUTE = 60_000;
const KEY = 'sk-alerts-SECRET-key-77';
const ALERT_CHANNEL = '333333333333333333';
const ROLE = '444444444444444444';
const HOOK_SECRET = '/hooks/SECRET-hook-token';

class RecordingPoster implements Poster {
  readonly posts: { channelId: string; message: OutgoingMessage }[] = [];
  async post(channelId: string, message: OutgoingMessage): Promise<void> {
    this.posts.push({ channelId, message });
  }
}

/** One running process's worth of alerting: a core on the shared store plus the alert check. */
interface Instance {
  core: Core;
  alerts: Alerts;
  poster: RecordingPoster;
  close(): Promise<void>;
}

describe('alert check (real BalanceService, fake Moonshot, webhook + SMTP + recording poster)', () => {
  let moonshot: FakeMoonshot;
  let webhook: WebhookReceiver;
  let smtp: SmtpReceiver;
  let dir: string;
  let clock: number;
  let lines: string[];
  let logger: Logger;
  const running: Instance[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    HOME: dir,
    DATA_DIR: join(dir, 'data'),
    BALANCE_LOG_DIR: join(dir, 'logs'),
    PROVIDERS: 'kimi',
    MOONSHOT_API_KEY: KEY,
    MOONSHOT_BASE_URL: moonshot.url,
    PROVIDER_TIMEOUT_MS: '2000',
    ALERT_CHANNEL_ID: ALERT_CHANNEL,
    ALERT_MENTION_ROLE_ID: ROLE,
    // Never due during a test run: every run here is triggered by hand, at a scripted time.
    ALERT_CRON: '0 0 1 1 *',
    ALERT_REPEAT: '30m',
    ALERT_WEBHOOK_URL: webhook.url,
    SMTP_URL: smtp.url,
    ALERT_EMAIL_TO: 'ops@example.com',
    ALERT_EMAIL_FROM: 'creditwatch@example.com',
    ...extra,
  });

  async function start(extra: Record<string, string> = {}): Promise<Instance> {
    const config = loadConfig(env(extra));
    const now = () => new Date(clock);
    const core = await createCore(config, logger, { now });
    const poster = new RecordingPoster();
    const alerts = startAlerts({ config, core, insight: new Insight(core.history), poster, logger, now });
    const instance: Instance = {
      core,
      alerts,
      poster,
      async close() {
        running.splice(running.indexOf(instance), 1);
        await alerts.close();
        await core.close();
      },
    };
    running.push(instance);
    return instance;
  }

  /** Sets the fake's balance, moves the clock 5 minutes and runs the check for that slot. */
  async function step(instances: Instance[], reply: FakeReply) {
    moonshot.setReply(reply);
    clock += 5 * MINUTE;
    const slot = new Date(clock);
    await Promise.all(instances.map((i) => i.alerts.job.trigger(slot)));
  }

  /** What every channel received since the last call: kinds via the webhook, subjects, Discord contents. */
  function drain(instances: Instance[]) {
    const discord = instances.flatMap((i) => i.poster.posts.splice(0));
    return {
      kinds: webhook.received.splice(0).map((h) => h.body.kind),
      mails: smtp.mails.splice(0).map((m) => parseMail(m.raw).subject),
      discord: discord.map((p) => p.message.content),
      posts: discord,
    };
  }

  beforeAll(async () => {
    moonshot = await startFakeMoonshot(moonshotBalance(12, 0, 12));
    webhook = await startWebhookReceiver({ path: HOOK_SECRET });
    smtp = await startSmtpReceiver();
  });
  afterAll(async () => {
    await moonshot?.close();
    await webhook?.close();
    await smtp?.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cw-alerts-'));
    clock = Date.now();
    lines = [];
    logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    webhook.received.length = 0;
    smtp.mails.length = 0;
  });
  afterEach(async () => {
    for (const i of [...running]) await i.close();
    rmSync(dir, { recursive: true, force: true });
    const log = lines.join('');
    expect(log).not.toContain('SECRET');
    expect(log).not.toContain('"msg":"run failed"');
    expect(log).not.toContain('ALERT NOT DELIVERED');
  });

  it('GIVEN 12 → 4.80 → 4.70 → (restart) → 4.90 → 5.20 → 6.00 THEN one low alert and one recovery, on every channel', async () => {
    let bot = await start();
    await step([bot], moonshotBalance(12, 0, 12));
    expect(drain([bot]).kinds).toEqual([]);

    await step([bot], moonshotBalance(4.8, 0, 4.8));
    const low = drain([bot]);
    expect(low.kinds).toEqual(['low']);
    expect(low.mails).toEqual(['[creditwatch] Kimi credits low: $4.80 (threshold $5.00)']);
    expect(low.posts).toEqual([
      {
        channelId: ALERT_CHANNEL,
        message: {
          content: '🌙 ⚠️ Kimi credits low! **$4.80** available (threshold: $5.00) · recovers at $5.50',
          components: alertButtonRows('kimi', 1),
        },
      },
    ]);

    await step([bot], moonshotBalance(4.7, 0, 4.7));
    expect(drain([bot]).kinds).toEqual([]);

    // A restart: the state is read back from the SQLite file, so nothing is repeated.
    await bot.close();
    bot = await start();
    expect(await bot.alerts.status('kimi')).toMatch(
      /^alert state: low since <t:\d+:f> \(reminder every 30m\)$/,
    );

    // Each rise is announced once as a top-up; inside the recovery margin the level says nothing.
    await step([bot], moonshotBalance(4.9, 0, 4.9));
    expect(drain([bot]).kinds).toEqual(['topup']);
    await step([bot], moonshotBalance(5.2, 0, 5.2));
    expect(drain([bot]).kinds).toEqual(['topup']);

    await step([bot], moonshotBalance(6, 0, 6));
    const recovered = drain([bot]);
    expect(recovered.kinds).toEqual(['recovered', 'topup']);
    expect(recovered.mails).toEqual([
      '[creditwatch] Kimi credits recovered: $6.00 (threshold $5.00)',
      '[creditwatch] Kimi topped up +$0.80 (now $6.00)',
    ]);
    expect(recovered.discord).toEqual([
      '🌙 ✅ Kimi credits recovered: **$6.00** available (threshold: $5.00) · topped up +$1.30 · low for 20m',
      '💰 Kimi topped up +$0.80 (now $6.00)',
    ]);
    expect(await bot.alerts.status('kimi')).toMatch(/^alert state: ok since /);
  });

  it('GIVEN three failing checks THEN one failure alert; a fourth adds nothing; an answer sends "check recovered"', async () => {
    const bot = await start();
    await step([bot], moonshotBalance(12, 0, 12));
    const down = { status: 503, body: 'upstream down' };
    await step([bot], down);
    await step([bot], down);
    expect(drain([bot]).kinds).toEqual([]);
    await step([bot], down);
    const failing = drain([bot]);
    expect(failing.kinds).toEqual(['failing']);
    expect(failing.mails).toEqual(['[creditwatch] Kimi balance check failing']);
    // A failing check is not critical: it pings nobody.
    expect(failing.discord[0]).toMatch(/^🌙 ❌ Kimi balance check failing: .*HTTP 503/);
    expect(await bot.alerts.status('kimi')).toMatch(
      /^alert state: check failing since .*\(3 failed checks in a row/,
    );
    await step([bot], down);
    expect(drain([bot]).kinds).toEqual([]);
    await step([bot], moonshotBalance(11, 0, 11));
    expect(drain([bot]).kinds).toEqual(['check-recovered']);
  });

  it('GIVEN a balance that stays low THEN a reminder after ALERT_REPEAT (30m), and only then', async () => {
    const bot = await start();
    await step([bot], moonshotBalance(4, 0, 4));
    expect(drain([bot]).kinds).toEqual(['low']);
    for (let i = 0; i < 5; i++) await step([bot], moonshotBalance(3.9, 0, 3.9));
    expect(drain([bot]).kinds).toEqual([]);
    await step([bot], moonshotBalance(3.8, 0, 3.8));
    const reminder = drain([bot]);
    expect(reminder.kinds).toEqual(['reminder']);
    expect(reminder.mails).toEqual(['[creditwatch] Kimi credits still low: $3.80 (threshold $5.00)']);
    await step([bot], moonshotBalance(3.8, 0, 3.8));
    expect(drain([bot]).kinds).toEqual([]);
  });

  it('GIVEN a raised threshold THEN re-evaluation alerts at once, without calling the provider again', async () => {
    const bot = await start();
    await step([bot], moonshotBalance(8, 0, 8));
    const calls = moonshot.requests.length;
    await bot.core.thresholds.set('kimi', parseAmount('10'), 'test');
    await bot.core.service.rejudgeCached();
    await bot.alerts.reevaluate('kimi');
    expect(moonshot.requests.length).toBe(calls);
    const low = drain([bot]);
    expect(low.kinds).toEqual(['low']);
    expect(low.discord[0]).toContain('**$8.00** available (threshold: $10.00)');
    await bot.alerts.reevaluate('kimi');
    expect(drain([bot]).kinds).toEqual([]);
  });

  it('GIVEN an alert that no channel delivers THEN the run fails saying so (error policy), after every channel tried', async () => {
    const config = loadConfig(env());
    const core = await createCore(config, logger, { now: () => new Date(clock) });
    const tried: string[] = [];
    const broken = (name: string) => ({
      name,
      send: async () => {
        tried.push(name);
        throw new Error(`${name} down`);
      },
      sendMessage: async () => {
        throw new Error(`${name} down`);
      },
    });
    const alerts = startAlerts({
      config,
      core,
      insight: new Insight(core.history),
      poster: new RecordingPoster(),
      logger,
      now: () => new Date(clock),
      channels: [broken('discord'), broken('webhook')],
    });
    try {
      moonshot.setReply(moonshotBalance(3, 0, 3));
      await alerts.job.trigger(new Date(clock));
      expect(tried.sort()).toEqual(['discord', 'webhook']);
      const failed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'run failed');
      expect(failed).toHaveLength(1);
      expect(failed[0].err.message).toBe('alert delivered by no channel: kimi low');
    } finally {
      await alerts.close();
      await core.close();
      // What this test provoked on purpose is not what the shared checks after each test look for.
      lines.length = 0;
    }
  });

  describe('two processes on one Postgres', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase('cw_alerts');
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('GIVEN both run the check for the same slots THEN each transition is alerted exactly once', async () => {
      const a = await start({ DATABASE_URL: db.connectionString });
      const b = await start({ DATABASE_URL: db.connectionString });
      const both = [a, b];
      const seen: string[] = [];
      for (const amount of [12, 4.8, 4.7, 4.9, 5.2, 6]) {
        await step(both, moonshotBalance(amount, 0, amount));
        const d = drain(both);
        expect(d.mails).toHaveLength(d.kinds.length);
        expect(d.discord).toHaveLength(d.kinds.length);
        seen.push(...d.kinds.map((k) => `${amount}:${k}`));
      }
      // Each top-up is announced once too, by one of the two.
      expect(seen).toEqual(['4.8:low', '4.9:topup', '5.2:topup', '6:recovered', '6:topup']);

      // A threshold change re-evaluated by both at once (no slot to claim) still alerts once.
      await a.core.thresholds.set('kimi', parseAmount('7'), 'test');
      await Promise.all(both.map((i) => i.alerts.reevaluate('kimi')));
      const d = drain(both);
      expect(d.kinds).toEqual(['low']);
      expect(d.discord).toHaveLength(1);
      expect(await b.alerts.status('kimi')).toMatch(/^alert state: low since /);
    });
  });
});
