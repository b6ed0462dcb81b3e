import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutgoingMessage, Poster } from '../../src/adapters/discord/poster.js';
import { loadConfig } from '../../src/core/config.js';
import { Insight } from '../../src/core/insight.js';
import { parseAmount } from '../../src/core/money.js';
import type { BalanceProvider, CheckResult, ProviderId } from '../../src/core/types.js';
import { type Core, createCore } from '../../src/entry/app.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { type Alerts, startAlerts } from '../../src/entry/jobs/alerts.js';
import { moonshotBalance, startFakeMoonshot } from '../support/fake-moonshot.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase, PG_HOST, PG_PORT, type TestDatabase, withClient } from '../support/postgres.js';
import { runNode } from '../support/run-node.js';

/**
 * A TCP forwarder in front of the test Postgres that can be cut (every connection reset, the port
 * closed: new connections are refused) and restored on the same port: a store that fails, then recovers.
 */
interface Forwarder {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startForwarder(options: { listening?: boolean } = {}): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = async (port: number) => {
    const s = createServer((client) => {
      const upstream = connect(PG_PORT, PG_HOST);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    server = s;
    return (s.address() as AddressInfo).port;
  };
  const stop = async () => {
    const s = server;
    server = null;
    for (const sock of sockets) sock.resetAndDestroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    // Lets the pool's idle clients see their reset before the next query: a query written to a
    // reset socket of a checked-out client is the separate "connection drops during a query" fault.
    await new Promise((r) => setTimeout(r, 200));
  };
  const port = await listen(0);
  if (options.listening === false) await stop();
  return {
    port,
    cut: stop,
    restore: async () => {
      if (!server) await listen(port);
    },
    close: stop,
  };
}

/** A port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Providers answering the values the test sets, each reading stamped with the test's clock. */
function scriptedProviders(clock: () => Date) {
  const values: Partial<Record<ProviderId, string>> = { claude: '8.00', kimi: '12.00' };
  const make = (id: ProviderId): BalanceProvider => ({
    id,
    currency: 'USD',
    async check(): Promise<CheckResult> {
      const at = clock();
      return {
        ok: true,
        provider: id,
        currency: 'USD',
        available: parseAmount(values[id] ?? '0'),
        asOf: at,
        checkedAt: at,
        latencyMs: 1,
      };
    },
    close: async () => {},
  });
  return { providers: [make('claude'), make('kimi')], values };
}

async function waitFor(what: string, test: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const storedReadings = (db: TestDatabase) =>
  withClient(db.connectionString, async (c) => {
    const { rows } = await c.query<{ provider: string; checked_at: string; available: string }>(
      'SELECT provider, checked_at, available FROM readings ORDER BY id',
    );
    return rows.map((r) => ({ provider: r.provider, at: Number(r.checked_at), available: r.available }));
  }).catch(() => []);

class RecordingPoster implements Poster {
  readonly posts: { channelId: string; message: OutgoingMessage }[] = [];
  async post(channelId: string, message: OutgoingMessage): Promise<void> {
    this.posts.push({ channelId, message });
  }
}

const FAST_RETRY = { initialMs: 50, maxMs: 200 };

describe('storage faults: no reading lost, alerts and posts carry on', () => {
  let dir: string;
  let clockMs: number;
  const clock = () => new Date(clockMs);
  const cleanup: (() => Promise<unknown> | unknown)[] = [];

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const config = (extra: Record<string, string> = {}) => {
    dir = mkdtempSync(join(tmpdir(), 'cw-faults-'));
    const d = dir;
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    return loadConfig(
      {
        HOME: dir,
        DATA_DIR: join(dir, 'data'),
        BALANCE_LOG_DIR: join(dir, 'logs'),
        PROVIDERS: 'claude,kimi',
        ALERT_CRON: '0 0 1 1 *',
        SUMMARY_CRON: '0 0 1 1 *',
        ...extra,
      },
      { providerSettings: 'optional' },
    );
  };

  async function pgBehindForwarder(options: { listening?: boolean } = {}) {
    const db = await createTestDatabase('cw_faults');
    const proxy = await startForwarder(options);
    cleanup.push(() => db.drop());
    cleanup.push(() => proxy.close());
    return { db, proxy, url: `postgres://postgres@127.0.0.1:${proxy.port}/${db.name}` };
  }

  async function core(extra: Record<string, string>, scripted: ReturnType<typeof scriptedProviders>) {
    const { logger, text } = captureLogs('debug');
    const c: Core = await createCore(config(extra), logger, {
      providers: scripted.providers,
      now: clock,
      storeRetry: FAST_RETRY,
    });
    cleanup.push(() => c.close());
    return { core: c, logs: text };
  }

  it('GIVEN Postgres cut for 4 of 10 checks THEN every reading is stored after it comes back, in order and once', async () => {
    clockMs = Date.parse('2026-12-01T10:00:00Z');
    const { db, proxy, url } = await pgBehindForwarder();
    const scripted = scriptedProviders(clock);
    const { core: c, logs } = await core({ DATABASE_URL: url }, scripted);
    const taken: { provider: string; at: number; available: string }[] = [];
    for (let i = 0; i < 10; i++) {
      if (i === 3) await proxy.cut();
      if (i === 7) await proxy.restore();
      clockMs += 60_000;
      scripted.values.kimi = `${20 + i}.00`;
      const summary = await c.service.checkAll();
      for (const s of summary.statuses)
        if (s.result.ok)
          taken.push({ provider: s.provider, at: clockMs, available: s.result.available.toFixed(2) });
    }
    expect(taken).toHaveLength(20);
    await waitFor('every reading stored', async () => (await storedReadings(db)).length >= taken.length);
    // Count: readings taken == readings stored, each once, in the order taken.
    expect(
      (await storedReadings(db)).map((r) => ({ ...r, available: Number(r.available).toFixed(2) })),
    ).toEqual(taken);
    expect(logs()).toMatch(/could not write .*readings.*waiting/);
  });

  it('GIVEN the embedded store on a full disk (SQLITE_FULL) for 4 of 10 checks THEN every reading is stored once it has room, in order and once', async () => {
    clockMs = Date.parse('2026-12-01T10:00:00Z');
    const scripted = scriptedProviders(clock);
    const { core: c, logs } = await core({}, scripted);
    const k = c.db.kysely;
    const taken: string[] = [];
    for (let i = 0; i < 10; i++) {
      if (i === 3) {
        // The disk is full: the file may not grow by one page, and the pages it has are filled up.
        const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(k)).rows[0]?.page_count;
        await sql.raw(`pragma max_page_count = ${pages}`).execute(k);
        for (const size of [2000, 200, 20, 1]) {
          for (;;) {
            const filler = sql`insert into readings (provider, checked_at, ok, currency, latency_ms, error, source)
              values ('filler', 0, 0, 'USD', 0, ${'f'.repeat(size)}, 'filler')`;
            const full = await filler.execute(k).then(
              () => false,
              (err: { code?: string }) => err.code === 'SQLITE_FULL',
            );
            if (full) break;
          }
        }
      }
      if (i === 7) await sql.raw('pragma max_page_count = 1073741823').execute(k);
      clockMs += 60_000;
      scripted.values.kimi = `${20 + i}.00`;
      await c.service.checkAll();
      taken.push(`claude@${clockMs}`, `kimi@${clockMs}`);
    }
    const stored = async () =>
      (
        await k
          .selectFrom('readings')
          .select(['provider', 'checked_at'])
          .where('source', '=', 'check')
          .orderBy('id')
          .execute()
      ).map((r) => `${r.provider}@${Number(r.checked_at)}`);
    await waitFor('every reading stored', async () => (await stored()).length >= taken.length);
    expect(await stored()).toEqual(taken);
    expect(logs()).toMatch(/database or disk is full/);
  });

  it('GIVEN the balance-log files on a full disk (/dev/full) THEN the lines wait and are appended whole, in order, once the disk accepts writes', async () => {
    clockMs = Date.parse('2026-12-01T10:00:00Z');
    const scripted = scriptedProviders(clock);
    const { core: c, logs } = await core({}, scripted);
    const files = ['claude/balance-log.txt', 'moonshot/balance-log.txt'].map((f) => join(dir, 'logs', f));
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      if (i === 2)
        for (const f of files) {
          // ENOSPC from now on: the file's path leads to /dev/full.
          renameSync(f, `${f}.kept`);
          symlinkSync('/dev/full', f);
        }
      if (i === 6)
        for (const f of files) {
          unlinkSync(f);
          renameSync(`${f}.kept`, f);
        }
      clockMs += 60_000;
      scripted.values.kimi = `${20 + i}.00`;
      await c.service.checkAll();
      expected.push(
        `${new Date(clockMs).toISOString().slice(0, 19).replace('T', ' ')} | Available: $${20 + i}.00`,
      );
    }
    await waitFor('every log line appended', () => readFileSync(files[1]!, 'utf8').split('\n').length > 10);
    const kimi = readFileSync(files[1]!, 'utf8').trimEnd().split('\n');
    expect(kimi.map((l) => l.split(' | Voucher')[0])).toEqual(expected);
    expect(readFileSync(files[0]!, 'utf8').trimEnd().split('\n')).toHaveLength(10);
    expect(logs()).toMatch(/ENOSPC/);
  });

  it('GIVEN the store down when a balance falls to $1 THEN the (critical) low-balance alert goes out during the outage, once, and the state is saved when the store answers', async () => {
    clockMs = Date.parse('2026-12-01T10:00:00Z');
    const { db, proxy, url } = await pgBehindForwarder();
    const scripted = scriptedProviders(clock);
    const cfg = config({ DATABASE_URL: url, PROVIDERS: 'claude,kimi' });
    const { logger } = captureLogs('debug');
    const c = await createCore(cfg, logger, {
      providers: scripted.providers,
      now: clock,
      storeRetry: FAST_RETRY,
    });
    cleanup.push(() => c.close());
    const poster = new RecordingPoster();
    const alerts: Alerts = startAlerts({
      config: cfg,
      core: c,
      insight: new Insight(c.history),
      poster,
      logger,
      dryRun: true,
      now: clock,
    });
    cleanup.push(() => alerts.close(1000));
    const step = async () => {
      clockMs += 5 * 60_000;
      await alerts.job.trigger(clock());
    };
    await step();
    expect(poster.posts).toHaveLength(0);
    await proxy.cut();
    scripted.values.kimi = '1.00';
    await step();
    // Sent while the store is still down (the slot and alert-sent claims both fail). $1 is below the critical
    // level too (half the $5 threshold), so the one alert is the critical one.
    expect(poster.posts.map((p) => p.message.content)).toEqual([
      expect.stringContaining('Kimi credits critically low'),
    ]);
    await step();
    expect(poster.posts).toHaveLength(1);
    await proxy.restore();
    // Found unreachable, the store is tried again by a probe (not by every call); once it answers, the state goes in.
    await waitFor('the store answering again', () => !c.db.isUnreachable);
    await step();
    expect(poster.posts).toHaveLength(1);
    const state = await withClient(db.connectionString, (q) =>
      q.query<{ value: string }>("SELECT value FROM kv WHERE key = 'alerts:kimi'"),
    );
    // keyv wraps the value: {"value": "<our JSON>"}.
    const stored = JSON.parse(JSON.parse(state.rows[0]?.value ?? '{}').value ?? '{}');
    expect(stored).toMatchObject({ provider: 'kimi', state: 'critical' });
  });

  it('GIVEN the store unreachable at start THEN the bot starts, posts, keeps retrying and writes the buffered readings once the store answers', async () => {
    clockMs = Date.parse('2026-12-01T10:00:00Z');
    const { db, proxy, url } = await pgBehindForwarder({ listening: false });
    const scripted = scriptedProviders(clock);
    const { logger, text } = captureLogs('debug');
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    const bot: Bot = await startBot(config({ DATABASE_URL: url, DRY_RUN: 'true' }), logger, {
      dryRun: true,
      providers: scripted.providers,
      out: sink,
      now: clock,
      storeRetry: FAST_RETRY,
    });
    cleanup.push(() => bot.stop(1000));
    await bot.jobs[0]!.trigger(clock());
    expect(out).toContain('📊 **API Balance Summary**');
    expect(out).toContain('**Kimi:** $12.00 available (threshold: $5.00)');
    await waitFor(
      'a second failed attempt to open the store',
      () => (text().match(/could not open the store/g) ?? []).length >= 2,
    );
    await proxy.restore();
    await waitFor('the buffered readings', async () => (await storedReadings(db)).length === 2);
    expect((await storedReadings(db)).map((r) => r.provider)).toEqual(['claude', 'kimi']);
    expect(text()).toMatch(/"level":30[^\n]*store open/);
  });
});

describe('npm run check with the history store unusable', () => {
  const CLI = join(import.meta.dirname, '../../dist/check.cjs');
  let moonshot: Awaited<ReturnType<typeof startFakeMoonshot>>;
  let claudeDb: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npm run build` first (npm test does)').toBe(true);
    moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
    claudeDb = await createTestDatabase('cw_faults_cli');
    await withClient(claudeDb.connectionString, async (c) => {
      await c.query('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz)');
      await c.query('INSERT INTO claude_api_usage VALUES (8.07, now())');
    });
    dir = mkdtempSync(join(tmpdir(), 'cw-faults-cli-'));
  });
  afterAll(async () => {
    await moonshot?.close();
    await claudeDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (home: string, extra: Record<string, string>) => ({
    HOME: home,
    DATA_DIR: join(home, 'data'),
    BALANCE_LOG_DIR: join(home, 'logs'),
    MOONSHOT_API_KEY: 'sk-faults-SECRET',
    MOONSHOT_BASE_URL: moonshot.url,
    CLAUDE_DB_URL: claudeDb.connectionString,
    PROVIDER_TIMEOUT_MS: '3000',
    ...extra,
  });

  const cases: [string, (home: string) => Promise<Record<string, string>>, RegExp][] = [
    [
      'a corrupt sqlite file',
      async (home) => {
        mkdirSync(join(home, 'data'), { recursive: true });
        writeFileSync(join(home, 'data/creditwatch.sqlite'), Buffer.alloc(8192, 0x5a));
        return {};
      },
      /sqlite .*creditwatch\.sqlite.*not a database/,
    ],
    [
      'DATA_DIR pointing at a regular file',
      async (home) => {
        writeFileSync(join(home, 'not-a-dir'), 'x');
        return { DATA_DIR: join(home, 'not-a-dir') };
      },
      /sqlite .*not-a-dir.*(ENOTDIR|EEXIST)/,
    ],
    [
      'DATABASE_URL at a closed port',
      async () => ({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/creditwatch` }),
      /postgres 127\.0\.0\.1:\d+\/creditwatch.*ECONNREFUSED/,
    ],
  ];

  for (const [name, setUp, problem] of cases) {
    it(`GIVEN ${name} THEN it prints the balances, exits by them and warns once on stderr`, async () => {
      const home = mkdtempSync(join(dir, 'case-'));
      const r = await runNode(CLI, env(home, await setUp(home)));
      expect(r.stdout).toContain('💳 **Claude:** $8.07 (threshold: $5.00)');
      expect(r.stdout).toContain('🌙 **Kimi:** $12.34 available (threshold: $5.00)');
      expect(r.code).toBe(0);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^creditwatch: warning: /);
      expect(lines[0]).toMatch(problem);
      expect(r.stderr).not.toContain('SECRET');
      // The balance-log files are not part of the store: they still get their lines.
      expect(readFileSync(join(home, 'logs/moonshot/balance-log.txt'), 'utf8')).toContain(
        'Available: $12.34',
      );
    });
  }

  it('GIVEN the store unusable and Kimi low THEN it exits 2; GIVEN --json THEN the JSON comes without forecasts', async () => {
    const home = mkdtempSync(join(dir, 'case-'));
    const extra = { DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/creditwatch` };
    moonshot.setReply(moonshotBalance(4.8, 1.2, 3.6));
    try {
      const low = await runNode(CLI, env(home, extra));
      expect(low.stdout).toContain('🌙 ⚠️ Kimi credits low!');
      expect(low.code).toBe(2);
      const json = await runNode(CLI, env(home, extra), ['--json']);
      const parsed = JSON.parse(json.stdout) as { providers: { provider: string; state: string }[] };
      expect(parsed.providers.map((p) => [p.provider, p.state])).toEqual([
        ['claude', 'ok'],
        ['kimi', 'low'],
      ]);
      expect(json.code).toBe(2);
      expect(json.stderr.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      moonshot.setReply(moonshotBalance(12.34, 3.45, 8.89));
    }
  });
});
