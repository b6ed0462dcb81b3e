/**
 * The status page and /metrics at issue 14's scale: 30 accounts, a year of readings every 5 minutes (3.15 M
 * raw readings, embedded SQLite, rolled up by the store's own code). The server is the bot's (`startWeb`),
 * over a core whose 30 stand-in providers answer at once; requests go over 127.0.0.1 with fetch.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import SQLite from 'better-sqlite3';
import { backfillRollups } from '../../src/adapters/storage/history.js';
import { loadConfig } from '../../src/core/config.js';
import { Insight } from '../../src/core/insight.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import type { ProviderStatus } from '../../src/core/service.js';
import type { BalanceProvider, ProviderId } from '../../src/core/types.js';
import { createCore } from '../../src/entry/app.js';
import { ms, stats } from './support.js';
import type { BenchRow } from './types.js';

const STEP = 5 * 60_000;
const DAY = 86_400_000;
const ACCOUNTS = ['kimi', 'claude', ...Array.from({ length: 28 }, (_, i) => `acct-${i + 3}`)] as ProviderId[];

/** A stand-in that answers at once with the account's latest balance. */
function provider(id: ProviderId, latest: Map<string, number>): BalanceProvider {
  return {
    id,
    currency: 'USD',
    check: async () => {
      const now = new Date();
      return {
        ok: true,
        provider: id,
        currency: 'USD',
        available: parseAmount((latest.get(id) ?? 100).toFixed(2)),
        asOf: now,
        checkedAt: now,
        latencyMs: 1,
      };
    },
    close: async () => {},
  };
}

/** A year of 5-minute readings per account: spend with noise, a top-up back to 1,000 below 50. */
function generate(path: string, end: number, latest: Map<string, number>): number {
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    `insert into readings (provider, checked_at, as_of, ok, currency, available, latency_ms, error, source)
     values (?, ?, ?, 1, 'USD', ?, 20, null, 'check')`,
  );
  let rows = 0;
  const start = end - 365 * DAY;
  for (const [i, account] of ACCOUNTS.entries()) {
    let balance = 1000;
    let seed = 1000 + i;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    db.transaction(() => {
      for (let t = start; t < end; t += STEP) {
        balance -= 0.05 + rand() * 0.1;
        if (balance < 50) balance = 1000;
        insert.run(account, t, t, balance.toFixed(4));
        rows++;
      }
    })();
    latest.set(account, balance);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return rows;
}

/** A full collection before each memory figure (the bench runs without --expose-gc). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20;

/**
 * Idle RSS of a fresh process holding the core (empty SQLite, two idle providers), with and without the
 * HTTP server: the server's own cost, as `npm start` would pay it. Median of 3 each.
 */
async function idleRss(withServer: boolean): Promise<number> {
  const src = join(import.meta.dirname, '../../src');
  const script = `
    import { mkdtempSync, rmSync } from 'node:fs'; import { tmpdir } from 'node:os'; import { join } from 'node:path';
    import { setFlagsFromString } from 'node:v8'; import { runInNewContext } from 'node:vm';
    const { createCore } = await import(${JSON.stringify(`${src}/app.js`)});
    const { loadConfig } = await import(${JSON.stringify(`${src}/config.js`)});
    const { createLogger } = await import(${JSON.stringify(`${src}/logger.js`)});
    const { Insight } = await import(${JSON.stringify(`${src}/insight.js`)});
    const dir = mkdtempSync(join(tmpdir(), 'cw-bench-idle-'));
    const config = loadConfig({ HOME: dir, DATA_DIR: dir, PROVIDERS: 'kimi', MOONSHOT_API_KEY: 'sk-bench' });
    const core = await createCore(config, createLogger('silent'));
    let server = null;
    if (${withServer}) {
      const web = await import(${JSON.stringify(`${src}/http/index.js`)});
      const telemetry = new web.Telemetry();
      server = await web.startWeb({ host: '127.0.0.1', port: 0, token: null, core, insight: new Insight(core.history),
        telemetry, alerts: () => null, discordConnected: () => true, logger: createLogger('silent'), now: () => new Date() });
    }
    await new Promise((r) => setTimeout(r, 1500));
    setFlagsFromString('--expose-gc'); runInNewContext('gc')();
    await new Promise((r) => setTimeout(r, 500));
    console.log(process.memoryUsage().rss);
    await server?.close(); await core.close(); rmSync(dir, { recursive: true, force: true });`;
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-semi-space-size=1', '--input-type=module', '-e', script],
      { timeout: 60_000 },
    );
    samples.push(Number(stdout.trim()) / 2 ** 20);
  }
  return stats(samples).median;
}

