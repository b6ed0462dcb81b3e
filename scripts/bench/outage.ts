/**
 * The outage drill: `npm start`'s compiled entry as a child process against the fake Discord of
 * test/support, a local Moonshot stand-in and the local PostgreSQL, with faults injected from outside —
 * Discord rate limits, 502s and a create answered after the client's timeout; the store reset and
 * black-holed behind a TCP proxy; the store locked by another process; the bot SIGKILLed mid-post and
 * restarted across a slot. Each row counts two things that must come out equal, taken from what the
 * stand-ins saw (messages, requests, rows), never from what the bot says it did.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cron } from 'croner';
import pg from 'pg';
import {
  booleanOption,
  type FakeDiscord,
  numberOption,
  Permission,
  type RecordedMessage,
  type SendCommandOptions,
  startFakeDiscord,
  stringOption,
  subcommand,
} from '../../test/support/fake-discord.js';
import { type FakeMoonshot, moonshotBalance, startFakeMoonshot } from '../../test/support/fake-moonshot.js';
import { holdSqliteWriteLock } from '../../test/support/sqlite-lock.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { PG_HOST, scratchDatabase } from './support.js';
import type { BenchRow } from './types.js';

const MAIN = join(import.meta.dirname, '../../src/entry/main.js');
const MESSAGES_PATH = /^\/channels\/\d+\/messages$/;
/** A schedule that does not fire during the drill (the 1st of January). */
const NEVER = '0 0 1 1 *';
/** Discord's deadline for the first answer to an interaction. */
const DEADLINE_MS = 3000;

interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly time?: number;
}

