import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import { type FakeDiscord, startFakeDiscord, stringOption } from '../support/fake-discord.js';
import { openAiBucket, openAiCosts } from '../support/provider-replies.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEY = 'sk-admin-SECRET-budgetfc-7e';

/** The day (`2026-12-16`) of an epoch-ms time, in UTC. */
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The `📉` line of one account's block in a reply: the line after the block's head that starts with it. */
function runwayLine(content: string, label: string): string {
  const lines = content.split('\n');
  const head = lines.findIndex((l) => l.includes(`**${label}`) && !l.includes(`**${label} (`));
  if (head < 0) throw new Error(`no block for ${label} in:\n${content}`);
  const line = lines.slice(head + 1).find((l) => l.trimStart().startsWith('📉'));
  if (!line) throw new Error(`no 📉 line for ${label} in:\n${content}`);
  return line.trim();
}

/**
 * Budget accounts (issue 13) through the bot: `/balance` and `/balance-history` give the one budget forecast, the
 * month's projected spend against the budget, never a rate measured from the history.
 */
describe('budget forecast end to end: /balance-history says what /balance says', () => {
  let fake: FakeDiscord;
  let server: Server;
  let dir: string;
  let bot: Bot;
  let clock = Date.parse('2026-12-13T12:00:00Z');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-budgetfc-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
    // OpenAI's cost report: $7 for every completed day of December, $10 so far today.
    server = createServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const from = Number(query.get('start_time')) * 1000;
      const today = utcDay(clock);
      const buckets = [];
      for (let t = from; utcDay(t) <= today; t += DAY) {
        buckets.push(openAiBucket(utcDay(t), [utcDay(t) === today ? 10 : 7]));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(openAiCosts(buckets)));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = loadConfig({
      ...botEnv(dir, fake),
      PROVIDERS: 'openai,openai:team',
      OPENAI_ADMIN_KEY: KEY,
      OPENAI_MONTHLY_BUDGET: '200',
      OPENAI_BASE_URL: url,
      OPENAI_TEAM_ADMIN_KEY: KEY,
      OPENAI_TEAM_MONTHLY_BUDGET: '500',
      OPENAI_TEAM_BASE_URL: url,
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
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN 4 days of checks of two budget accounts THEN /balance-history’s forecast line for each is /balance’s: the month projected against its budget', async () => {
    // A check a day, Dec 13 to Dec 16 at noon: $7 a day in the history, but $115 by Dec 16 noon is $7.42 a day
    // over the month so far.
    for (let i = 0; i < 4; i++) {
      if (i > 0) clock += DAY;
      const summary = await bot.core.service.checkAll();
      expect(summary.statuses.map((s) => s.result.ok)).toEqual([true, true]);
    }

    const balance = await fake.sendCommand({ name: 'balance' }).final();
    const history = await fake
      .sendCommand({
        name: 'balance-history',
        options: [stringOption('period', '7d')],
      })
      .final();
    const shown = (content: string | null | undefined) => ({
      openai: runwayLine(content ?? '', 'OpenAI'),
      team: runwayLine(content ?? '', 'OpenAI (team)'),
    });
    const onBalance = shown(balance.content);
    // The budget forecast (one implementation): $115 of $200 spent in 15.5 days runs out before the month ends …
    expect(onBalance.openai).toMatch(
      /^📉 \$7\.42\/day · on track for \$230\.00 of \$200\.00 by Dec 31 · budget runs out ~<t:\d+:f>, before the month ends · high confidence: 15 d of this month's costs$/,
    );
    // … and $115 of $500 is within it.
    expect(onBalance.team).toBe(
      "📉 $7.42/day · on track for $230.00 of $500.00 by Dec 31 · within budget · high confidence: 15 d of this month's costs",
    );
    // /balance-history says the same, not the history's $7.00/day.
    expect(shown(history.content)).toEqual(onBalance);
    expect(history.content).not.toContain('$7.00/day');
    expect(history.files.map((f) => f.name)).toEqual(['balance-7d-usd.png', 'spend-7d-usd.png']);
    expect(`${balance.content}${history.content}`).not.toContain(KEY);

    // An hour on, with no check since: the held reading's forecast has not moved (its rate is measured up to
    // when it was read, and its times are moments, not counts from now). Over 24 h the history is one reading,
    // too little for statistics, but the budget's forecast needs none.
    clock += HOUR;
    for (const period of ['7d', '24h']) {
      const later = await fake
        .sendCommand({
          name: 'balance-history',
          options: [stringOption('period', period)],
        })
        .final();
      expect(shown(later.content), period).toEqual(onBalance);
    }
  });
});
