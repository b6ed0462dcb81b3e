/**
 * History at scale (issue 9): 30 accounts, a reading every 5 minutes for 2 years (~6.3 M readings), on the
 * embedded store and on Postgres, and `import-logs` of a 1M-line balance log. Opt-in (`BENCH_HISTORY=1`): it
 * takes minutes.
 *
 * This process generates the data set; the bot's side runs in a child process (`history-bot.ts`, with `npm
 * start`'s node flags) against it: `/balance-history` (report + chart) for one account over 24 h, 90 d and
 * 1 year, the hourly summary's forecast for all 30 accounts, one check round's write, `/balance` answering
 * while a year is read, its peak RSS and longest event-loop stall. Bytes on disk per account-year are taken
 * here. `import-logs` runs as `npm run import-logs` does, its peak RSS read by `peak-rss.ts`.
 *
 * The data set is what the store holds after two years under the default retention: raw readings for the
 * last HISTORY_RAW_DAYS (90) days, written as rows and rolled up by the store's own code; the 640 days
 * before that exist only as hourly roll-ups (raw readings would have been pruned), generated directly from
 * the same series. Amounts are whole ten-thousandths, so the generator's integer arithmetic is exact.
 *
 * `BENCH_HISTORY_ONLY=sqlite,postgres,import` runs some parts; `BENCH_IMPORT_LINES` changes the import's size;
 * `BENCH_HISTORY_REUSE=<dir>` keeps the generated data set for later runs (see `reuse`).
 */

import { once } from 'node:events';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { backfillRollups } from '../../src/adapters/storage/history.js';
import type { HourlyRollupTable } from '../../src/adapters/storage/rollups.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { createCore } from '../../src/entry/app.js';
import { ACCOUNTS, type BotFigures } from './history-bot.js';
import { ms, PG_HOST, scratchDatabase, timeProcess } from './support.js';
import type { BenchRow } from './types.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP = 5 * MIN;
const YEARS = 2;
const RAW_DAYS = 90;
/** Ten-thousandths as exact decimal text, the way amounts are stored. */
function text(units: number): string {
  const sign = units < 0 ? '-' : '';
  const abs = Math.abs(units);
  const whole = Math.floor(abs / 10_000);
  const frac = String(abs % 10_000)
    .padStart(4, '0')
    .replace(/0+$/, '');
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}

/**
 * One account's series, 5-minute steps: spend with noise, a top-up every ~12 days, ~1 % failed checks.
 * `step(i)` must be called with consecutive i.
 */
function series(seed: number) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let balance = 800_0000;
  return {
    step(): { ok: boolean; value: number } {
      if (rnd() < 0.01) return { ok: false, value: balance };
      if (rnd() < 0.7) balance -= Math.floor(rnd() * 900);
      if (rnd() < 1 / (12 * 288) || balance < 20_0000) balance += 150_0000 + Math.floor(rnd() * 10_000);
      return { ok: true, value: balance };
    },
  };
}

interface Generated {
  raw: {
    provider: string;
    checked_at: number;
    as_of: number | null;
    ok: number;
    available: string | null;
    error: string | null;
  }[];
  hours: HourlyRollupTable[];
}

/**
 * Generates one account's data from `start` to `end` in 5-minute steps, calling `flush` every ~50,000 rows
 * so memory stays flat: roll-up rows before `rawFrom`, raw rows after.
 */