/** The bot as a child process, its JSON log lines collected from stderr. */
interface BotProcess {
  readonly child: ChildProcess;
  readonly startedAt: number;
  /** Set when the process has exited: its code (or signal) and when. */
  readonly exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null;
  lines(): LogLine[];
  /** The tail of stderr, for an error message. */
  tail(): string;
  /** SIGTERM (a clean stop: the bot's own shutdown), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
}

/** `BENCH_OUTAGE_LOGS=<dir>` keeps every bot's stderr there (one file per process), to see why a row failed. */
const KEEP_LOGS = process.env.BENCH_OUTAGE_LOGS;
let botCounter = 0;

function startBotProcess(env: Record<string, string>): BotProcess {
  const label = `bot-${++botCounter}`;
  const child = spawn(process.execPath, [MAIN], {
    cwd: env.HOME,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let stderr = '';
  let exit: BotProcess['exit'] = null;
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: Date.now() };
      if (KEEP_LOGS) {
        mkdirSync(KEEP_LOGS, { recursive: true });
        writeFileSync(join(KEEP_LOGS, `${label}.log`), stderr);
      }
      resolve();
    }),
  );
  const ended = () => exit !== null;
  return {
    child,
    startedAt: Date.now(),
    get exit() {
      return exit;
    },
    lines: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as LogLine];
          } catch {
            return [];
          }
        }),
    tail: () => stderr.slice(-1500),
    async stop() {
      if (ended()) return;
      child.kill('SIGTERM');
      // The bot bounds its own shutdown at 10 s; past that it is wedged.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (ended()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `probe` every 50 ms until it returns something other than `undefined`/`false`. */
async function until<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The scheduled times of `cron` in `(from, to]`, in ms. */
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

/** The first slot of `cron` after now. */
const nextSlot = (cron: string, intervalMs: number): number =>
  slotsBetween(cron, Date.now(), Date.now() + 2 * intervalMs)[0] as number;

/** Sleeps until halfway between two slots, so "due by now" never hangs on a timer's jitter. */
async function toMidInterval(cron: string, intervalMs: number): Promise<number> {
  let target = nextSlot(cron, intervalMs) - intervalMs / 2;
  if (target < Date.now()) target += intervalMs;
  await sleep(target - Date.now());
  return Date.now();
}

const isSummary = (m: RecordedMessage) => m.kind === 'create' && (m.content?.startsWith('📊') ?? false);

/**
 * The slot a summary message is for, from its nonce (`cw-sum-<slot in base-36 seconds>-<part>`), or
 * `null` for a message without one (a bot that sends no nonce: each message then counts on its own).
 */
function slotOf(m: RecordedMessage): { slot: number; part: number } | null {
  const nonce = (m.body as { nonce?: unknown }).nonce;
  const match = typeof nonce === 'string' ? /^cw-sum-([0-9a-z]+)-(\d+)$/.exec(nonce) : null;
  if (!match) return null;
  return { slot: Number.parseInt(match[1]!, 36) * 1000, part: Number(match[2]) };
}

interface SlotCount {
  readonly due: number;
  /** Due slots that reached the channel (at least once). */
  readonly posted: number;
  /** Summary messages created for the due slots (first parts only: a split summary is one post). */
  readonly messages: number;
  readonly late: number;
}

/**
 * Counts the summary posts of `cron`'s slots in `(from, to]` among `messages`. A message with a slot
 * nonce counts for that slot; one without counts as one slot when it arrived after `from`.
 */
function countSlots(cron: string, from: number, to: number, messages: readonly RecordedMessage[]): SlotCount {
  const due = new Set(slotsBetween(cron, from, to));
  const posted = new Set<string>();
  let count = 0;
  let late = 0;
  for (const m of messages.filter(isSummary)) {
    const s = slotOf(m);
    if (s === null ? m.receivedAt <= from : !due.has(s.slot) || s.part !== 0) continue;
    count++;
    posted.add(s === null ? `message ${m.id}` : `slot ${s.slot}`);
    if (m.content?.includes('posted late')) late++;
  }
  return { due: due.size, posted: posted.size, messages: count, late };
}

const lateNote = (c: SlotCount) => (c.late > 0 ? ` (${c.late} late)` : '');

function died(bot: BotProcess): string {
  const e = bot.exit;
  if (e === null) return '';
  const how = e.signal ? `signal ${e.signal}` : `code ${e.code}`;
  return `; the bot exited (${how}) ${((e.at - bot.startedAt) / 1000).toFixed(0)} s after its start`;
}

interface Drill {
  readonly dir: string;
  readonly fake: FakeDiscord;
  /** The environment every bot of the drill shares; `extra` wins. */
  env(moonshot: FakeMoonshot, extra: Record<string, string>): Record<string, string>;
}

/** Starts the bot and waits until it is connected and scheduling. */
async function ready(env: Record<string, string>): Promise<BotProcess> {
  const bot = startBotProcess(env);
  try {
    await until(
      () => bot.exit !== null || bot.lines().some((l) => l.msg === 'creditwatch started'),
      30_000,
      'the bot to start',
    );
    if (bot.exit !== null) throw new Error(`the bot exited at start${died(bot)}\n${bot.tail()}`);
    return bot;
  } catch (err) {
    await bot.kill();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Discord 429 with retry-after, then a 502 burst
// ---------------------------------------------------------------------------------------------------------------

async function rateLimitsAnd502s(d: Drill): Promise<BenchRow[]> {
  const cron = '*/10 * * * * *';
  const interval = 10_000;
  const moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
  const bot = await ready(d.env(moonshot, { SUMMARY_CRON: cron }));
  try {
    const t0 = await toMidInterval(cron, interval);
    // The next slot's create: 429, come back in 12 s — longer than the schedule's interval.
    d.fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ status: 429, retryAfter: 12 }]);
    await sleep(2 * interval);
    await toMidInterval(cron, interval);
    // The next slot's creates: eight 502s — two whole rounds of discord.js's own retries.
    d.fake.failNext(
      { method: 'POST', pathPattern: MESSAGES_PATH },
      Array.from({ length: 8 }, () => ({ status: 502 as const })),
    );
    await sleep(2 * interval);
    const t1 = await toMidInterval(cron, interval);
    const note = died(bot);
    await bot.stop();
    const c = countSlots(cron, t0, t1, d.fake.messages);
    return [
      {
        metric:
          'Discord 429 (retry-after 12 s) and 8 × 502 on a 10 s summary schedule: slots due vs slots posted',
        value: `${c.due} due · ${c.posted} posted${lateNote(c)}${note}`,
        target: 'equal',
        pass: c.due === c.posted && c.due > 0,
      },
      {
        metric: 'same drill: summary messages created vs slots posted (no duplicates)',
        value: `${c.messages} messages · ${c.posted} slots`,
        target: 'equal',
        pass: c.messages === c.posted && c.posted > 0,
      },
    ];
  } finally {
    await bot.kill();
    await moonshot.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. A create that Discord stores but answers after discord.js's 15 s timeout
// ---------------------------------------------------------------------------------------------------------------

async function slowCreate(d: Drill): Promise<BenchRow[]> {
  // Longer than the slow create plus its retry, so no slot of the window is skipped for it: the count
  // below is then about duplicates alone.
  const cron = '*/20 * * * * *';
  const interval = 20_000;
  const moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
  const bot = await ready(d.env(moonshot, { SUMMARY_CRON: cron }));
  try {
    const t0 = await toMidInterval(cron, interval);
    d.fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ respondAfterMs: 16_000 }]);
    await sleep(interval);
    const t1 = await toMidInterval(cron, interval);
    const note = died(bot);
    await bot.stop();
    const c = countSlots(cron, t0, t1, d.fake.messages);
    const creates = d.fake.requests.filter(
      (r) => r.method === 'POST' && MESSAGES_PATH.test(r.path) && r.time > t0 && r.time <= t1,
    ).length;
    return [
      {
        metric:
          'Discord stores a create but answers after the 15 s client timeout (20 s schedule): slots due vs summary messages',
        value: `${c.due} due · ${c.messages} messages (${creates} creates sent)${note}`,
        target: 'equal',
        pass: c.due === c.messages && c.posted === c.due,
      },
    ];
  } finally {
    await bot.kill();
    await moonshot.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3 + 4. The store cut (reset, then black-holed) while checks run and the balance falls and recovers
// ---------------------------------------------------------------------------------------------------------------

const isAlert = (m: RecordedMessage) =>
  m.kind === 'create' && /credits low!|credits recovered/.test(m.content ?? '');

/** The store cut: every connection reset for this long, then every packet dropped for this long. */
const RESET_MS = 10_000;
const BLACKHOLE_MS = 15_000;
/** The alert check, which takes one reading per provider. */
const CHECK_CRON = '*/5 * * * * *';

async function storeCut(d: Drill): Promise<BenchRow[]> {
  const db = await scratchDatabase('cw_bench_outage_cut', '');
  const proxy = await startTcpProxy({ host: PG_HOST, port: 5432 });
  const moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
  let bot: BotProcess | null = null;
  try {
    bot = await ready(
      d.env(moonshot, {
        DATABASE_URL: proxy.url(db.url),
        // Every alert check is one reading per provider.
        ALERT_CRON: CHECK_CRON,
        RUNWAY_ALERT_DAYS: '0',
      }),
    );
    const running = bot;
    const readyAt = Date.now();
    await until(() => moonshot.requests.length >= 2, 20_000, 'two checks before the cut');
    const before = d.fake.messages.length;

    const cutAt = Date.now();
    proxy.reset();
    await sleep(2000);
    // Transition 1: ok → low while every connection to the store is reset.
    const fellAt = Date.now();
    moonshot.setReply(moonshotBalance(1, 0, 1));
    await sleep(cutAt + RESET_MS - Date.now());
    proxy.blackhole();
    await sleep(1000);
    // Transition 2: low → recovered while the store swallows every packet (each store call waits out its bound).
    const roseAt = Date.now();
    moonshot.setReply(moonshotBalance(20, 0, 20));
    await sleep(cutAt + RESET_MS + BLACKHOLE_MS - Date.now());
    const restoredAt = Date.now();
    await proxy.restore();

    // Readings taken while the store was down are written once it answers; give it a while.
    const stored = async () => {
      const { rows } = await withDb(db.url, (c) =>
        c.query<{ n: string }>("SELECT count(*) AS n FROM readings WHERE provider = 'kimi'"),
      );
      return Number(rows[0]?.n);
    };
    const settleBy = Date.now() + 30_000;
    while (
      Date.now() < settleBy &&
      running.exit === null &&
      (await stored().catch(() => -1)) < moonshot.requests.length
    ) {
      await sleep(500);
    }
    const aliveThrough = running.exit === null;
    const due = slotsBetween(CHECK_CRON, readyAt, Date.now()).length;
    await running.stop();
    const taken = moonshot.requests.length;
    const kept = await stored();
    const alerts = d.fake.messages.slice(before).filter(isAlert);
    const during = alerts.filter((m) => m.receivedAt < restoredAt).length;
    /** When the first alert matching `pattern` arrived, counted from the change that should cause it. */
    const lag = (pattern: RegExp, since: number) => {
      const m = alerts.find((a) => pattern.test(a.content ?? ''));
      return m ? `${((m.receivedAt - since) / 1000).toFixed(1)} s` : 'none';
    };
    const note = aliveThrough ? '' : died(running);
    return [
      {
        metric: `store cut behind a TCP proxy (${RESET_MS / 1000} s reset, then ${BLACKHOLE_MS / 1000} s black hole), checks every 5 s: readings taken vs stored after recovery`,
        value: `${taken} taken · ${kept} stored (${due} checks were due on the schedule)${note}`,
        target: 'equal',
        pass: aliveThrough && taken === kept && taken > 0,
      },
      {
        metric:
          'same cut: balance falls to $1 during the reset, back to $20 during the black hole: transitions vs alerts delivered before the store is back',
        value: `2 transitions · ${during} alerts (low after ${lag(/credits low!/, fellAt)}, recovered after ${lag(/credits recovered/, roseAt)}; ${alerts.length - during} after the outage)${note}`,
        target: 'equal',
        pass: during === 2,
      },
    ];
  } finally {
    await bot?.kill();
    await moonshot.close();
    await proxy.close();
    await db.drop();
  }
}

async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Interactions while the store is slow (SQLite write lock held by another process; Postgres tables locked)
// ---------------------------------------------------------------------------------------------------------------

/** How long the store stays slow: longer than Discord's deadline, longer than SQLite's 5 s busy timeout. */
const SLOW_MS = 6000;

const ADMIN = { permissions: Permission.ManageGuild } as const;
const COMMANDS: readonly SendCommandOptions[] = [
  {
    name: 'threshold',
    options: [subcommand('set', [stringOption('account', 'kimi'), numberOption('amount', 7.5)])],
    ...ADMIN,
  },
  { name: 'threshold', options: [subcommand('show')], ...ADMIN },
  { name: 'balance' },
  { name: 'balance', options: [booleanOption('fresh', true)] },
  { name: 'balance-history', options: [stringOption('period', '24h')] },
  { name: 'threshold', options: [subcommand('reset', [stringOption('account', 'kimi')])], ...ADMIN },
];

/** Sends every command at once while the store is slow; counts callbacks Discord accepted within 3 s. */
async function interactionsWhileSlow(
  fake: FakeDiscord,
  slow: () => Promise<{ release(): Promise<void> }>,
): Promise<{ sent: number; acknowledged: number }> {
  const slowdown = await slow();
  try {
    const handles = COMMANDS.map((c) => fake.sendCommand(c));
    const callbacks = await Promise.allSettled(handles.map((h) => h.callback(SLOW_MS + 15_000)));
    let acknowledged = 0;
    callbacks.forEach((cb, i) => {
      if (cb.status !== 'fulfilled') return;
      const ms = cb.value.receivedAt - handles[i]!.arrivedAt;
      if (cb.value.status < 300 && ms <= DEADLINE_MS) acknowledged++;
    });
    return { sent: handles.length, acknowledged };
  } finally {
    await slowdown.release();
  }
}

async function slowStore(d: Drill): Promise<BenchRow[]> {
  const moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
  const db = await scratchDatabase('cw_bench_outage_slow', '');
  const bots: BotProcess[] = [];
  const warm = async (bot: BotProcess) => {
    bots.push(bot);
    // A reading in the cache, as between two checks: `/balance` can answer it from memory.
    await d.fake.sendCommand({ name: 'balance', options: [booleanOption('fresh', true)] }).final(15_000);
  };
  try {
    const dataDir = join(d.dir, 'slow-sqlite');
    const lite = await ready({ ...d.env(moonshot, { BALANCE_CACHE_TTL: '10m' }), DATA_DIR: dataDir });
    await warm(lite);
    const sqlite = await interactionsWhileSlow(d.fake, async () => {
      const holder = await holdSqliteWriteLock(join(dataDir, 'creditwatch.sqlite'), SLOW_MS);
      return { release: () => holder.stop() };
    });
    const liteNote = died(lite);
    await lite.stop();

    const pgBot = await ready(d.env(moonshot, { BALANCE_CACHE_TTL: '10m', DATABASE_URL: db.url }));
    await warm(pgBot);
    const postgres = await interactionsWhileSlow(d.fake, async () => {
      const session = new pg.Client({ connectionString: db.url });
      session.on('error', () => {});
      await session.connect();
      await session.query('BEGIN');
      // A long migration or a stuck transaction: every statement on these tables waits.
      await session.query('LOCK TABLE kv, readings, threshold_changes IN ACCESS EXCLUSIVE MODE');
      const timer = setTimeout(() => void session.query('ROLLBACK').catch(() => {}), SLOW_MS);
      return {
        async release() {
          clearTimeout(timer);
          await session.query('ROLLBACK').catch(() => {});
          await session.end().catch(() => {});
        },
      };
    });
    const pgNote = died(pgBot);
    await pgBot.stop();

    const proxy = await startTcpProxy({ host: PG_HOST, port: 5432 });
    let delayedNote = '';
    let delayed: { sent: number; acknowledged: number };
    try {
      const slowBot = await ready(
        d.env(moonshot, { BALANCE_CACHE_TTL: '10m', DATABASE_URL: proxy.url(db.url) }),
      );
      await warm(slowBot);
      // Every packet 2 s late each way: each store round trip takes 4 s or more.
      delayed = await interactionsWhileSlow(d.fake, async () => {
        proxy.delay(2000);
        const timer = setTimeout(() => void proxy.restore(), SLOW_MS);
        return {
          async release() {
            clearTimeout(timer);
            await proxy.restore();
          },
        };
      });
      delayedNote = died(slowBot);
      await slowBot.stop();
    } finally {
      await proxy.close();
    }
    const row = (store: string, r: { sent: number; acknowledged: number }, note: string): BenchRow => ({
      metric: `${store}; 6 commands at once: interactions vs acknowledged within 3 s`,
      value: `${r.sent} sent · ${r.acknowledged} acknowledged in 3 s${note}`,
      target: 'equal',
      pass: r.sent === r.acknowledged,
    });
    return [
      row(`SQLite write lock held by another process for ${SLOW_MS / 1000} s`, sqlite, liteNote),
      row(`Postgres tables locked by another session for ${SLOW_MS / 1000} s`, postgres, pgNote),
      row(
        `Postgres answering 4 s late (every packet held 2 s each way by the TCP proxy) for ${SLOW_MS / 1000} s`,
        delayed,
        delayedNote,
      ),
    ];
  } finally {
    for (const b of bots) await b.kill();
    await moonshot.close();
    await db.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 6. SIGKILL between claiming a slot and posting it; a restart across a slot
// ---------------------------------------------------------------------------------------------------------------

async function killAndRestart(d: Drill): Promise<BenchRow[]> {
  const cron = '*/10 * * * * *';
  const interval = 10_000;
  const moonshot = await startFakeMoonshot(moonshotBalance(12.34, 3.45, 8.89));
  const env = { ...d.env(moonshot, { SUMMARY_CRON: cron }), DATA_DIR: join(d.dir, 'restart') };
  const bots: BotProcess[] = [];
  try {
    const first = await ready(env);
    bots.push(first);
    const t0 = await toMidInterval(cron, interval);
    // "Discord" holds the next create, so the process has claimed its slot and waits on the post.
    d.fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ delayMs: 120_000 }]);
    const from = d.fake.requests.length;
    await until(
      () =>
        d.fake.requests
          .slice(from)
          .some((r) => r.method === 'POST' && MESSAGES_PATH.test(r.path) && r.injected),
      2 * interval,
      'the held create',
    );
    await first.kill();
    const second = await ready(env);
    bots.push(second);
    await sleep(2 * interval);
    await toMidInterval(cron, interval);
    await second.stop();
    // Down across the next slot, back 2 s after it.
    await sleep(nextSlot(cron, interval) + 2000 - Date.now());
    const third = await ready(env);
    bots.push(third);
    await sleep(interval);
    const t1 = await toMidInterval(cron, interval);
    await third.stop();
    const c = countSlots(cron, t0, t1, d.fake.messages);
    return [
      {
        metric:
          'bot SIGKILLed between claiming a slot and posting it, restarted; later stopped across a slot and restarted (10 s schedule): slots due vs posted',
        value: `${c.due} due · ${c.posted} posted${lateNote(c)} · ${c.messages} messages`,
        target: 'equal',
        pass: c.due === c.posted && c.messages === c.posted,
      },
    ];
  } finally {
    for (const b of bots) await b.kill();
    await moonshot.close();
  }
}

