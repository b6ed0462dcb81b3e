import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { summaryPost } from '../../src/entry/jobs/summary.js';
import { botEnv } from '../support/bot-env.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Times in Discord are its timestamp markup, floored to the second. */
const utcMinute = (ms: number) => `<t:${Math.floor(ms / 1000)}:f>`;

describe('spend insight end to end: history through the service, forecast through /balance', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let bot: Bot;
  let clock = Date.parse('2026-11-20T00:00:00Z');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-forecast-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
    moonshot = await startFakeMoonshot();
    const config = loadConfig({
      ...botEnv(dir, fake),
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-forecast',
      MOONSHOT_BASE_URL: moonshot.url,
    });
    bot = await startBot(config, createLogger('silent'), {
      dryRun: false,
      rest: { retries: 1 },
      now: () => new Date(clock),
    });
  });
  afterAll(async () => {
    await bot?.stop(1000);
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN 5 days of checks spending $1.50/day THEN /balance shows the rate and the day it runs out', async () => {
    // 21 checks, 6 hours apart, $0.375 each: exactly $1.50 a day.
    let balance = 30;
    for (let i = 0; i <= 20; i++) {
      moonshot.setReply(moonshotBalance(balance, 0, balance));
      await bot.core.service.checkAll();
      if (i < 20) {
        clock += 6 * HOUR;
        balance -= 0.375;
      }
    }
    const last = clock;
    const handle = fake.sendCommand({ name: 'balance' });
    // The last check is fresh (same clock), so the answer comes from the cache; its forecast is read from
    // the history first, so it defers. Shown once, the same reading answers at once.
    expect((await handle.callback()).type).toBe(5);
    const content = (await handle.final()).content ?? '';
    expect(content).toContain('(cached; use fresh:true to check now)');
    const again = fake.sendCommand({ name: 'balance' });
    expect((await again.callback()).type).toBe(4);
    expect((await again.final()).content).toBe(content);
    expect(content).toContain('🌙 **Kimi:** $22.50 available');
    // One line, the rate stated once, each time naming the line it reaches: $5 in 11.7 d, $0 in 15 d.
    expect(content).toContain(
      `   📉 $1.50/day · threshold in 11 d (~${utcMinute(last + ((22.5 - 5) / 1.5) * DAY)})` +
        ` · $0 in 15 d (~${utcMinute(last + (22.5 / 1.5) * DAY)}) · high confidence: 21 readings over 5 d\n`,
    );
    expect(content.match(/\/day/g)).toHaveLength(1);

    // The hourly post carries the short clause.
    const post = await summaryPost(
      bot.core.service.peek(60_000)!,
      { insight: bot.context.insight, channelId: fake.channelId, cron: '0 * * * *' },
      new Date(clock),
    );
    expect(post).toContain(
      '🌙 **Kimi:** $22.50 available (threshold: $5.00) · threshold in 11 d · $0 in 15 d',
    );
  });
});