async function generate(
  provider: string,
  seed: number,
  start: number,
  rawFrom: number,
  end: number,
  flush: (g: Generated) => Promise<void>,
): Promise<void> {
  const s = series(seed);
  let g: Generated = { raw: [], hours: [] };
  const size = () => g.raw.length + g.hours.length * 12;
  for (let hour = start; hour < end; hour += HOUR) {
    if (hour >= rawFrom) {
      for (let t = hour; t < hour + HOUR; t += STEP) {
        const r = s.step();
        g.raw.push({
          provider,
          checked_at: t,
          as_of: r.ok ? t : null,
          ok: r.ok ? 1 : 0,
          available: r.ok ? text(r.value) : null,
          error: r.ok ? null : 'HTTP 503',
        });
      }
    } else {
      // The hour's roll-up, computed the way rollups.ts defines it (integer arithmetic is exact here).
      let first: [number, number] | null = null;
      let last: [number, number] = [0, 0];
      let min: [number, number] = [0, 0];
      let max: [number, number] = [0, 0];
      let readings = 0;
      let failures = 0;
      let spend = 0;
      const topUps: string[] = [];
      for (let t = hour; t < hour + HOUR; t += STEP) {
        const r = s.step();
        if (!r.ok) {
          failures++;
          continue;
        }
        readings++;
        if (first === null) {
          first = [t, r.value];
          min = first;
          max = first;
        } else {
          const change = r.value - last[1];
          if (change < 0) spend -= change;
          else if (change > 0) topUps.push(`${t}:${text(change)}`);
          if (r.value < min[1]) min = [t, r.value];
          if (r.value > max[1]) max = [t, r.value];
        }
        last = [t, r.value];
      }
      g.hours.push({
        provider,
        start: hour,
        currency: 'USD',
        readings,
        failures,
        observations: readings,
        first_at: first?.[0] ?? null,
        first_value: first ? text(first[1]) : null,
        last_at: first ? last[0] : null,
        last_value: first ? text(last[1]) : null,
        min_at: first ? min[0] : null,
        min_value: first ? text(min[1]) : null,
        max_at: first ? max[0] : null,
        max_value: first ? text(max[1]) : null,
        spend: first ? text(spend) : null,
        top_ups: topUps.length > 0 ? topUps.join(',') : null,
      });
    }
    if (size() >= 20_000) {
      await flush(g);
      g = { raw: [], hours: [] };
    }
  }
  await flush(g);
}

const HOUR_COLUMNS = [
  'provider',
  'start',
  'currency',
  'readings',
  'failures',
  'observations',
  'first_at',
  'first_value',
  'last_at',
  'last_value',
  'min_at',
  'min_value',
  'max_at',
  'max_value',
  'spend',
  'top_ups',
] as const;

/** Bulk loading: one transaction of prepared statements (SQLite), or `unnest` arrays per statement (Postgres). */
interface Loader {
  load(g: Generated): Promise<void>;
  close(): Promise<void>;
}

