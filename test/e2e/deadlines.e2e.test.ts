import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import {
  booleanOption,
  type FakeDiscord,
  type InteractionHandle,
  numberOption,
  Permission,
  type SendCommandOptions,
  startFakeDiscord,
  stringOption,
  subcommand,
} from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { holdSqliteWriteLock } from '../support/sqlite-lock.js';

const logger = createLogger('silent');
/** Discord's deadline for the first answer to an interaction. */
const DEADLINE_MS = 3000;
/** How long the store stays slow: longer than the deadline, shorter than SQLite's 5 s busy timeout. */
const SLOW_MS = 4500;

const ADMIN = { permissions: Permission.ManageGuild } as const;
const MEMBER = { permissions: Permission.SendMessages | Permission.ViewChannel } as const;

/** A store made slow from outside the bot for {@link SLOW_MS}. */
interface Slowdown {
  /** Called right after the interactions are sent, before the bot has seen them. */
  begin(): void;
  /** Ends the slowdown if it has not ended yet, and cleans up. */
  release(): Promise<void>;
}

/**
 * Every store call the bot makes while `slow` lasts waits until it ends. Sends the interactions at once,
 * then returns each with its first answer: acknowledged means a callback Discord accepted, within 3 s.
 */
async function drill(
  fake: FakeDiscord,
  slow: () => Promise<Slowdown>,
  commands: readonly SendCommandOptions[],
): Promise<{ handles: InteractionHandle[]; acknowledged: number; late: string[] }> {
  const slowdown = await slow();
  try {
    const handles = commands.map((c) => fake.sendCommand(c));
    slowdown.begin();
    const callbacks = await Promise.all(handles.map((h) => h.callback(SLOW_MS + 5000)));
    const late: string[] = [];
    let acknowledged = 0;
    callbacks.forEach((cb, i) => {
      const ms = cb.receivedAt - handles[i]!.arrivedAt;
      if (cb.status < 300 && ms <= DEADLINE_MS) acknowledged++;
      else late.push(`${JSON.stringify(commands[i]!.options ?? commands[i]!.name)}: ${ms} ms, ${cb.status}`);
    });
    // Every answer lands once the store is back (a refused callback shows up in `late` above).
    await Promise.allSettled(handles.map((h) => h.final(SLOW_MS + 10_000)));
    return { handles, acknowledged, late };
  } finally {
    await slowdown.release();
  }
}

describe('every interaction is acknowledged within 3 s whatever the store does', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let pg: TestDatabase;
  const bots: Bot[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-deadlines-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
    pg = await createTestDatabase('cw_deadlines');
  });

  afterAll(async () => {
    for (const b of bots) await b.stop(1000);
    await fake?.close();
    await moonshot?.close();
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (extra: Record<string, string>) => {
    const config = loadConfig({
      ...botEnv(dir, fake),
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-deadlines',
      MOONSHOT_BASE_URL: moonshot.url,
      BALANCE_CACHE_TTL: '10m',
      ...extra,
    });
    const bot = await startBot(config, logger, { dryRun: false, rest: { retries: 1, timeout: 15_000 } });
    bots.push(bot);
    // A reading in the cache, shown once: the cached /balance below can answer from memory.
    await fake.sendCommand({ name: 'balance', options: [booleanOption('fresh', true)] }).final(10_000);
    return bot;
  };

  /** The two rounds: every command while the store is slow; then a cached /balance whose extras are not in memory. */
  async function rounds(bot: Bot, slow: () => Promise<Slowdown>) {
    const first = await drill(fake, slow, [
      {
        name: 'threshold',
        options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', 7.5)])],
        ...ADMIN,
      },
      { name: 'threshold', options: [subcommand('show')], ...ADMIN },
      { name: 'threshold', options: [subcommand('show')], ...MEMBER },
      { name: 'balance' },
      { name: 'balance', options: [booleanOption('fresh', true)] },
      { name: 'balance-history', options: [stringOption('period', '24h')] },
    ]);
    expect(first.late).toEqual([]);
    expect(first.acknowledged).toBe(first.handles.length);
    const [set, show, memberShow, cached, fresh, history] = await Promise.all(
      first.handles.map((h) => h.final()),
    );
    expect(set?.content).toContain('Kimi threshold set to $7.50');
    expect(set?.ephemeral).toBe(true);
    expect(show?.content).toContain('**Thresholds**');
    expect(show?.ephemeral).toBe(true);
    // Members may look (issue 10); the answer is as private as the admin's.
    expect(memberShow?.content).toContain('🌙 **Kimi:**');
    expect(memberShow?.ephemeral).toBe(true);
    // Everything for it was in memory: answered at once, no deferral.
    expect((await first.handles[3]!.callback()).type).toBe(4);
    expect(cached?.content).toContain('(cached; use fresh:true to check now)');
    expect(fresh?.content).toContain('$12.34 available');
    expect(history?.content).toContain('Balance history');

    // A re-judged reading is a new summary whose forecast and alert state were never read: it defers.
    await bot.core.service.rejudgeCached();
    const second = await drill(fake, slow, [
      { name: 'balance' },
      { name: 'threshold', options: [subcommand('reset', [stringOption('account', 'kimi')])], ...ADMIN },
    ]);
    expect(second.late).toEqual([]);
    expect(second.acknowledged).toBe(second.handles.length);
    expect((await second.handles[0]!.callback()).type).toBe(5);
    expect((await second.handles[0]!.final()).content).toContain('(cached; use fresh:true to check now)');
    expect((await second.handles[1]!.final()).content).toContain('Kimi threshold reset to the default $5.00');
  }

  it('GIVEN another process holding the SQLite write lock for 4.5 s THEN /threshold set/show/reset and /balance (cached, fresh) are each acknowledged within 3 s, and answered after', async () => {
    const bot = await start({});
    const file = join(dir, 'data', 'creditwatch.sqlite');
    await rounds(bot, async () => {
      const holder = await holdSqliteWriteLock(file, SLOW_MS);
      let write: Promise<unknown> = Promise.resolve();
      return {
        // One write of the bot's own, waiting for the lock: every store call after it waits its turn, as
        // behind the bot's recording of readings. (The old synchronous driver stopped the whole bot here.)
        begin: () => {
          write = bot.core.db.kysely
            .insertInto('kv')
            .values({ key: `drill:${Date.now()}`, value: 'x', expires_at: null })
            .execute();
        },
        release: async () => {
          await holder.stop();
          await write;
        },
      };
    });
    await bot.stop(1000);
  }, 60_000);

  it('GIVEN Postgres tables locked by another session for 4.5 s THEN the same commands are each acknowledged within 3 s, and answered after', async () => {
    const bot = await start({ DATABASE_URL: pg.connectionString });
    await rounds(bot, async () => {
      const session = new Client({ connectionString: pg.connectionString });
      session.on('error', () => {});
      await session.connect();
      await session.query('BEGIN');
      // What a long migration or a stuck transaction does: every statement on these tables waits.
      await session.query('LOCK TABLE kv, readings, threshold_changes IN ACCESS EXCLUSIVE MODE');
      const timer = setTimeout(() => void session.query('ROLLBACK'), SLOW_MS);
      return {
        begin: () => {},
        release: async () => {
          clearTimeout(timer);
          await session.query('ROLLBACK').catch(() => {});
          await session.end();
        },
      };
    });
    await bot.stop(1000);
  }, 60_000);
});
