/**
 * History at scale (issue 9): 30 accounts, a reading every 5 minutes for 2 years (~6.3 M readings), on the
 * embedded store and on Postgres. Measures `/balance-history` (report + chart) for one account over 24 h,
 * 90 d and 1 year, the hourly summary's forecast for all 30 accounts, one check round's write, bytes on
 * disk per account-year, peak RSS and the longest event-loop stall while reading.
 *
 * The data set is what the store holds after two years under the default retention: raw readings for the
 * last HISTORY_RAW_DAYS (90) days, written as rows and rolled up by the store's own code; the 640 days
 * before that exist only as hourly roll-ups (raw readings would have been pruned), generated directly from
 * the same series. Amounts are whole ten-thousandths, so the generator's integer arithmetic is exact.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { PERIODS, renderHistory } from '../../commands/balance-history.js';
import { createCore } from '../../src/app.js';
import { renderBalanceChart } from '../../src/chart/balance-chart.js';
import { loadConfig } from '../../src/config.js';
import { Insight } from '../../src/insight.js';
import { createLogger } from '../../src/logger.js';
import { parseAmount } from '../../src/money.js';
import { backfillRollups } from '../../src/storage/history.js';
import type { HourlyRollupTable } from '../../src/storage/rollups.js';
import type { BalanceProvider, CheckResult, ProviderId } from '../../src/types.js';
import { ms, scratchDatabase, stats } from './support.js';
import type { BenchRow } from './types.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP = 5 * MIN;
const YEARS = 2;
const RAW_DAYS = 90;
/** 'kimi' and 'claude' are two of the 30, so the command's own formatting (which names them) is used. */
const ACCOUNTS: string[] = ['kimi', 'claude', ...Array.from({ length: 28 }, (_, i) => `acct-${i + 3}`)];

/** Never called: the benchmark reads and writes history only. */
const idle = (id: ProviderId): BalanceProvider => ({
  id,
  currency: 'USD',
  check: async () => ({
    ok: false,
    provider: id,
    currency: 'USD',
    reason: 'bench',
    checkedAt: new Date(),
    latencyMs: 0,
  }),
  close: async () => {},
});

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

/** Samples RSS every 5 ms while `fn` runs, with the event-loop delay histogram on. */
async function watched<T>(fn: () => Promise<T>): Promise<{ value: T; peakRss: number; maxStallMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let peakRss = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 5);
  delay.enable();
  try {
    const value = await fn();
    return { value, peakRss, maxStallMs: delay.max / 1e6 };
  } finally {
    delay.disable();
    clearInterval(timer);
  }
}

