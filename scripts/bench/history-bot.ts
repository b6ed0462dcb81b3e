/**
 * The bot's side of the history benchmark (issue 9), run by `history.ts` as a child process with `npm start`'s
 * node flags against the database that section generated, so the peak RSS and event-loop stalls measured
 * here are the bot's own, not the generator's. Prints one JSON line (`BotFigures`) on stdout.
 *
 * Not a section of its own: it exports no `run`, and does its work only when started as a script.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { renderBalanceChartAsync } from '../../src/adapters/chart/balance-chart.js';
import { PERIODS, spendDays } from '../../src/adapters/chart/series.js';
import { renderBalance } from '../../src/adapters/discord/commands/balance.js';
import { renderHistory } from '../../src/adapters/discord/commands/balance-history.js';
import type { CommandContext } from '../../src/adapters/discord/commands/types.js';
import { loadConfig } from '../../src/core/config.js';
import { Insight } from '../../src/core/insight.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import type { Summary } from '../../src/core/service.js';
import type { BalanceProvider, CheckResult, ProviderId } from '../../src/core/types.js';
import { createCore } from '../../src/entry/app.js';

const MIN = 60_000;
const DAY = 86_400_000;
const STEP = 5 * MIN;

/** 'kimi' and 'claude' are two of the 30, so the command's own formatting (which names them) is used. */
export const ACCOUNTS: string[] = [
  'kimi',
  'claude',
  ...Array.from({ length: 28 }, (_, i) => `acct-${i + 3}`),
];

export interface Timing {
  readonly label: string;
  readonly target: number;
  readonly cold: number;
  readonly median: number;
  /** The longest event-loop stall while this part ran. */
  readonly stallMs: number;
  /** The highest RSS sampled (every 5 ms) while this part ran, bytes. */
  readonly rss: number;
}

export interface BotFigures {
  readonly timings: Timing[];
  /** `/balance` (cached) answered while a year of history was read: latencies from when each was due. */
  readonly balance: { readonly count: number; readonly median: number; readonly max: number };
  /** The process's peak resident set (getrusage), bytes: startup included. */
  readonly peakRss: number;
  readonly maxStallMs: number;
}

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

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
};

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Cold first run, then the median of 11, with the longest event-loop stall meanwhile. */
async function medianOf11(
  fn: () => Promise<void>,
): Promise<{ cold: number; median: number; stallMs: number; rss: number }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let rss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    rss = Math.max(rss, process.memoryUsage.rss());
  }, 5);
  const times: number[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      // Let the loop turn between runs, so a synchronous stretch shows as a stall of its own length.
      await turn();
      const t0 = performance.now();
      await fn();
      times.push(performance.now() - t0);
    }
  } finally {
    delay.disable();
    clearInterval(sampler);
  }
  return { cold: times[0]!, median: median(times.slice(1)), stallMs: delay.max / 1e6, rss };
}