function sqliteLoader(path: string): Loader {
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const raw = db.prepare(
    `insert into readings (provider, checked_at, as_of, ok, currency, available, latency_ms, error, source)
     values (?, ?, ?, ?, 'USD', ?, 20, ?, 'check')`,
  );
  const hour = db.prepare(
    `insert into readings_hourly (${HOUR_COLUMNS.join(', ')}) values (${HOUR_COLUMNS.map(() => '?').join(', ')})`,
  );
  const load = db.transaction((g: Generated) => {
    for (const r of g.raw) raw.run(r.provider, r.checked_at, r.as_of, r.ok, r.available, r.error);
    for (const h of g.hours) hour.run(...HOUR_COLUMNS.map((c) => h[c]));
  });
  return {
    load: async (g) => load(g),
    close: async () => {
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

function postgresLoader(url: string): Loader {
  const client = new pg.Client({ connectionString: url });
  const ready = client.connect();
  return {
    async load(g) {
      await ready;
      if (g.raw.length > 0) {
        const col = <K extends keyof Generated['raw'][number]>(k: K) => g.raw.map((r) => r[k]);
        await client.query(
          `insert into readings (provider, checked_at, as_of, ok, currency, available, latency_ms, error, source)
           select p, c, a, o, 'USD', v, 20, e, 'check'
           from unnest($1::text[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[]) as t(p, c, a, o, v, e)`,
          [col('provider'), col('checked_at'), col('as_of'), col('ok'), col('available'), col('error')],
        );
      }
      if (g.hours.length > 0) {
        const types = ['text', 'bigint', 'text', 'int', 'int', 'int', 'bigint', 'text', 'bigint', 'text']
          .concat(['bigint', 'text', 'bigint', 'text', 'text', 'text'])
          .map((t, i) => `$${i + 1}::${t}[]`);
        await client.query(
          `insert into readings_hourly (${HOUR_COLUMNS.join(', ')}) select * from unnest(${types.join(', ')})`,
          HOUR_COLUMNS.map((c) => g.hours.map((h) => h[c])),
        );
      }
    },
    async close() {
      await ready;
      await client.end();
    },
  };
}

/** The node flags an npm script of package.json runs with, so the bot and the import are measured as they run. */
function nodeFlags(script: 'start' | 'import-logs'): string[] {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return (pkg.scripts[script] ?? '').split(/\s+/).filter((w) => w.startsWith('--'));
}

/** Runs a node script as a child process; its stdout, or an error with the end of its stderr. */
async function node(args: readonly string[], env: Record<string, string>): Promise<string> {
  const t = await timeProcess(process.execPath, args, { PATH: process.env.PATH ?? '', ...env });
  if (t.code !== 0) throw new Error(`${args.join(' ')} exited ${t.code}: ${t.stderr.slice(-1500)}`);
  return t.stdout;
}

/** The store's environment for a child process: a scratch HOME and no project `.env`. */
function storeEnv(
  dir: string,
  store: { DATA_DIR: string } | { DATABASE_URL: string },
): Record<string, string> {
  return { HOME: dir, ENV_FILE: join(dir, 'no.env'), HISTORY_RAW_DAYS: String(RAW_DAYS), ...store };
}

/** Generates the data set into the store (raw rows and hourly roll-ups, then the store's own roll-ups). */
async function populate(env: Record<string, string>, loader: () => Loader, end: number): Promise<number> {
  const config = loadConfig(env, { providerSettings: 'optional' });
  const core = await createCore(config, createLogger('silent'), { providers: [] });
  try {
    const start = end - YEARS * 365 * DAY;
    const rawFrom = end - RAW_DAYS * DAY;
    const t0 = performance.now();
    const load = loader();
    try {
      for (const [i, account] of ACCOUNTS.entries()) {
        await generate(account, 1000 + i, start, rawFrom, end, (g) => load.load(g));
      }
    } finally {
      await load.close();
    }
    // The raw 90 days are rolled up by the store's own code (as migration 0003 does for existing data), and
    // finished days by the maintenance job's.
    await backfillRollups(core.db.kysely);
    await core.history.compact(new Date(end));
    return (performance.now() - t0) / 1000;
  } finally {
    await core.close();
  }
}

interface Backend {
  readonly name: 'SQLite' | 'Postgres';
  /** A store with the schema and nothing in it: the data set's, or import-logs'. */
  readonly store: { DATA_DIR: string } | { DATABASE_URL: string };
  readonly loader: () => Loader;
  readonly bytesOnDisk: () => Promise<number>;
}

async function measure(backend: Backend, dir: string, end: number, generate: boolean): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const row = (metric: string, value: string, target: string, pass: boolean) =>
    rows.push({ metric: `${metric} · ${backend.name}`, value, target, pass });
  const env = storeEnv(dir, backend.store);
  if (generate) {
    const seconds = await populate(env, backend.loader, end);
    const readings = ACCOUNTS.length * YEARS * 365 * 288;
    row(
      `data set: ${ACCOUNTS.length} accounts × ${YEARS} years every 5 min (${(readings / 1e6).toFixed(2)} M readings; raw for ${RAW_DAYS} d, roll-ups before)`,
      `generated in ${seconds.toFixed(0)} s`,
      '—',
      true,
    );
  }
  const bytes = await backend.bytesOnDisk();
  const perAccountYear = bytes / ACCOUNTS.length / YEARS;
  row(
    'bytes on disk per account-year',
    `${(perAccountYear / 1e6).toFixed(2)} MB (${(bytes / 1e6).toFixed(0)} MB in all)`,
    backend.name === 'SQLite' ? '< 5 MB' : '—',
    perAccountYear < 5e6,
  );
  const out = await node([...nodeFlags('start'), BOT], { ...env, BENCH_HISTORY_END: String(end) });
  const figures = JSON.parse(out.trim().split('\n').at(-1)!) as BotFigures;
  const load = `load ${loadavg()[0]!.toFixed(1)}`;
  for (const t of figures.timings) {
    row(
      `${t.label}, median of 11`,
      `${ms(t.median)} (cold ${ms(t.cold)}; longest stall ${ms(t.stallMs)}; RSS ≤ ${(t.rss / 1e6).toFixed(0)} MB)`,
      `< ${t.target} ms`,
      t.median < t.target,
    );
  }
  const b = figures.balance;
  row(
    `/balance (cached) while a year of history is read and charted, ${b.count} answers: slowest`,
    `${ms(b.max)} (median ${ms(b.median)})`,
    '< 50 ms',
    b.max < 50,
  );
  row(
    'peak RSS of the bot process through every query above (its own process, startup included)',
    `${(figures.peakRss / 1e6).toFixed(0)} MB`,
    '< 200 MB',
    figures.peakRss < 200e6,
  );
  row(
    'longest event-loop stall of the bot through every query above',
    `${ms(figures.maxStallMs)} (${load})`,
    '< 50 ms',
    figures.maxStallMs < 50,
  );
  return rows;
}

/** How many lines the import-logs measurement imports (`BENCH_IMPORT_LINES` to change). */
const IMPORT_LINES = Number(process.env.BENCH_IMPORT_LINES ?? 1_000_000);

/**
 * A balance log of `lines` lines ending at `end`, one a minute, alternating the seed's Claude line and
 * check-moonshot-balance.sh's fields line (so each provider has a reading every 2 minutes), written streamed.
 */
async function writeBalanceLog(path: string, lines: number, end: number): Promise<void> {
  const out = createWriteStream(path);
  const stamp = (t: number) => new Date(t).toISOString().slice(0, 19).replace('T', ' ');
  const claude = series(7);
  const kimi = series(8);
  let buf = '';
  for (let i = 0; i < lines; i++) {
    const t = end - (lines - i) * MIN;
    if (i % 2 === 0) buf += `[${stamp(t)}] Claude: $${text(claude.step().value)}\n`;
    else {
      const v = kimi.step().value;
      buf += `${stamp(t)} | Available: $${text(v)} | Voucher: $0 | Cash: $${text(v)}\n`;
    }
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

async function measureImport(backend: Backend, dir: string, log: string): Promise<BenchRow[]> {
  const rssFile = join(dir, `peak-rss-${backend.name}`);
  const t0 = performance.now();
  await node([...nodeFlags('import-logs'), '--import', pathToFileURL(PEAK_RSS).href, IMPORT_LOGS, log], {
    ...storeEnv(dir, backend.store),
    BENCH_PEAK_RSS_FILE: rssFile,
  });
  const seconds = (performance.now() - t0) / 1000;
  const peak = Number(readFileSync(rssFile, 'utf8'));
  const lines = `${(IMPORT_LINES / 1e6).toFixed(IMPORT_LINES % 1e6 === 0 ? 0 : 2)}M`;
  return [
    {
      metric: `\`import-logs\` of ${lines} lines: peak RSS (took ${seconds.toFixed(0)} s, load ${loadavg()[0]!.toFixed(1)}) · ${backend.name}`,
      value: `${(peak / 1e6).toFixed(0)} MB`,
      target: '< 200 MB',
      pass: peak < 200e6,
    },
  ];
}

const BOT = join(import.meta.dirname, 'history-bot.js');
const PEAK_RSS = join(import.meta.dirname, 'peak-rss.js');
const IMPORT_LOGS = join(import.meta.dirname, '../import-logs.js');

/** `BENCH_HISTORY_ONLY=sqlite,postgres,import` runs some parts (default: all). */
function parts(): Set<string> {
  const only = (process.env.BENCH_HISTORY_ONLY ?? '').split(',').filter((p) => p !== '');
  return new Set(only.length > 0 ? only : ['sqlite', 'postgres', 'import']);
}

async function sqliteBackend(dir: string): Promise<Backend> {
  const path = join(dir, 'creditwatch.sqlite');
  return {
    name: 'SQLite',
    store: { DATA_DIR: dir },
    loader: () => sqliteLoader(path),
    bytesOnDisk: async () => {
      const db = new SQLite(path);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      return statSync(path).size;
    },
  };
}

function postgresBackend(url: string): Backend {
  return {
    name: 'Postgres',
    store: { DATABASE_URL: url },
    loader: () => postgresLoader(url),
    bytesOnDisk: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('vacuum analyze');
        const r = await client.query<{ n: string }>('select pg_database_size(current_database()) as n');
        return Number(r.rows[0]!.n);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * `BENCH_HISTORY_REUSE=<dir>` (while working on the bot's side): the data set is generated once into `<dir>`
 * (SQLite) and the Postgres database `cw_bench_hist_keep`, and later runs measure it again without
 * regenerating; delete the folder and drop the database when done.
 */
interface Reuse {
  readonly dir: string;
  readonly end: number;
  readonly fresh: boolean;
}

async function reuse(): Promise<Reuse | null> {
  const dir = process.env.BENCH_HISTORY_REUSE;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  const meta = join(dir, 'meta.json');
  if (existsSync(meta))
    return { dir, end: (JSON.parse(readFileSync(meta, 'utf8')) as { end: number }).end, fresh: false };
  const end = Math.floor(Date.now() / HOUR) * HOUR;
  return { dir, end, fresh: true };
}

const KEEP_DB = 'cw_bench_hist_keep';

export async function run(): Promise<BenchRow[]> {
  // The big data set takes minutes to generate and measure: opt-in, so the default `npm run bench` stays short.
  if (!process.env.BENCH_HISTORY && !process.env.BENCH_HISTORY_ONLY && !process.env.BENCH_HISTORY_REUSE) {
    return [
      {
        metric: 'history at scale (30 accounts × 2 years, import of 1M lines): not run',
        value: 'BENCH_HISTORY=1 npm run bench -- --only history (about 10 minutes)',
        target: '—',
        pass: true,
      },
    ];
  }
  const want = parts();
  const rows: BenchRow[] = [];
  const kept = await reuse();
  // Five-minute steps from two years ago up to the current hour.
  const end = kept?.end ?? Math.floor(Date.now() / HOUR) * HOUR;
  if (want.has('sqlite')) {
    const dir = kept ? join(kept.dir, 'sqlite') : mkdtempSync(join(tmpdir(), 'cw-bench-hist-'));
    mkdirSync(dir, { recursive: true });
    try {
      rows.push(...(await measure(await sqliteBackend(dir), dir, end, !kept || kept.fresh)));
    } finally {
      if (!kept) rmSync(dir, { recursive: true, force: true });
    }
  }
  if (want.has('postgres')) {
    if (kept) {
      const url = `postgres://postgres@${PG_HOST}:5432/${KEEP_DB}`;
      if (kept.fresh) {
        const admin = new pg.Client({ connectionString: `postgres://postgres@${PG_HOST}:5432/postgres` });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${KEEP_DB} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${KEEP_DB}`);
        await admin.end();
      }
      rows.push(...(await measure(postgresBackend(url), kept.dir, end, kept.fresh)));
    } else {
      const scratch = await scratchDatabase('cw_bench_hist', '');
      try {
        rows.push(...(await measure(postgresBackend(scratch.url), tmpdir(), end, true)));
      } finally {
        await scratch.drop();
      }
    }
  }
  if (kept?.fresh) writeFileSync(join(kept.dir, 'meta.json'), JSON.stringify({ end }));
  if (want.has('import')) {
    const dir = mkdtempSync(join(tmpdir(), 'cw-bench-import-'));
    const scratch = await scratchDatabase('cw_bench_import', '');
    try {
      const log = join(dir, 'balance-log.txt');
      await writeBalanceLog(log, IMPORT_LINES, Math.floor(Date.now() / MIN) * MIN);
      rows.push(...(await measureImport(await sqliteBackend(dir), dir, log)));
      rows.push(...(await measureImport(postgresBackend(scratch.url), dir, log)));
    } finally {
      await scratch.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
