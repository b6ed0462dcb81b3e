import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandPayloads, loadCommands } from '../../src/adapters/discord/commands/index.js';
import { accountDisplay } from '../../src/core/accounts.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import { getClosedPort } from '../support/fake-api.js';
import {
  booleanOption,
  type FakeDiscord,
  type InteractionHandle,
  type RecordedReply,
  startFakeDiscord,
  subcommand,
} from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';

// 30 Kimi accounts: 20 answered by the fake Moonshot, 10 pointed at a port nobody listens on.
const IDS = ['kimi', ...Array.from({ length: 29 }, (_, i) => `kimi:team-${i + 1}`)];
const FAILING = new Set(IDS.filter((_, i) => i % 3 === 2));
const KEY = 'sk-many-SECRET-30';

describe('the bot with 30 accounts, 10 failing (real discord.js client, fake Discord)', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let bot: Bot;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-e2e-many-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
    const closed = `http://127.0.0.1:${await getClosedPort()}`;
    const accounts = Object.fromEntries(
      IDS.flatMap((id) => {
        const prefix =
          id === 'kimi' ? 'MOONSHOT' : `MOONSHOT_${id.slice(5).toUpperCase().replaceAll('-', '_')}`;
        return [
          [`${prefix}_API_KEY`, KEY],
          [`${prefix}_BASE_URL`, FAILING.has(id) ? closed : moonshot.url],
        ];
      }),
    );
    const config = loadConfig({
      ...botEnv(dir, fake),
      PROVIDERS: IDS.join(','),
      ...accounts,
      PROVIDER_TIMEOUT_MS: '2000',
    });
    bot = await startBot(config, createLogger('silent'), {
      dryRun: false,
      rest: { retries: 2, timeout: 5000 },
    });
  });

  afterAll(async () => {
    await bot?.stop(1000);
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The whole answer: the reply and its follow-ups, once no more arrive. */
  async function answer(handle: InteractionHandle): Promise<RecordedReply[]> {
    const first = await handle.final(20_000);
    let seen = -1;
    while (seen !== handle.followUps.length) {
      seen = handle.followUps.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    return [first, ...handle.followUps];
  }

  function expectEveryAccountWithinLimits(parts: readonly RecordedReply[]): string {
    for (const part of parts) expect((part.content ?? '').length).toBeLessThanOrEqual(2000);
    const all = parts.map((p) => p.content ?? '').join('\n');
    for (const id of IDS) expect(all).toContain(`**${accountDisplay(id).label}:**`);
    expect(all).not.toContain(KEY);
    return all;
  }

  it('GIVEN /balance fresh THEN the answer comes in several messages of at most 2,000 characters naming all 30', async () => {
    const parts = await answer(
      fake.sendCommand({ name: 'balance', options: [booleanOption('fresh', true)] }),
    );
    expect(parts.length).toBeGreaterThan(1);
    const all = expectEveryAccountWithinLimits(parts);
    expect(all.match(/unavailable: cannot connect/g)).toHaveLength(10);
  });

  it('GIVEN history for all 30 THEN /balance-history answers across messages within 2,000 characters, a spend line for each, and its two charts in at most 10 files a message', async () => {
    const now = Date.now();
    await bot.core.history.record(
      IDS.flatMap((id, i) =>
        [3, 2, 1].map((hoursAgo) => ({
          ok: true as const,
          provider: id,
          currency: 'USD' as const,
          available: parseAmount((50 + i - (3 - hoursAgo) * (i + 1) * 0.25).toFixed(2)),
          asOf: new Date(now - hoursAgo * 3_600_000),
          checkedAt: new Date(now - hoursAgo * 3_600_000),
          latencyMs: 5,
        })),
      ),
    );
    const parts = await answer(fake.sendCommand({ name: 'balance-history' }));
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect((part.content ?? '').length).toBeLessThanOrEqual(2000);
      expect(part.files.length).toBeLessThanOrEqual(10);
    }
    const all = parts.map((p) => p.content ?? '').join('\n');
    // Other tests may have checked the accounts meanwhile (a reading or a failure each): counts and totals are
    // theirs too, so only what every order shares is asserted.
    for (const id of IDS) expect(all).toContain(`**${accountDisplay(id).label}** · `);
    expect(
      all.match(/💸 most spend on \d{4}-\d{2}-\d{2} \(UTC\): \$\d+\.\d{2} of \$\d+\.\d{2} over 7 days/g),
    ).toHaveLength(30);
    expect(parts.flatMap((p) => p.files.map((f) => f.name))).toEqual([
      'balance-7d-usd.png',
      'spend-7d-usd.png',
    ]);
  });

  it('GIVEN /threshold show THEN every account is listed, privately, across messages within the limit', async () => {
    const parts = await answer(fake.sendCommand({ name: 'threshold', options: [subcommand('show')] }));
    expectEveryAccountWithinLimits(parts);
    for (const part of parts) expect(part.ephemeral).toBe(true);
  });

  it('GIVEN 30 accounts THEN the commands offer them by autocomplete, answered with at most 25', async () => {
    const payloads = commandPayloads(loadCommands({ accounts: IDS }), { accounts: IDS });
    const options = payloads.flatMap(
      (p) => JSON.stringify(p).match(/\{[^{}]*"name":"account"[^{}]*\}/g) ?? [],
    );
    expect(options.length).toBeGreaterThan(0);
    for (const option of options) {
      expect(option).toContain('"autocomplete":true');
      expect(option).not.toContain('choices');
    }
    const auto = fake.sendCommand({
      name: 'balance',
      kind: 'autocomplete',
      options: [{ name: 'account', type: 3, value: 'kimi:team-1', focused: true }],
    });
    const cb = await auto.callback();
    expect(cb.choices?.map((c) => (c as { value: string }).value)).toEqual(
      IDS.filter((id) => id.startsWith('kimi:team-1')),
    );
  });
});