async function main(): Promise<void> {
  const end = Number(process.env.BENCH_HISTORY_END);
  if (!Number.isFinite(end)) throw new Error('BENCH_HISTORY_END (epoch ms) is required');
  const config = loadConfig({ ...process.env, PROVIDERS: 'claude,kimi' } as Record<string, string>, {
    providerSettings: 'optional',
  });
  const overall = monitorEventLoopDelay({ resolution: 5 });
  overall.enable();
  const core = await createCore(config, createLogger('silent'), {
    providers: [idle('claude'), idle('kimi')],
  });
  try {
    const insight = new Insight(core.history);
    const now = new Date(end + 3 * MIN);
    const threshold = parseAmount('5');
    const timings: Timing[] = [];

    const yearReport = async () => {
      const report = await insight.report('kimi', 365 * DAY, threshold, 'USD', now);
      await renderBalanceChartAsync(
        [
          {
            label: 'Kimi',
            points: report.points.map((p) => ({ at: p.asOf, value: p.available.toNumber() })),
            threshold: 5,
          },
        ],
        { title: 'Balance, last year', currency: 'USD', from: new Date(end - 365 * DAY), to: now },
      );
    };
    for (const [label, periodMs, target] of [
      ['24h', PERIODS['24h'], 50],
      ['90d', PERIODS['90d'], 150],
      ['1 year', 365 * DAY, 250],
    ] as const) {
      const t = await medianOf11(async () => {
        if (label === '1 year') return yearReport();
        // As the command does: the report and the spend per day read side by side, then both charts.
        const [report, spend] = await Promise.all([
          insight.report('kimi', periodMs, threshold, 'USD', now),
          insight.dailySpend([{ provider: 'kimi', currency: 'USD' }], spendDays(label), now),
        ]);
        const view = { ...report, spend: spend.get('kimi')! };
        if ((await renderHistory([view], label, now)).files.length !== 2)
          throw new Error('expected the balance and the spend chart');
      });
      timings.push({
        label:
          label === '1 year'
            ? `/balance-history ${label} (report + chart), one account`
            : `/balance-history ${label} (report + spend per day + both charts), one account`,
        target,
        ...t,
      });
    }

    // What the hourly summary asks for: every account's forecast from one summary.
    const summary = {
      checkedAt: now,
      anyLow: false,
      anyFailed: false,
      statuses: ACCOUNTS.map((a) => ({
        provider: a as ProviderId,
        label: a,
        emoji: '•',
        parts: {},
        threshold,
        state: 'ok' as const,
        ageMs: 0,
        stale: false,
        staleAfterMs: null,
        result: {
          ok: true as const,
          provider: a as ProviderId,
          currency: 'USD' as const,
          available: parseAmount('100'),
          asOf: now,
          checkedAt: now,
          latencyMs: 20,
        },
      })),
    } satisfies Summary;
    const forecasts = await medianOf11(async () => {
      const all = await insight.forecasts(summary, now);
      const got = Object.values(all);
      if (got.length !== ACCOUNTS.length || got.some((f) => f?.status === 'insufficient'))
        throw new Error('expected a forecast for every account');
    });
    timings.push({
      label: `hourly summary forecast, all ${ACCOUNTS.length} accounts`,
      target: 100,
      ...forecasts,
    });

    // What `check --json` asks for: the last 7 days' spend of every account.
    const spend7d = await medianOf11(async () => {
      const all = await insight.dailySpend(
        ACCOUNTS.map((a) => ({ provider: a, currency: 'USD' as const })),
        7,
        now,
      );
      if (all.size !== ACCOUNTS.length || [...all.values()].some((s) => s.total.lte(0)))
        throw new Error('expected spend for every account');
    });
    timings.push({
      label: `spend per day, last 7 days, all ${ACCOUNTS.length} accounts`,
      target: 100,
      ...spend7d,
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
    timings.push({ label: `one check round of ${ACCOUNTS.length} accounts recorded`, target: 20, ...writes });

    // `/balance` from the cache (the real command's rendering, its extras read once) every 10 ms while a year
    // of one account's history is read and charted, again and again for 3 s: each answer's latency counts from when it
    // was due, so a blocked event loop shows in full.
    const ctx = { insight, now: () => now, logger: createLogger('silent') } as unknown as CommandContext;
    const twoAccounts = { ...summary, statuses: summary.statuses.slice(0, 2) };
    await renderBalance(twoAccounts, ctx, null, true);
    const latencies: number[] = [];
    let reading = true;
    const probe = (async () => {
      while (reading) {
        const due = performance.now() + 10;
        await new Promise((resolve) => setTimeout(resolve, 10));
        const text = await renderBalance(twoAccounts, ctx, null, true);
        if (!text.includes('Balances')) throw new Error('unexpected /balance reply');
        latencies.push(performance.now() - due);
      }
    })();
    const started = performance.now();
    for (let i = 0; i < 5 || performance.now() - started < 3000; i++) await yearReport();
    reading = false;
    await probe;

    overall.disable();
    const figures: BotFigures = {
      timings,
      balance: { count: latencies.length, median: median(latencies), max: Math.max(...latencies) },
      peakRss: process.resourceUsage().maxRSS * 1024,
      maxStallMs: overall.max / 1e6,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await core.close();
  }
}

if (process.argv[1]?.endsWith('history-bot.js')) {
  main().catch((err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exitCode = 1;
  });
}
