import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import {
  booleanOption,
  type FakeDiscord,
  numberOption,
  Permission,
  startFakeDiscord,
  stringOption,
  subcommand,
} from '../support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MESSAGES_PATH = /^\/channels\/\d+\/messages$/;
const KEY = 'sk-e2e-SECRET-0451';
const logger = createLogger('silent');

describe('the bot against a fake Discord (real discord.js client)', () => {
  // Shared and never changed by a test: the Claude table.
  let claudeDb: TestDatabase;
  // Each test gets its own: fake Discord, Moonshot, data folder and bot, so it runs alone and in any order.
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let dir: string;
  let bots: Bot[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    ...botEnv(dir, fake),
    PROVIDERS: 'claude,kimi',
    MOONSHOT_API_KEY: KEY,
    MOONSHOT_BASE_URL: moonshot.url,
    CLAUDE_DB_URL: claudeDb.connectionString,
    ADMIN_ROLE_IDS: fake.roleIds.Member ?? '',
    ...extra,
  });

  const start = async (extra: Record<string, string> = {}) => {
    const bot = await startBot(loadConfig(env(extra)), logger, {
      dryRun: false,
      rest: { retries: 2, timeout: 5000 },
      postRetry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 400 },
    });
    bots.push(bot);
    return bot;
  };

  /** A /balance that checks both providers, so the next one can answer from the cache. */
  const primeCache = async () => {
    const handle = fake.sendCommand({ name: 'balance' });
    expect((await handle.final()).content).toContain('🌙 **Kimi:** $12.34 available');
  };

  const setKimiThreshold = async (amount: number) => {
    const set = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', amount)])],
      permissions: Permission.ManageGuild,
    });
    expect((await set.final()).content).toContain(`Kimi threshold set to $${amount.toFixed(2)}`);
  };

  let bot: Bot;

  beforeAll(async () => {
    claudeDb = await createTestDatabase('cw_e2e');
    await withClient(claudeDb.connectionString, async (c) => {
      await c.query('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz)');
      await c.query("INSERT INTO claude_api_usage VALUES (8.07, now() - interval '2 hours 5 minutes')");
    });
  });

  afterAll(async () => {
    await claudeDb?.drop();
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-e2e-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
    bot = await start();
  });

  afterEach(async () => {
    for (const b of bots) await b.stop(1000);
    bots = [];
    await fake?.close();
    await moonshot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a fresh start THEN the client identified with only the Guilds intent and is in the guild', () => {
    expect(fake.gateway.identifyCount).toBe(1);
    expect(fake.gateway.identifies[0]?.intents).toBe(1);
    expect(bot.client?.guilds.cache.has(fake.guildId)).toBe(true);
  });

  it('GIVEN /balance with an empty cache THEN it defers, checks, and shows every provider with voucher, cash, threshold, status and age', async () => {
    const before = moonshot.requests.length;
    const handle = fake.sendCommand({ name: 'balance' });
    const callback = await handle.callback();
    expect(callback.type).toBe(5);
    const reply = await handle.final();
    expect(moonshot.requests.length).toBe(before + 1);
    expect(reply.content).toContain(
      '🌙 **Kimi:** $12.34 available (voucher $3.45, cash $8.89) · threshold $5.00 · ✅ ok',
    );
    expect(reply.content).toContain('💳 **Claude:** $8.07 available · threshold $5.00 · ✅ ok');
    expect(reply.content).toMatch(/🕒 reading is 2h [5-6]m old/);
    expect(reply.allowedMentions).toEqual({ parse: [] });
    expect(reply.content).not.toContain(KEY);
  });

  it('GIVEN a recent reading THEN /balance answers at once from the cache, and fresh:true checks again', async () => {
    await primeCache();
    const before = moonshot.requests.length;
    const cached = fake.sendCommand({ name: 'balance', options: [stringOption('account', 'kimi')] });
    const cb = await cached.callback();
    expect(cb.type).toBe(4);
    expect(cb.content).toContain('(cached; use fresh:true to check now)');
    expect(cb.content).toContain('Kimi');
    expect(cb.content).not.toContain('Claude');
    expect(moonshot.requests.length).toBe(before);

    moonshot.setReply(moonshotBalance(4.5, 1, 3.5));
    const fresh = fake.sendCommand({ name: 'balance', options: [booleanOption('fresh', true)] });
    expect((await fresh.callback()).type).toBe(5);
    const reply = await fresh.final();
    expect(moonshot.requests.length).toBe(before + 1);
    expect(reply.content).toContain(
      '⚠️ **Kimi:** $4.50 available (voucher $1.00, cash $3.50) · threshold $5.00 · ⚠️ low',
    );
  });

  it('GIVEN an account option that is not enabled THEN the user is told which are', async () => {
    const handle = fake.sendCommand({
      name: 'balance',
      options: [stringOption('account', 'openai<@everyone>')],
    });
    const reply = await handle.final();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('Unknown account');
    expect(reply.content).toContain('Kimi (kimi)');
  });

  it('GIVEN a command registered before the rename (a `provider` option) THEN it says to redeploy, changing nothing', async () => {
    const before = await bot.core.service.thresholds.override('kimi');
    const balance = fake.sendCommand({ name: 'balance', options: [stringOption('provider', 'kimi')] });
    const set = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('provider', 'kimi'), numberOption('amount', 42)])],
      permissions: Permission.ManageGuild,
    });
    for (const handle of [balance, set]) {
      const reply = await handle.final();
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toContain('`provider` option is now `account`');
      expect(reply.content).toContain('npm run deploy-commands');
    }
    expect(await bot.core.service.thresholds.override('kimi')).toEqual(before);
  });

  it('GIVEN a crafted period or account named after an Object property THEN it is refused like any unknown one', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const period = fake.sendCommand({ name: 'balance-history', options: [stringOption('period', name)] });
      const reply = await period.final();
      expect(reply.ephemeral, name).toBe(true);
      expect(reply.content, name).toContain(`Unknown period "${name}". Use one of 24h, 7d, 30d, 90d.`);
      const account = fake.sendCommand({ name: 'balance', options: [stringOption('account', name)] });
      expect((await account.final()).content, name).toContain(`Unknown account "${name}"`);
    }
  });

  it('GIVEN recorded history THEN /balance-history shows the statistics, top-ups and a PNG chart', async () => {
    const now = Date.now();
    const hour = 3_600_000;
    const results = [];
    // 48 hourly Kimi readings spending $0.10/h with one $5 top-up in the middle.
    for (let i = 48; i >= 1; i--) {
      const available = 20 - (48 - i) * 0.1 + (i <= 24 ? 5 : 0);
      results.push({
        ok: true as const,
        provider: 'kimi' as const,
        currency: 'USD' as const,
        available: parseAmount(available.toFixed(2)),
        voucher: parseAmount('0'),
        cash: parseAmount(available.toFixed(2)),
        asOf: new Date(now - i * hour),
        checkedAt: new Date(now - i * hour),
        latencyMs: 10,
      });
    }
    await bot.core.history.record(results);
    const handle = fake.sendCommand({
      name: 'balance-history',
      options: [stringOption('account', 'kimi'), stringOption('period', '7d')],
    });
    expect((await handle.callback()).type).toBe(5);
    const reply = await handle.final();
    expect(reply.content).toContain('**Balance history · last 7d**');
    expect(reply.content).toContain('🌙 **Kimi**');
    expect(reply.content).toContain('first $20.00');
    // The $5 top-up lands between two hourly readings, after $0.10 of spend: +$4.90 is what was observed.
    expect(reply.content).toContain('top-ups (not spend): +$4.90');
    // The rate once, then the lines it reaches and the confidence it rests on.
    // 46 hours of $0.10 spend over 47 h (the hour of the top-up shows no spend): $2.35/day; $20.30 left.
    expect(reply.content).toMatch(
      /\n {3}📉 \$2\.35\/day · threshold in 6 d \(~<t:\d+:f>\) · \$0 in 8 d \(~<t:\d+:f>\) · medium confidence: 48 readings over 47 h\n {3}💸 /,
    );
    expect((reply.content ?? '').match(/\/day/g)).toHaveLength(1);
    // Spend per UTC day: each $0.10 fall on the day of its later reading, the top-up in none of them.
    const byDay = new Map<string, number>();
    for (let i = 47; i >= 1; i--) {
      if (i === 24) continue;
      const day = new Date(now - i * hour).toISOString().slice(0, 10);
      byDay.set(day, (byDay.get(day) ?? 0) + 10);
    }
    const [peakDay, peakCents] = [...byDay].reduce((best, d) => (d[1] > best[1] ? d : best));
    expect(reply.content).toContain(
      `\n   💸 most spend on ${peakDay} (UTC): $${(peakCents / 100).toFixed(2)} of $4.60 over 7 days`,
    );
    expect(reply.files.map((f) => f.name)).toEqual(['balance-7d-usd.png', 'spend-7d-usd.png']);
    for (const f of reply.files) expect(f.data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });

  it('GIVEN fewer than two readings for a provider THEN /balance-history says there is not enough history yet', async () => {
    const handle = fake.sendCommand({
      name: 'balance-history',
      options: [stringOption('account', 'claude'), stringOption('period', '24h')],
    });
    const reply = await handle.final();
    expect(reply.content).toContain('not enough history yet');
    expect(reply.files).toHaveLength(0);
  });

  it('GIVEN a member without Manage Server THEN /threshold set is refused privately and nothing changes', async () => {
    const handle = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', 9)])],
      permissions: Permission.SendMessages | Permission.ViewChannel,
    });
    const reply = await handle.final();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('You need the Manage Server permission');
    expect((await bot.core.thresholds.get('kimi')).toFixed(2)).toBe('5.00');
  });

  it('GIVEN a member without Manage Server THEN /threshold show answers them privately, while set and reset stay refused', async () => {
    const member = Permission.SendMessages | Permission.ViewChannel;
    const show = fake.sendCommand({ name: 'threshold', options: [subcommand('show')], permissions: member });
    const shown = await show.final();
    expect(shown.ephemeral).toBe(true);
    expect(shown.content).toContain('**Thresholds**');
    expect(shown.content).toContain('🌙 **Kimi:** $5.00 (default)');
    expect(shown.content).not.toContain('Nothing was changed');
    const reset = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('reset', [stringOption('account', 'kimi')])],
      permissions: member,
    });
    expect((await reset.final()).content).toContain('You need the Manage Server permission');
    // A subcommand the command does not declare gets the strictest guard.
    const bogus = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('bogus')],
      permissions: member,
    });
    expect((await bogus.final()).content).toContain('You need the Manage Server permission');
    expect(await bot.core.thresholds.changes()).toEqual([]);
  });

  it('GIVEN invalid amounts THEN /threshold set refuses each with the reason', async () => {
    for (const [amount, reason] of [
      [5.123, 'Threshold not changed: 5.123 has 3 decimals; use at most 2 decimals (e.g. 5.12).'],
      [-1, 'from 0 to 1000000'],
      [2_000_000, 'at most 1000000'],
      [1e-7, 'from 0 to 1000000'],
    ] as const) {
      const handle = fake.sendCommand({
        name: 'threshold',
        options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', amount)])],
        permissions: Permission.ManageGuild,
      });
      const reply = await handle.final();
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toContain('Threshold not changed');
      expect(reply.content).toContain(reason);
    }
    expect((await bot.core.thresholds.get('kimi')).toFixed(2)).toBe('5.00');
  });

  it('GIVEN an admin (Manage Server, or an ADMIN_ROLE_IDS role) THEN /threshold set and reset change the threshold, audited', async () => {
    await primeCache();
    const set = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', 7.5)])],
      permissions: Permission.ManageGuild,
    });
    const reply = await set.final();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe(
      '✅ Kimi threshold set to $7.50 (was $5.00 (default)). Critical level in force: $3.75. The next post and alert check use it.',
    );
    expect((await bot.core.thresholds.get('kimi')).toFixed(2)).toBe('7.50');
    // The cached reading is judged again at once: /balance shows the new threshold without a new check
    // (deferred: the re-judged reading's forecast and alert state are read from the store first).
    const calls = moonshot.requests.length;
    const balance = fake.sendCommand({ name: 'balance', options: [stringOption('account', 'kimi')] });
    const shown = await balance.final();
    // $12.34 against the new $7.50: still ok, judged again without a new check.
    expect(shown.content).toContain(
      '🌙 **Kimi:** $12.34 available (voucher $3.45, cash $8.89) · threshold $7.50 · ✅ ok',
    );
    expect(shown.content).toContain('(cached; use fresh:true to check now)');
    expect(moonshot.requests.length).toBe(calls);

    const byRole = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('set', [stringOption('account', 'claude'), numberOption('amount', 6)])],
      permissions: Permission.SendMessages,
      roles: [fake.roleIds.Member!],
    });
    expect((await byRole.final()).content).toContain('Claude threshold set to $6.00');

    const reset = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('reset', [stringOption('account', 'claude')])],
      permissions: Permission.ManageGuild,
    });
    expect((await reset.final()).content).toContain(
      'Claude threshold reset to the default $5.00 (was $6.00)',
    );
    const changes = await bot.core.thresholds.changes();
    expect(
      changes.map((c) => [c.provider, c.oldValue?.toFixed(2) ?? null, c.newValue?.toFixed(2) ?? null]),
    ).toEqual([
      ['claude', '6.00', null],
      ['claude', null, '6.00'],
      ['kimi', null, '7.50'],
    ]);
    expect(changes[2]?.changedBy).toContain('412349985117863937');
  });

  it('GIVEN /threshold in a DM THEN it is refused as guild-only', async () => {
    const handle = fake.sendCommand({ name: 'threshold', options: [subcommand('show')], guildId: null });
    const reply = await handle.final();
    expect(reply.content).toContain('only works in a server');
  });

  it('GIVEN a threshold change THEN it survives a restart of the bot', async () => {
    await setKimiThreshold(7.5);
    await bot.stop(1000);
    bot = await start();
    const handle = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('show')],
      permissions: Permission.ManageGuild,
    });
    const reply = await handle.final();
    expect(reply.content).toContain('🌙 **Kimi:** $7.50 · critical $3.75 (half)\n');
    expect(reply.content).toContain('💳 **Claude:** $5.00 (default)');
    expect(reply.content).toContain('Recent changes:');
  });

  it('GIVEN an unknown command and an autocomplete request THEN both are answered and the bot carries on', async () => {
    const unknown = fake.sendCommand({ name: 'credits' });
    expect((await unknown.final()).content).toContain('Unknown command /credits');
    const auto = fake.sendCommand({
      name: 'balance',
      kind: 'autocomplete',
      options: [stringOption('account', 'k', true)],
    });
    const cb = await auto.callback();
    expect(cb.type).toBe(8);
    expect(cb.choices).toEqual([{ name: 'Kimi', value: 'kimi' }]);
  });

  it('GIVEN a dropped gateway connection THEN the client resumes (no new IDENTIFY) and keeps answering', async () => {
    const identifies = fake.gateway.identifyCount;
    const resumes = fake.gateway.resumeCount;
    await fake.dropGatewayConnection();
    await fake.waitFor(() => fake.gateway.resumeCount === resumes + 1, 10_000, 'resume');
    expect(fake.gateway.identifyCount).toBe(identifies);
    const handle = fake.sendCommand({ name: 'balance', options: [booleanOption('fresh', true)] });
    expect((await handle.final()).content).toContain('Kimi');
  });

  it('GIVEN a per-second SUMMARY_CRON THEN the summary is posted to the channel, pinging nobody, with thresholds in force', async () => {
    await setKimiThreshold(7.5);
    const scheduled = await start({ DATA_DIR: bot.core.config.dataDir, SUMMARY_CRON: '*/1 * * * * *' });
    try {
      const message = await fake.waitForMessage(
        (m) => m.content?.startsWith('📊 **API Balance Summary**') ?? false,
        5000,
      );
      expect(message.channelId).toBe(fake.channelId);
      expect(message.allowedMentions).toEqual({ parse: [], roles: [] });
      expect(message.content).toContain('🌙 **Kimi:** $12.34 available (threshold: $7.50)');
      expect(message.content).toContain('💳 **Claude:** $8.07 (threshold: $5.00)');
      expect(message.content).toContain('Posts to <#');
    } finally {
      await scheduled.stop(1000);
    }
  });

  it('GIVEN two replicas on one Postgres THEN each scheduled slot is posted exactly once', async () => {
    const shared = await createTestDatabase('cw_replicas');
    const replicaEnv = { DATABASE_URL: shared.connectionString, SUMMARY_CRON: '*/1 * * * * *' };
    const before = fake.messages.length;
    try {
      const a = await start({ ...replicaEnv, DATA_DIR: join(dir, 'replica-a') });
      const b = await start({ ...replicaEnv, DATA_DIR: join(dir, 'replica-b') });
      await fake.waitFor(
        () => fake.messages.slice(before).filter((m) => m.content?.startsWith('📊')).length >= 3,
        8000,
        'three scheduled posts',
      );
      await a.stop(2000);
      await b.stop(2000);
      const posts = fake.messages.slice(before).filter((m) => m.content?.startsWith('📊'));
      const slots = await withClient(shared.connectionString, (c) =>
        c.query<{ n: string }>("SELECT count(*) AS n FROM schedule_slots WHERE job = 'summary'"),
      );
      expect(posts.length).toBe(Number(slots.rows[0]?.n));
    } finally {
      await shared.drop();
    }
  });

  it('GIVEN Discord answers a post with 500 and then 429 THEN the post is retried, the wait honoured, and it lands once', async () => {
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [
      { status: 500 },
      { status: 429, retryAfter: 0.3 },
    ]);
    const sent = fake.messages.length;
    const t0 = Date.now();
    await bot.poster.post(fake.channelId, { content: 'retry me' });
    const posts = fake.requests.filter(
      (r) => r.method === 'POST' && MESSAGES_PATH.test(r.path) && r.time >= t0,
    );
    expect(posts.map((r) => r.status)).toEqual([500, 429, 200]);
    expect(posts[2]!.time - posts[1]!.respondedAt).toBeGreaterThanOrEqual(290);
    expect(fake.messages.slice(sent).map((m) => m.content)).toEqual(['retry me']);
  });

  it('GIVEN Discord keeps failing THEN the post gives up with POST FAILED after exactly its 3 attempts (one request each)', async () => {
    // postRetry allows 3 attempts and the poster's REST client does not retry on its own: 3 requests in all.
    fake.failNext(
      { method: 'POST', pathPattern: MESSAGES_PATH },
      Array.from({ length: 3 }, () => ({ status: 503 as const })),
    );
    const sent = fake.messages.length;
    const t0 = Date.now();
    await expect(bot.poster.post(fake.channelId, { content: 'lost' })).rejects.toThrow(/POST FAILED/);
    const posts = () =>
      fake.requests.filter((r) => r.method === 'POST' && MESSAGES_PATH.test(r.path) && r.time >= t0);
    expect(posts().map((r) => r.status)).toEqual([503, 503, 503]);
    expect(fake.messages.length).toBe(sent);
    // Nothing injected is left over: the next post lands at its first request.
    await bot.poster.post(fake.channelId, { content: 'after' });
    expect(posts().map((r) => r.status)).toEqual([503, 503, 503, 200]);
  });

  it('GIVEN an unexpected error inside a command THEN the user gets a generic reply with the interaction id', async () => {
    // Break the history store under the running bot: the command fails in a way it does not expect.
    await bot.core.db.kysely.destroy();
    const handle = fake.sendCommand({ name: 'balance-history' });
    const reply = await handle.final();
    expect(reply.content).toContain('Something went wrong on our side');
    expect(reply.content).toContain(handle.id);
    // The bot is still up and answers the next interaction.
    const next = fake.sendCommand({
      name: 'threshold',
      options: [subcommand('bogus')],
      permissions: Permission.ManageGuild,
    });
    expect((await next.final()).content).toBe('Unknown subcommand "bogus".');
  });
});