async function timed(n: number, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cw-bench-web-'));
  const rows: BenchRow[] = [];
  const row = (metric: string, value: string, target: string, pass: boolean) =>
    rows.push({ metric, value, target, pass });
  const latest = new Map<string, number>();
  const config = loadConfig(
    { HOME: dir, DATA_DIR: dir, PROVIDERS: 'claude,kimi', HISTORY_RAW_DAYS: '400' },
    { providerSettings: 'optional' },
  );
  const core = await createCore(config, createLogger('silent'), {
    providers: ACCOUNTS.map((a) => provider(a, latest)),
  });
  try {
    const end = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const t0 = performance.now();
    const readings = generate(config.sqlitePath, end, latest);
    await backfillRollups(core.db.kysely);
    await core.history.compact(new Date(end));
    row(
      `data set: ${ACCOUNTS.length} accounts × 1 year every 5 min (${(readings / 1e6).toFixed(2)} M readings) · SQLite`,
      `generated in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      '—',
      true,
    );
    collect();
    const rssBefore = heapMb();
    // Loaded here, as the bot loads it only when HTTP_PORT is set, so its modules count in the RSS figure.
    const { startWeb, Telemetry } = await import('../../src/adapters/http/index.js');
    const telemetry = new Telemetry();
    core.service.onChecked(telemetry.checked);
    const server = await startWeb({
      host: '127.0.0.1',
      port: 0,
      token: null,
      core,
      insight: new Insight(core.history),
      telemetry,
      alerts: () => null,
      discordConnected: () => true,
      logger: createLogger('silent'),
      now: () => new Date(),
    });
    try {
      const get = async (path: string) => {
        const res = await fetch(`${server.url}${path}`);
        if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
        await res.arrayBuffer();
      };
      // One round as the service judges it; not checkAll(), whose balance-log files know only claude and kimi.
      const results = await Promise.all(ACCOUNTS.map((a) => provider(a, latest).check()));
      const round = await core.service.rejudge({
        checkedAt: new Date(),
        statuses: results.map((result) => ({ result }) as ProviderStatus),
        anyLow: false,
        anyFailed: false,
      });
      telemetry.checked(round, 1);
      const [coldPage] = await timed(1, () => get('/'));
      const page = stats(await timed(21, () => get('/')));
      const metrics = stats(await timed(21, () => get('/metrics')));
      collect();
      const added = heapMb() - rssBefore;
      // No chart rows: the chart labels accounts through PROVIDER_INFO, which knows only claude and kimi until
      // issue 12; the chart section measures the render itself.
      row(
        '`/` with 30 accounts, median of 21 (forecasts cached for the round)',
        `${ms(page.median)} (p90 ${ms(page.p90)})`,
        '< 100 ms',
        page.median < 100,
      );
      row('`/` first after a round of checks (30 forecasts computed)', ms(coldPage ?? 0), '—', true);
      row(
        '`/metrics` with 30 accounts, median of 21',
        `${ms(metrics.median)} (p90 ${ms(metrics.p90)})`,
        '< 20 ms',
        metrics.median < 20,
      );
      row(
        'heap growth in the bench process over 43 requests (30 forecasts cached; RSS is not comparable in-process)',
        `${added.toFixed(1)} MB`,
        '—',
        true,
      );
    } finally {
      await server.close();
    }
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const without = await idleRss(false);
  const withServer = await idleRss(true);
  row(
    'idle RSS added by the server (fresh process with the core, with vs without startWeb; median of 3)',
    `${(withServer - without).toFixed(1)} MB (${without.toFixed(1)} → ${withServer.toFixed(1)} MB)`,
    '< 10 MB',
    withServer - without < 10,
  );
  return rows;
}
