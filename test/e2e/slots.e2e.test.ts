import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cron } from 'croner';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { type Bot, type BotOptions, startBot } from '../../src/entry/bot.js';
import { summaryNonce, summaryPost } from '../../src/entry/jobs/summary.js';
import { fakeDiscordEnv } from '../support/bot-env.js';
import { type FakeDiscord, type RecordedMessage, startFakeDiscord } from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const MESSAGES_PATH = /^\/channels\/\d+\/messages$/;
const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/entry/main.js');
const HOUR = 3_600_000;

interface LogLine {
  msg: string;
  slot?: string;
  reason?: string;
  err?: { message?: string };
}

/** The scheduled times of `cron` in `(from, to]`. */
function slotsBetween(cron: string, from: number, to: number): number[] {
  const c = new Cron(cron, { timezone: 'UTC', paused: true });
  const out: number[] = [];
  let cursor: Date | null = new Date(from);
  for (;;) {
    cursor = c.nextRun(cursor);
    if (!cursor || cursor.getTime() > to) return out;
    out.push(cursor.getTime());
  }
}

const isSummary = (m: RecordedMessage) => m.kind === 'create' && (m.content?.startsWith('📊') ?? false);
const nonceOf = (m: RecordedMessage) => (m.body as { nonce?: unknown }).nonce;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until halfway between two slots, so that "slots due by now" is not decided by a timer's jitter. */
async function toMidInterval(cron: string, intervalMs: number): Promise<void> {
  const now = Date.now();
  let target = slotsBetween(cron, now, now + 2 * intervalMs)[0]! - intervalMs / 2;
  if (target < now) target += intervalMs;
  await sleep(target - now);
}

