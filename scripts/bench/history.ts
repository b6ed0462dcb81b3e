/**
 * `/balance-history` cost: query + statistics + forecast + chart for 90 days of hourly readings of two
 * providers (~4,300 rows) and for a year (~17,500 rows), on the embedded store and on Postgres. Uses the
 * command's own code path (buildReports + renderHistory) over a core built like the bot's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReports, renderHistory } from '../../commands/balance-history.js';
import type { CommandContext } from '../../commands/types.js';
import { createCore } from '../../src/app.js';
import { renderBalanceChart } from '../../src/chart/balance-chart.js';
import { loadConfig } from '../../src/config.js';
import { Insight } from '../../src/insight.js';
import { createLogger } from '../../src/logger.js';
import { parseAmount } from '../../src/money.js';
import type { BalanceProvider, CheckResult, ProviderId } from '../../src/types.js';
import { scratchDatabase } from './support.js';
import type { BenchRow } from './types.js';

const HOUR = 3_600_000;

/** Never called: the benchmark reads history only. */
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

function hourly(provider: ProviderId, hours: number, end: number): CheckResult[] {
  const out: CheckResult[] = [];
  let balance = 400;
  for (let h = hours; h >= 1; h--) {
    // Spend with noise, and a top-up every 10 days, so stats and forecast do real work.
    balance -= 0.05 + ((h * 7919) % 13) / 100;
    if (h % 240 === 0) balance += 150;
    const at = new Date(end - h * HOUR);
    out.push({
      ok: true,
      provider,
      currency: 'USD',
      available: parseAmount(balance.toFixed(4)),
      ...(provider === 'kimi'
        ? { voucher: parseAmount('1'), cash: parseAmount((balance - 1).toFixed(4)) }
        : {}),
      asOf: at,
      checkedAt: at,
      latencyMs: 20,
    });
  }
  return out;
}

async function measure(
  label: string,
  env: Record<string, string>,
  days: number,
  period: '90d',
  periodDaysForReport: number,
  target: number,
): Promise<BenchRow[]> {
  const config = loadConfig(env, { providerSettings: 'optional' });
  const core = await createCore(config, createLogger('silent'), {
    providers: [idle('claude'), idle('kimi')],
  });
  try {
    const end = Date.now();
    for (const p of ['claude', 'kimi'] as const) {
      const rows = hourly(p, days * 24, end);
      for (let i = 0; i < rows.length; i += 1000) await core.history.record(rows.slice(i, i + 1000));
    }
    const total = await core.history.count();
    const ctx: CommandContext = {
      config,
      service: core.service,
      insight: new Insight(core.history),
      logger: core.logger,
      now: () => new Date(end),
    };
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      if (periodDaysForReport === 90) {
        // Exactly what the command does for `/balance-history period:90d`.
        const out = renderHistory(await buildReports(ctx, null, period), period, new Date(end));
        if (out.files.length !== 1) throw new Error('expected one chart');
      } else {
        // The whole history at once: the same report + chart code over every row.
        const reports = await Promise.all(
          core.service.providerIds.map(async (p) =>
            ctx.insight.report(
              p,
              periodDaysForReport * 24 * HOUR,
              await core.thresholds.get(p),
              'USD',
              new Date(end),
            ),
          ),
        );
        renderBalanceChart(
          reports.map((r) => ({
            label: r.provider,
            points: r.points.map((x) => ({ at: x.asOf, value: x.available.toNumber() })),
            threshold: r.threshold.toNumber(),
          })),
          { title: 'Balance, last year', currencySymbol: '$' },
        );
      }
      times.push(performance.now() - t0);
    }
    // The first run pays for JIT warm-up; report the median of the rest and the cold first run.
    const warm = times.slice(1).sort((a, b) => a - b);
    const median = warm[Math.floor(warm.length / 2)] ?? Number.NaN;
    return [
      {
        metric: `/balance-history ${label}, ${total} rows (median of 11)`,
        value: `${median.toFixed(1)} ms`,
        target: `< ${target} ms`,
        pass: median < target,
      },
      {
        metric: `/balance-history ${label}, ${total} rows (first, cold)`,
        value: `${(times[0] ?? Number.NaN).toFixed(1)} ms`,
        target: `< ${target} ms`,
        pass: (times[0] ?? Number.POSITIVE_INFINITY) < target,
      },
    ];
  } finally {
    await core.close();
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [label, days, reportDays, target] of [
    ['90d of 90 days', 90, 90, 250],
    ['90d of 1 year', 365, 90, 250],
    ['whole year', 365, 365, 400],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'cw-bench-hist-'));
    try {
      rows.push(
        ...(await measure(
          `${label} · SQLite`,
          { HOME: dir, DATA_DIR: dir, PROVIDERS: 'claude,kimi' },
          days,
          '90d',
          reportDays,
          target,
        )),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const db = await scratchDatabase('cw_bench_hist', '');
    try {
      rows.push(
        ...(await measure(
          `${label} · Postgres`,
          { HOME: tmpdir(), DATABASE_URL: db.url, PROVIDERS: 'claude,kimi' },
          days,
          '90d',
          reportDays,
          target,
        )),
      );
    } finally {
      await db.drop();
    }
  }
  return rows;
}
