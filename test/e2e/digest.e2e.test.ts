import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { type Bot, type BotOptions, startBot } from '../../src/entry/bot.js';
import type { Job } from '../../src/entry/jobs/job.js';
import { fakeDiscordEnv } from '../support/bot-env.js';
import { type FakeDiscord, type RecordedMessage, startFakeDiscord } from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const HOUR = 3_600_000;
const logger = createLogger('silent');

const isCreate = (m: RecordedMessage) => m.kind === 'create';
const nonceOf = (m: RecordedMessage) => String((m.body as { nonce?: unknown }).nonce ?? '');
const isDaily = (m: RecordedMessage) => isCreate(m) && nonceOf(m).startsWith('cw-dig-');
const isWeekly = (m: RecordedMessage) => isCreate(m) && nonceOf(m).startsWith('cw-wdg-');
const unix = (ms: number) => Math.floor(ms / 1000);
const digestJob = (bot: Bot): Job => bot.jobs.find((j) => j.name === 'digest')!;

describe('the digest: two replicas sharing one store post one of each per slot (real discord.js client)', () => {
  let fake: FakeDiscord;
  let kimi: FakeMoonshot;
  let team: FakeMoonshot;
  let dir: string;
  let n = 0;
  const bots: Bot[] = [];
  const databases: TestDatabase[] = [];

  const env = (extra: Record<string, string>) => ({
    HOME: dir,
    DATA_DIR: join(dir, `data-${++n}`),
    BALANCE_LOG_DIR: join(dir, 'logs'),
    PROVIDERS: 'kimi,kimi:team',
    MOONSHOT_API_KEY: 'sk-digest-SECRET',
    MOONSHOT_BASE_URL: kimi.url,
    MOONSHOT_TEAM_API_KEY: 'sk-digest-team-SECRET',
    MOONSHOT_TEAM_BASE_URL: team.url,
    ...fakeDiscordEnv(fake),
    ...extra,
  });

  const start = async (extra: Record<string, string>, options: Partial<BotOptions> = {}) => {
    const bot = await startBot(loadConfig(env(extra)), logger, {
      dryRun: false,
      rest: { retries: 1, timeout: 5000 },
      postRetry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 800 },
      ...options,
    });
    bots.push(bot);
    return bot;
  };

  const sharedDatabase = async (prefix: string) => {
    const db = await createTestDatabase(prefix);
    databases.push(db);
    return db.connectionString;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-digest-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
    kimi = await startFakeMoonshot(moonshotBalance(40, 0, 40));
    team = await startFakeMoonshot(moonshotBalance(10, 0, 10));
  });
  afterEach(async () => {
    for (const b of bots.splice(0)) await b.stop(2000);
  });
  afterAll(async () => {
    await fake?.close();
    await kimi?.close();
    await team?.close();
    for (const d of databases) await d.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN nine days of history and both replicas running the Monday 09:00 slot THEN one daily and one weekly digest are posted, with the spend, the top-up, the nearest threshold and a chart', async () => {
    const url = await sharedDatabase('cw_digest_content');
    const slot = Date.parse('2026-11-30T09:00:00Z'); // a Monday
    const t0 = slot - 9 * 24 * HOUR;
    let clock = t0;
    const options = { now: () => new Date(clock) };
    const settings = { DATABASE_URL: url, DIGEST_CRON: '0 9 * * *', DIGEST_WEEKLY: 'true' };
    const a = await start(settings, options);
    const b = await start(settings, options);

    // A reading every 6 h for nine days: Kimi falls $0.50 a step and is topped up $20 at 03:00 on the Monday
    // (that step spends nothing); the team account falls $0.10 a step from $10.
    let balance = 40;
    for (let i = 0; i <= 36; i++) {
      clock = t0 + i * 6 * HOUR;
      if (i > 0) balance += i === 35 ? 20 : -0.5;
      kimi.setReply(moonshotBalance(balance, 0, balance));
      team.setReply(moonshotBalance(10 - 0.1 * i, 0, 10 - 0.1 * i));
      await a.core.service.checkAll();
    }
    expect(clock).toBe(slot);
    await a.core.service.flushPending();

    const before = fake.messages.length;
    // Both replicas run the same slot at once: one posts each digest, the other sees it posted.
    await Promise.all([digestJob(a).trigger(new Date(slot)), digestJob(b).trigger(new Date(slot))]);

    const posts = fake.messages.slice(before).filter(isCreate);
    const daily = posts.filter(isDaily);
    const weekly = posts.filter(isWeekly);
    expect(daily.map(nonceOf)).toEqual([`cw-dig-${unix(slot).toString(36)}-0`]);
    expect(weekly.map(nonceOf)).toEqual([`cw-wdg-${unix(slot).toString(36)}-0`]);
    expect(posts).toHaveLength(2);
    for (const m of posts) expect(m.content?.length ?? 0).toBeLessThanOrEqual(2000);

    const day = daily[0]!.content!;
    expect(day.split('\n')[0]).toBe(`📰 **Daily spend digest** · <t:${unix(slot)}:f>`);
    // Last 24 h: three falls of $0.50 (the top-up step spends nothing); last 7 days: 27 falls.
    expect(day).toContain('🌙 **Kimi:** $1.50 · $13.50');
    expect(day).toContain('🌙 **Kimi (team):** $0.40 · $2.80');
    expect(day).toContain('Total (USD): $1.90 · $16.30');
    expect(day).toContain(`💰 🌙 Kimi topped up +$20.00 at <t:${unix(slot - 6 * HOUR)}:f>`);
    const nearest = day.split('🎯 **Nearest their threshold**\n')[1]!.split('\n');
    expect(nearest[0]).toBe('🌙 **Kimi (team):** $6.40 · $1.40 above its $5.00 threshold');
    expect(nearest[1]).toBe('🌙 **Kimi:** $42.50 · $37.50 above its $5.00 threshold');
    expect(day).toContain('Runs at 09:00 (UTC); weekly on Mondays');
    expect(day).not.toContain('SECRET');

    const week = weekly[0]!.content!;
    expect(week.split('\n')[0]).toBe(`📰 **Weekly spend digest** · week to <t:${unix(slot)}:f>`);
    // The 7 days before hold the first eight steps of the history.
    expect(week).toContain('🌙 **Kimi:** $13.50 · $4.00 (+238 %)');
    expect(week).toContain('🌙 **Kimi (team):** $2.80 · $0.80 (+250 %)');
    expect(week).toContain('💰 **Top-ups** · last 7 days');
    expect(week).toContain('💰 🌙 Kimi topped up +$20.00');

    // Each carries its spend chart: a PNG per currency.
    expect(daily[0]!.files.map((f) => f.name)).toEqual(['digest-spend-7d-usd.png']);
    expect(weekly[0]!.files.map((f) => f.name)).toEqual(['digest-spend-14d-usd.png']);
    for (const f of [...daily[0]!.files, ...weekly[0]!.files]) {
      expect(f.data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    }

    const claims = await withClient(url, (c) =>
      c.query<{ job: string; done: boolean }>(
        "SELECT job, done_at IS NOT NULL AS done FROM schedule_slots WHERE job LIKE 'digest%' ORDER BY job",
      ),
    );
    expect(claims.rows).toEqual([
      { job: 'digest', done: true },
      { job: 'digest-weekly', done: true },
    ]);

    // Run again (a replica restarting into the same slot): already posted, nothing new.
    await digestJob(b).trigger(new Date(slot));
    expect(fake.messages.slice(before).filter(isCreate)).toHaveLength(2);
  }, 90_000);

  it('GIVEN two replicas on one Postgres and a 2 s digest schedule THEN every slot posted is posted once, and each is one done claim', async () => {
    const url = await sharedDatabase('cw_digest_replicas');
    const settings = { DATABASE_URL: url, DIGEST_CRON: '*/2 * * * * *' };
    const before = fake.messages.length;
    const a = await start(settings);
    const b = await start(settings);
    await fake.waitFor(
      () => fake.messages.slice(before).filter(isDaily).length >= 3,
      30_000,
      'three scheduled digests',
    );
    await a.stop(5000);
    await b.stop(5000);
    const posts = fake.messages.slice(before).filter(isDaily);
    // One message per slot (the text fits one), never two for a slot.
    const nonces = posts.map(nonceOf);
    expect(new Set(nonces).size).toBe(posts.length);
    expect(nonces.every((x) => x.endsWith('-0'))).toBe(true);
    for (const m of posts) {
      expect(m.content?.startsWith('📰 **Daily spend digest**')).toBe(true);
      expect(m.content?.length ?? 0).toBeLessThanOrEqual(2000);
    }
    const done = await withClient(url, (c) =>
      c.query<{ slot: string }>(
        "SELECT slot FROM schedule_slots WHERE job = 'digest' AND done_at IS NOT NULL ORDER BY slot",
      ),
    );
    const slots = done.rows.map((r) => `cw-dig-${unix(Date.parse(r.slot)).toString(36)}-0`);
    expect([...nonces].sort()).toEqual(slots.sort());
  }, 60_000);
});