export async function run(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-bench-outage-'));
  const fake = await startFakeDiscord({ heartbeatIntervalMs: 5000 });
  let n = 0;
  const drill: Drill = {
    dir,
    fake,
    env: (moonshot, extra) => ({
      HOME: dir,
      // Not the project's .env: the drill runs with these settings only.
      ENV_FILE: join(dir, '.env'),
      DATA_DIR: join(dir, `data-${++n}`),
      BALANCE_LOG_DIR: join(dir, 'logs'),
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-bench-drill',
      MOONSHOT_BASE_URL: moonshot.url,
      DISCORD_TOKEN: fake.token,
      DISCORD_API_URL: fake.apiUrl,
      SUMMARY_CHANNEL_ID: fake.channelId,
      SUMMARY_CRON: NEVER,
      ALERT_CRON: NEVER,
      LOG_LEVEL: 'info',
      // Readiness is read from the log ('creditwatch started'): JSON lines, whatever stderr is.
      LOG_FORMAT: 'json',
      ...extra,
    }),
  };
  const sections: [string, (d: Drill) => Promise<BenchRow[]>][] = [
    ['429-502', rateLimitsAnd502s],
    ['slow-create', slowCreate],
    ['store-cut', storeCut],
    ['slow-store', slowStore],
    ['kill-restart', killAndRestart],
  ];
  // `BENCH_OUTAGE_ONLY=store-cut,slow-store` runs some parts of the drill (while working on one fault).
  const only = process.env.BENCH_OUTAGE_ONLY?.split(',').filter((p) => p !== '');
  const rows: BenchRow[] = [];
  try {
    for (const [name, section] of sections.filter(([p]) => !only || only.includes(p))) {
      const started = performance.now();
      try {
        rows.push(...(await section(drill)));
      } catch (err) {
        // One broken part of the drill is a FAIL row; the others still run.
        const first = String((err as Error).message ?? err).split('\n')[0] ?? '';
        console.error(`  outage/${name} could not run:\n${(err as Error).stack ?? String(err)}`);
        rows.push({ metric: `${name}: could not run`, value: first, target: 'runs', pass: false });
      }
      console.error(`  outage/${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