describe('summary slots: each posted exactly once, or logged with why not', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let n = 0;
  const bots: Bot[] = [];
  const children: ChildProcess[] = [];
  const databases: TestDatabase[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    HOME: dir,
    DATA_DIR: join(dir, `data-${++n}`),
    BALANCE_LOG_DIR: join(dir, 'logs'),
    PROVIDERS: 'kimi',
    MOONSHOT_API_KEY: 'sk-slots-SECRET',
    MOONSHOT_BASE_URL: moonshot.url,
    ...fakeDiscordEnv(fake),
    ...extra,
  });

  const start = async (extra: Record<string, string>, options: Partial<BotOptions> = {}) => {
    const logs = captureLogs('info');
    const bot = await startBot(loadConfig(env(extra)), logs.logger, {
      dryRun: false,
      rest: { retries: 1, timeout: 3000 },
      postRetry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 800 },
      ...options,
    });
    bots.push(bot);
    const lines = () =>
      logs.lines.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as LogLine);
    return { bot, lines };
  };

  /** Slots that were due but are not among the posts must each have a log line with a reason. */
  const unposted = (lines: LogLine[]) =>
    lines.filter(
      (l) =>
        (l.msg === 'slot skipped' && l.reason) ||
        (l.msg === 'run failed' && l.err?.message?.includes('not posted')),
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-slots-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const b of bots.splice(0)) await b.stop(1000);
    // Drain injected failures a test left unused, so the next one starts clean.
    fake.failNext({ method: 'POST', pathPattern: /^$/ }, []);
  });
  afterAll(async () => {
    await fake?.close();
    await moonshot?.close();
    for (const d of databases) await d.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a 429 with a 10 s retry-after on a 4 s schedule THEN no slot is dropped silently: the waiting slot posts late, an older one is logged as superseded', async () => {
    const cron = '*/4 * * * * *';
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ status: 429, retryAfter: 10 }]);
    const before = fake.messages.length;
    const { bot, lines } = await start({ SUMMARY_CRON: cron });
    const t0 = Date.now();
    await sleep(21_000);
    await toMidInterval(cron, 4000);
    const t1 = Date.now();
    await bot.stop(15_000);
    const due = slotsBetween(cron, t0, t1);
    const posts = fake.messages.slice(before).filter(isSummary);
    const missing = unposted(lines());
    expect(due.length).toBeGreaterThanOrEqual(5);
    // Every due slot: posted once, or logged with its reason. Old code: 2 slots vanished without a word.
    expect(posts.length + missing.length).toBe(due.length);
    expect(new Set(posts.map(nonceOf)).size).toBe(posts.length);
    expect(missing.length).toBeLessThanOrEqual(1);
    expect(
      posts.some((m) => m.content?.includes('🕒 posted late: the previous run was still in progress')),
    ).toBe(true);
  }, 60_000);

  it('GIVEN Discord answers 502 for ~9 s on a 2 s schedule THEN each slot is posted once or logged as failed with why, and the first post after it says it is late', async () => {
    const cron = '*/2 * * * * *';
    const before = fake.messages.length;
    const { bot, lines } = await start(
      { SUMMARY_CRON: cron },
      // Old code: the poster's backoff (0.5+1+1+1 s) outlasts the 2 s interval, so croner dropped slots.
      { postRetry: { attempts: 5, baseDelayMs: 500, maxDelayMs: 1000 } },
    );
    const t0 = Date.now();
    // The outage ends 0.8 s into a slot: an attempt made before that fails, and one of its retries (after
    // 0.5 s, then 1 s) lands within the slot, so the first post to land has failed before.
    const end = (slotsBetween(cron, t0, t0 + 2000)[0] ?? t0) + 8800;
    fake.failFor({ method: 'POST', pathPattern: MESSAGES_PATH }, { status: 502 }, end - Date.now());
    await sleep(16_000);
    await toMidInterval(cron, 2000);
    const t1 = Date.now();
    await bot.stop(10_000);
    const due = slotsBetween(cron, t0, t1);
    const posts = fake.messages.slice(before).filter(isSummary);
    const missing = unposted(lines());
    expect(due.length).toBeGreaterThanOrEqual(7);
    expect(posts.length + missing.length).toBe(due.length);
    expect(new Set(posts.map(nonceOf)).size).toBe(posts.length);
    for (const m of missing) expect(`${m.reason ?? ''}${m.err?.message ?? ''}`).toMatch(/\S/);
    expect(missing.some((m) => m.err?.message?.includes('Discord was unavailable'))).toBe(true);
    expect(posts.some((m) => m.content?.includes('🕒 posted late: Discord was unavailable at'))).toBe(true);
  }, 60_000);

  it('GIVEN Discord stores a create but answers after the client timeout THEN the retry returns that message: 5 slots, 5 messages', async () => {
    const cron = '*/2 * * * * *';
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ respondAfterMs: 1500 }]);
    const before = fake.messages.length;
    // The poster is the one retry layer (its REST client does not retry): a short backoff keeps the retry
    // within the 2 s slot.
    const { bot, lines } = await start(
      { SUMMARY_CRON: cron },
      { rest: { timeout: 1000 }, postRetry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 400 } },
    );
    const t0 = Date.now();
    await fake.waitFor(
      () => fake.messages.slice(before).filter(isSummary).length >= 5,
      20_000,
      'five scheduled posts',
    );
    await toMidInterval(cron, 2000);
    const due = slotsBetween(cron, t0, Date.now());
    // On a loaded machine the post of the slot just before t1 can still be in flight: wait for it, then stop.
    const settled = () => fake.messages.slice(before).filter(isSummary).length + unposted(lines()).length;
    await fake.waitFor(() => settled() >= due.length, 10_000, 'every due slot posted or logged');
    const t2 = Date.now();
    await bot.stop(5000);
    const posts = fake.messages.slice(before).filter(isSummary);
    const missing = unposted(lines());
    // Every slot due by t1 was posted once or logged with why; one more may have fired while we waited.
    expect(posts.length + missing.length).toBeGreaterThanOrEqual(due.length);
    expect(posts.length + missing.length).toBeLessThanOrEqual(slotsBetween(cron, t0, t2).length);
    expect(posts.length).toBeGreaterThanOrEqual(5);
    // The timed-out create was retried (by the summary's retry) with the same nonce and folded into the first message.
    const creates = fake.requests.filter(
      (r) => r.method === 'POST' && MESSAGES_PATH.test(r.path) && r.time >= t0,
    );
    expect(creates.length).toBeGreaterThan(posts.length);
    expect(new Set(posts.map(nonceOf)).size).toBe(posts.length);
    for (const m of posts) expect(String(nonceOf(m)).length).toBeLessThanOrEqual(25);
  }, 60_000);

  it('GIVEN a Claude row of 1e2100 THEN the summary still posts, the Kimi line with it, every message within 2,000 characters', async () => {
    const claudeDb = await createTestDatabase('cw_slots_huge');
    databases.push(claudeDb);
    await withClient(claudeDb.connectionString, async (c) => {
      await c.query('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz)');
      await c.query("INSERT INTO claude_api_usage VALUES ('1e2100'::numeric, now())");
    });
    const before = fake.messages.length;
    const t0 = Date.now();
    const { bot } = await start({ PROVIDERS: 'claude,kimi', CLAUDE_DB_URL: claudeDb.connectionString });
    await bot.jobs[0]!.trigger(new Date(Math.floor(Date.now() / 1000) * 1000));
    const posts = fake.messages.slice(before).filter((m) => m.kind === 'create');
    expect(posts.length).toBeGreaterThanOrEqual(1);
    for (const m of posts) expect(m.content?.length ?? 0).toBeLessThanOrEqual(2000);
    expect(posts.map((m) => m.content).join('\n')).toContain('🌙 **Kimi:** $12.34 available');
    const refused = fake.requests.filter((r) => r.time >= t0 && r.status === 400);
    expect(refused).toEqual([]);
    // The poster itself never sends content over the limit: it cuts with an ellipsis as a last resort.
    await bot.poster.post(fake.channelId, { content: 'x'.repeat(2500) });
    const cut = fake.messages.at(-1)!;
    expect(cut.content?.length).toBe(2000);
    expect(cut.content?.endsWith('…')).toBe(true);
  }, 60_000);

  it('GIVEN the bot is down across a slot THEN the restarted bot posts that slot once, marked late with why', async () => {
    const cron = '*/10 * * * * *';
    const data = join(dir, 'restart');
    const before = fake.messages.length;
    const first = await start({ SUMMARY_CRON: cron, DATA_DIR: data });
    const posted = await fake.waitFor(
      () => fake.messages.slice(before).find(isSummary),
      15_000,
      'the first scheduled post',
    );
    await first.bot.stop(2000);
    const stoppedAt = Date.now();
    const [missed] = slotsBetween(cron, stoppedAt, stoppedAt + 10_000);
    await sleep(missed! - Date.now() + 1500);
    const second = await start({ SUMMARY_CRON: cron, DATA_DIR: data });
    const nonce = summaryNonce(new Date(missed!), 0);
    const late = await fake.waitFor(
      () => fake.messages.slice(before).find((m) => nonceOf(m) === nonce),
      6000,
      'the missed slot, posted late',
    );
    expect(late.content).toContain('🕒 posted late: the bot was down at');
    await second.bot.stop(2000);
    const summaries = fake.messages.slice(before).filter(isSummary);
    expect(summaries.filter((m) => nonceOf(m) === nonce)).toHaveLength(1);
    expect(summaries.filter((m) => nonceOf(m) === nonceOf(posted))).toHaveLength(1);
    // Only the most recent missed slot is caught up: one late post, never a flood.
    expect(summaries.filter((m) => m.content?.includes('posted late'))).toHaveLength(1);
  }, 60_000);

  it('GIVEN a process SIGKILLed between claiming a slot and posting it THEN the claim expires and another process posts that slot once', async () => {
    const shared = await createTestDatabase('cw_slots_kill');
    databases.push(shared);
    const cron = '*/15 * * * * *';
    const childEnv = env({ SUMMARY_CRON: cron, DATABASE_URL: shared.connectionString, LOG_LEVEL: 'info' });
    // The child's first create is held by "Discord" long enough to kill the child while it waits.
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ delayMs: 60_000 }]);
    const before = fake.requests.length;
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...childEnv },
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += String(d);
    });
    const held = await fake.waitFor(
      () =>
        fake.requests
          .slice(before)
          .find((r) => r.method === 'POST' && MESSAGES_PATH.test(r.path) && r.injected),
      30_000,
      "the child's held create",
    );
    const claims = await withClient(shared.connectionString, (c) =>
      c.query<{ slot: string }>("SELECT slot FROM schedule_slots WHERE job = 'summary'"),
    );
    expect(claims.rows).toHaveLength(1);
    const slot = new Date(claims.rows[0]!.slot);
    expect((held.body as { nonce?: unknown }).nonce).toBe(summaryNonce(slot, 0));
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(stderr).toContain('creditwatch started');

    const messagesBefore = fake.messages.length;
    await start({ SUMMARY_CRON: cron, DATABASE_URL: shared.connectionString });
    const nonce = summaryNonce(slot, 0);
    const taken = await fake.waitFor(
      () => fake.messages.slice(messagesBefore).find((m) => nonceOf(m) === nonce),
      slot.getTime() + 14_000 - Date.now(),
      'the killed slot, posted by the second process',
    );
    expect(taken.content).toContain('🕒 posted late: the bot was down at');
    await bots.at(-1)!.stop(2000);
    expect(fake.messages.filter((m) => nonceOf(m) === nonce)).toHaveLength(1);
    const done = await withClient(shared.connectionString, (c) =>
      c.query<{ done_at: string | null }>(
        "SELECT done_at FROM schedule_slots WHERE job = 'summary' AND slot = $1",
        [slot.toISOString()],
      ),
    );
    expect(done.rows[0]!.done_at).not.toBeNull();
  }, 90_000);

  it("GIVEN the bot's clock THEN the scheduled summary computes its runway at that time, not the system's", async () => {
    let clock = Date.parse('2025-03-01T00:00:00Z');
    const { bot } = await start({}, { now: () => new Date(clock) });
    let balance = 30;
    for (let i = 0; i <= 20; i++) {
      moonshot.setReply(moonshotBalance(balance, 0, balance));
      await bot.core.service.checkAll();
      if (i < 20) {
        clock += 6 * HOUR;
        balance -= 0.375;
      }
    }
    moonshot.setReply(moonshotBalance(balance, 0, balance));
    const before = fake.messages.length;
    await bot.jobs[0]!.trigger(new Date(clock));
    const post = fake.messages.slice(before).find(isSummary);
    // The runway as of the bot's clock: $22.50 falling $1.50/day over readings of March 2025, which a
    // window ending at the system's clock does not hold.
    const expected = await summaryPost(
      bot.core.service.peek(60_000)!,
      { insight: bot.context.insight, channelId: fake.channelId, cron: '0 0 1 1 *' },
      new Date(clock),
    );
    const kimiLine = expected.split('\n').find((l) => l.includes('**Kimi:**'))!;
    expect(kimiLine).toContain(' · ');
    expect(post?.content).toContain(kimiLine);
    moonshot.setReply(moonshotBalance(12.34, 3.45, 8.89));
  }, 60_000);
});