async function medianOf11(fn: () => Promise<void>): Promise<{ cold: number; median: number }> {
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    // Let the loop turn between runs, so a synchronous stretch shows as a stall of its own length.
    await new Promise((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { cold: times[0]!, median: stats(times.slice(1)).median };
}

async function measure(
  backend: 'SQLite' | 'Postgres',
  env: Record<string, string>,
  bytesOnDisk: () => Promise<number>,
  loader: () => Loader,
): Promise<BenchRow[]> {
  const config = loadConfig({ ...env, HISTORY_RAW_DAYS: String(RAW_DAYS) }, { providerSettings: 'optional' });
  const core = await createCore(config, createLogger('silent'), {
    providers: [idle('claude'), idle('kimi')],
  });
  const rows: BenchRow[] = [];
  const row = (metric: string, value: string, target: string, pass: boolean) =>
    rows.push({ metric: `${metric} · ${backend}`, value, target, pass });
  try {
    // Five-minute steps from two years ago up to the current hour.
    const end = Math.floor(Date.now() / HOUR) * HOUR;
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
    const loadSeconds = (performance.now() - t0) / 1000;
    const readings = ACCOUNTS.length * YEARS * 365 * 288;
    row(
      `data set: ${ACCOUNTS.length} accounts × ${YEARS} years every 5 min (${(readings / 1e6).toFixed(2)} M readings; raw for ${RAW_DAYS} d, roll-ups before)`,
      `generated in ${loadSeconds.toFixed(0)} s`,
      '—',
      true,
    );
    const bytes = await bytesOnDisk();
    const perAccountYear = bytes / ACCOUNTS.length / YEARS;
    row(
      'bytes on disk per account-year',
      `${(perAccountYear / 1e6).toFixed(2)} MB (${(bytes / 1e6).toFixed(0)} MB in all)`,
      backend === 'SQLite' ? '< 5 MB' : '—',
      perAccountYear < 5e6,
    );

    const insight = new Insight(core.history);
    const now = new Date(end + 3 * MIN);
    const threshold = parseAmount('5');
    const {
      value: timings,
      peakRss,
      maxStallMs,
    } = await watched(async () => {
      const out: { label: string; target: number; cold: number; median: number }[] = [];
      for (const [label, periodMs, target] of [
        ['24h', PERIODS['24h'], 50],
        ['90d', PERIODS['90d'], 150],
        ['1 year', 365 * DAY, 250],
      ] as const) {
        const t = await medianOf11(async () => {
          const report = await insight.report('kimi', periodMs, threshold, 'USD', now);
          if (label === '1 year') {
            renderBalanceChart(
              [
                {
                  label: 'Kimi',
                  points: report.points.map((p) => ({ at: p.asOf, value: p.available.toNumber() })),
                  threshold: 5,
                },
              ],
              { title: 'Balance, last year', currency: 'USD', from: new Date(end - periodMs), to: now },
            );
          } else if (renderHistory([report], label, now).files.length !== 1) {
            throw new Error('expected one chart');
          }
        });
        out.push({ label: `/balance-history ${label} (report + chart), one account`, target, ...t });
      }
      const forecasts = await medianOf11(async () => {
        const all = await Promise.all(
          ACCOUNTS.map((a) => insight.forecast(a as ProviderId, threshold, 'USD', now)),
        );
        if (all.some((f) => f.status === 'insufficient')) throw new Error('expected forecasts');
      });
      out.push({
        label: `hourly summary forecast, all ${ACCOUNTS.length} accounts`,
        target: 100,
        ...forecasts,
      });
      let round = 0;
      const writes = await medianOf11(async () => {
        round++;
        const at = new Date(end + round * STEP);
        const results: CheckResult[] = ACCOUNTS.map((a, i) => ({
          ok: true,
          provider: a as ProviderId,
          currency: 'USD',
          available: parseAmount((100 + i - round / 100).toFixed(2)),
          asOf: at,
          checkedAt: at,
          latencyMs: 30,
        }));
        await core.history.record(results);
      });
      out.push({ label: `one check round of ${ACCOUNTS.length} accounts recorded`, target: 20, ...writes });
      return out;
    });
    for (const t of timings) {
      row(`${t.label}, median of 11`, ms(t.median), `< ${t.target} ms`, t.median < t.target);
      row(`${t.label}, first (cold)`, ms(t.cold), '—', true);
    }
    row(
      'peak RSS while reading and writing',
      `${(peakRss / 1e6).toFixed(0)} MB`,
      '< 200 MB',
      peakRss < 200e6,
    );
    row('longest event-loop stall while reading and writing', ms(maxStallMs), '< 50 ms', maxStallMs < 50);
  } finally {
    await core.close();
  }
  return rows;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cw-bench-hist-'));
  try {
    const path = join(dir, 'creditwatch.sqlite');
    rows.push(
      ...(await measure(
        'SQLite',
        { HOME: dir, DATA_DIR: dir, PROVIDERS: 'claude,kimi' },
        async () => {
          const db = new SQLite(path);
          db.pragma('wal_checkpoint(TRUNCATE)');
          db.close();
          return statSync(path).size;
        },
        () => sqliteLoader(path),
      )),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const scratch = await scratchDatabase('cw_bench_hist', '');
  try {
    rows.push(
      ...(await measure(
        'Postgres',
        { HOME: tmpdir(), DATABASE_URL: scratch.url, PROVIDERS: 'claude,kimi' },
        async () => {
          const client = new pg.Client({ connectionString: scratch.url });
          await client.connect();
          try {
            await client.query('vacuum analyze');
            const r = await client.query<{ n: string }>('select pg_database_size(current_database()) as n');
            return Number(r.rows[0]!.n);
          } finally {
            await client.end();
          }
        },
        () => postgresLoader(scratch.url),
      )),
    );
  } finally {
    await scratch.drop();
  }
  return rows;
}
