import type { HistoryStore, HistoryWindow, StoredReading } from '../adapters/storage/history.js';
import { figureKind } from './accounts.js';
import type { Digest } from './digest.js';
import {
  budgetForecast,
  COVERAGE_PARTS,
  computeForecast,
  coverageIsExact,
  type Forecast,
  forecastFromDigest,
  type HistoryPoint,
  type HistorySummary,
  summarizeDigest,
} from './forecast.js';
import type { TimeTarget } from './format.js';
import type { Logger } from './logger.js';
import type { Amount, Currency } from './money.js';
import type { Summary } from './service.js';
import { type DayDigests, periodDays, type SpendSeries, spendFromDigests, withCostReport } from './spend.js';
import type { BalanceReading, CheckResult, ProviderId } from './types.js';

/** An account whose daily spend is asked for: its currency, and its latest reading's cost report if any. */
export interface SpendAccount {
  readonly provider: ProviderId;
  readonly currency: Currency;
  readonly spendByDay?: BalanceReading['spendByDay'];
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** As in `forecast.ts`: a reading dated a few minutes ahead of our clock counts as now. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** What `/balance-history` shows for one provider and period. */
export interface HistoryReport {
  readonly provider: ProviderId;
  readonly currency: Currency;
  readonly threshold: Amount;
  /**
   * Points to draw, oldest first (readings with a known as-of time): every distinct reading for periods up to
   * two days, else each hour's first, lowest, highest and last reading (grouped when hours outnumber pixels).
   */
  readonly points: readonly HistoryPoint[];
  /** Failed checks in the period (not part of any figure). */
  readonly failures: number;
  readonly stats: HistorySummary;
  readonly forecast: Forecast;
}

/**
 * The successful readings that have an as-of time. A reading of unknown age is left out rather than dated at
 * its check: a figure that may be weeks old, dated "now", would fake a flat balance and an idle forecast.
 */
export function toPoints(rows: readonly StoredReading[]): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (const r of rows)
    if (r.ok && r.asOf !== null)
      points.push({ checkedAt: r.checkedAt, asOf: r.asOf, available: r.available });
  return points;
}

/**
 * Spend insight over the recorded history: burn rate, top-ups and runway (see `forecast.ts` for
 * how they are computed). Reads history; never calls providers.
 */
export class Insight {
  constructor(
    private readonly history: HistoryStore,
    /**
     * Told, at warn, when forecasts come back with less than asked (error policy 2, docs/design.md): the
     * batched read failed and each account was read on its own, or an account's forecast was left out.
     * `null` (tests that assert on the figures alone): not told.
     */
    private readonly logger: Logger | null = null,
    /** Trailing window the burn rate is measured over. */
    readonly windowDays = 7,
    /** How far back a forecast may look when the window holds too little. */
    private readonly lookbackDays = 30,
  ) {}

  /**
   * The forecast for one provider from the trailing window of its history. The window is read through the
   * hourly roll-ups (exact, see `HistoryStore.window`); only when it holds too little does the forecast fall
   * back to the raw readings of the longer lookback, as `computeForecast` describes.
   */
  async forecast(provider: ProviderId, threshold: Amount, currency: Currency, now: Date): Promise<Forecast> {
    const to = new Date(now.getTime() + CLOCK_SKEW_MS);
    const from = new Date(now.getTime() - this.windowDays * DAY_MS);
    const window = await this.exactWindow(provider, from, to, false);
    const d = window.digest;
    if (d && usableSpan(d)) {
      return forecastFromDigest(d, { threshold, currency, now, fellBack: false });
    }
    const rows = await this.history.range(
      provider,
      new Date(now.getTime() - this.lookbackDays * DAY_MS),
      now,
    );
    return computeForecast({
      points: toPoints(rows),
      threshold,
      currency,
      now,
      windowDays: this.windowDays,
      kind: figureKind(provider),
    });
  }

  /**
   * The history window from the coarsest roll-ups that keep the forecast's coverage exact (see
   * `coverageIsExact`): whole days when the span's parts are at least a day long, else hours, else raw.
   */
  private async exactWindow(
    provider: ProviderId,
    from: Date,
    to: Date,
    points: boolean,
  ): Promise<HistoryWindow> {
    // A span too short for day-long parts would only be read again by the hour.
    const dayParts = (to.getTime() - from.getTime()) / COVERAGE_PARTS >= DAY_MS;
    let window = await this.history.window(
      provider,
      from,
      to,
      dayParts ? { points } : { points, coarsest: 'hour' },
    );
    for (const coarsest of ['hour', 'raw'] as const) {
      if (!window.digest || coverageIsExact(window.digest)) break;
      window = await this.history.window(provider, from, to, { points, coarsest });
    }
    return window;
  }

  /**
   * Forecasts for every provider in a summary; a provider whose history can't be read is left out (logged). The
   * trailing windows of all of them are read at once (`HistoryStore.windows`); a provider whose window needs
   * more (coverage that hourly roll-ups can't give exactly, or a fallback to older readings) is forecast on
   * its own, as `forecast` does.
   */
  async forecasts(summary: Summary, now: Date): Promise<Partial<Record<ProviderId, Forecast>>> {
    const to = new Date(now.getTime() + CLOCK_SKEW_MS);
    const from = new Date(now.getTime() - this.windowDays * DAY_MS);
    const batched = (to.getTime() - from.getTime()) / COVERAGE_PARTS < DAY_MS;
    const digests = new Map<string, Digest | null>();
    if (batched) {
      try {
        await inGroups(
          summary.statuses.map((s) => s.provider),
          async (group) => {
            for (const [provider, digest] of await this.history.windows(group, from, to))
              digests.set(provider, digest);
          },
        );
      } catch (err) {
        // Each provider is tried on its own below; said once, whatever the number of accounts.
        this.logger?.warn(
          { err, accounts: summary.statuses.length },
          'forecasts: the batched history read failed; reading each account on its own',
        );
      }
    }
    // Forecasts from the batch are computed one provider per turn of the event loop (each is some `Big`
    // arithmetic; thirty at once would hold the loop); the others are read on their own, concurrently.
    const entries: (Forecast | undefined | Promise<Forecast | undefined>)[] = [];
    // Accounts left out, with the first reason: one log line for all of them (a store that is down fails each).
    const left: ProviderId[] = [];
    let firstError: unknown;
    const leaveOut = (provider: ProviderId, err: unknown): undefined => {
      if (left.length === 0) firstError = err;
      left.push(provider);
      return undefined;
    };
    for (const s of summary.statuses) {
      const { threshold } = s;
      const { currency } = s.result;
      const d = digests.get(s.provider);
      const budget = budgetForecastOf(s.result, threshold, now);
      if (budget) {
        entries.push(budget);
      } else if (d && coverageIsExact(d) && usableSpan(d)) {
        await loopTurn();
        try {
          entries.push(forecastFromDigest(d, { threshold, currency, now, fellBack: false }));
        } catch (err) {
          entries.push(leaveOut(s.provider, err));
        }
      } else {
        entries.push(
          this.forecast(s.provider, threshold, currency, now).catch((err) => leaveOut(s.provider, err)),
        );
      }
    }
    const settled = await Promise.all(entries);
    if (left.length > 0) {
      this.logger?.warn({ err: firstError, accounts: left }, 'forecasts: left out (history unreadable)');
    }
    const out: Partial<Record<ProviderId, Forecast>> = {};
    summary.statuses.forEach((s, i) => {
      const f = settled[i];
      if (f) out[s.provider] = f;
    });
    return out;
  }

  /**
   * Spend per UTC day over the `days` days ending today, for each account (see `spend.ts`): from the falls in
   * its balance history (top-ups excluded), with the days its latest reading's cost report covers
   * (`spendByDay`) taken from the report. The accounts' days are read in groups of 8, a loop turn apart, as the
   * forecasts' windows are; an account whose history can't be read is left out (logged at warn).
   */
  async dailySpend(
    accounts: readonly SpendAccount[],
    days: number,
    now: Date,
  ): Promise<Map<ProviderId, SpendSeries>> {
    const out = new Map<ProviderId, SpendSeries>();
    const period = periodDays(now, days);
    const currencies = new Map(accounts.map((a) => [a.provider, a.currency]));
    for (let i = 0; i < accounts.length; i += WINDOW_GROUP) {
      if (i > 0) await loopTurn();
      const group = accounts.slice(i, i + WINDOW_GROUP);
      let read: Map<string, DayDigests>;
      try {
        read = await this.history.dayDigests(
          group.map((a) => a.provider),
          period[0]!,
          now,
          currencies,
        );
      } catch (err) {
        this.logger?.warn(
          { err, accounts: group.map((a) => a.provider) },
          'daily spend: history unreadable; accounts left out',
        );
        continue;
      }
      for (const a of group) {
        const digests = read.get(a.provider) ?? { before: null, days: new Map() };
        const derived = spendFromDigests(a.provider, a.currency, period, digests);
        out.set(a.provider, withCostReport(derived, a.spendByDay));
      }
    }
    return out;
  }

  /**
   * Each account's digest of `[from, to]` — its spend and top-ups by the one rule (`digest.ts`) — read for the
   * accounts at once (`HistoryStore.windows`) in groups of 8, a loop turn apart, as the forecasts' windows are;
   * `null` for an account without an observation in it. An account whose history can't be read is left out
   * (logged at warn).
   */
  async windowDigests(
    providers: readonly ProviderId[],
    from: Date,
    to: Date,
  ): Promise<Map<ProviderId, Digest | null>> {
    const out = new Map<ProviderId, Digest | null>();
    await inGroups(providers, async (group) => {
      try {
        const read = await this.history.windows(group, from, to);
        for (const p of group) out.set(p, read.get(p) ?? null);
      } catch (err) {
        this.logger?.warn({ err, accounts: group }, 'window digests: history unreadable; accounts left out');
      }
    });
    return out;
  }

  /**
   * The period's readings, their statistics, and the forecast as of `now` measured over the period; the
   * statistics' text dates its moments for `target` (Discord's markup, or UTC text). For a budget account whose
   * `latest` reading (the one the bot holds) carries its month, the forecast is that reading's budget forecast,
   * the one `forecasts` gives `/balance` and the summary, never a rate from the history.
   */
  async report(
    provider: ProviderId,
    periodMs: number,
    threshold: Amount,
    currency: Currency,
    now: Date,
    target: TimeTarget = 'text',
    latest: CheckResult | null = null,
  ): Promise<HistoryReport> {
    const from = new Date(now.getTime() - periodMs);
    const window = await this.exactWindow(provider, from, new Date(now.getTime() + CLOCK_SKEW_MS), true);
    const { digest } = window;
    // The statistics and the forecast in a turn of their own, after the window's.
    await loopTurn();
    return {
      provider,
      currency,
      threshold,
      points: window.points,
      failures: window.failures,
      stats: summarizeDigest(digest, currency, digest?.readings ?? 0, target),
      // The rate over the period asked for, so the chart's projection matches the numbers beside it.
      forecast:
        budgetForecastOf(latest, threshold, now) ??
        forecastFromDigest(digest, { threshold, currency, now, fellBack: false }),
    };
  }
}

/**
 * The forecast of a budget account's reading (issue 13), or `null` when the result is not a reading with a
 * budget month (a balance account, or a failed check: its history is forecast instead). The one place a reading
 * becomes {@link budgetForecast}'s facts, for `/balance`, the summary, the alerts, `check --json`, the status
 * page and `/balance-history` alike.
 */
function budgetForecastOf(
  result: CheckResult | null | undefined,
  threshold: Amount,
  now: Date,
): Forecast | null {
  if (!result?.ok || !result.budget) return null;
  const { available, budget, spendByDay, currency } = result;
  return budgetForecast(
    { available, budget, days: spendByDay?.length ?? 0, asOf: result.asOf ?? result.checkedAt },
    { threshold, currency, now },
  );
}

/** Accounts whose forecast windows are read in one batch. */
const WINDOW_GROUP = 8;

/** Lets the event loop turn (timers, I/O, other interactions) before the next piece of work. */
const loopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** At least two observations an hour apart: enough for a rate without falling back. */
function usableSpan(d: Digest): boolean {
  return d.observations >= 2 && d.last.asOf.getTime() - d.first.asOf.getTime() >= HOUR_MS;
}

/** A forecast as plain JSON (`npm run check -- --json`): exact decimal strings, ISO times. */
export function forecastToJson(f: Forecast): Record<string, unknown> {
  const base = {
    status: f.status,
    describe: f.describe,
    confidence: f.confidence,
    basedOn: {
      observations: f.basedOn.observations,
      days: Number(f.basedOn.days.toFixed(2)),
      coverage: Number(f.basedOn.coverage.toFixed(2)),
      fellBack: f.basedOn.fellBack,
    },
  };
  if (f.status === 'insufficient') return { ...base, reason: f.reason };
  const measured = {
    ...base,
    ratePerDay: f.ratePerDay.toFixed(2),
    spend: f.spend.toFixed(2),
    topUps: f.topUps.map((t) => ({ at: t.at.toISOString(), amount: t.amount.toFixed(2) })),
  };
  const budget = f.budget && {
    budget: {
      amount: f.budget.amount.toFixed(2),
      projected: f.budget.projected.toFixed(2),
      periodEnd: f.budget.periodEnd.toISOString(),
      over: f.budget.over,
    },
  };
  if (f.status === 'idle') return { ...measured, ...budget };
  return {
    ...measured,
    ...budget,
    belowThreshold: f.belowThreshold,
    reachesThresholdAt: f.reachesThresholdAt?.toISOString() ?? null,
    runsOutAt: f.runsOutAt.toISOString(),
    daysToThreshold: Number(f.daysToThreshold.toFixed(2)),
    daysToZero: Number(f.daysToZero.toFixed(2)),
  };
}

/**
 * `read` for each group of {@link WINDOW_GROUP} accounts, a turn of the event loop apart: one query's rows for 30
 * accounts (~5,000 hourly rows) were decoded by pg in one piece and held the loop ~65 ms on Postgres.
 */
async function inGroups(
  providers: readonly ProviderId[],
  read: (group: readonly ProviderId[]) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < providers.length; i += WINDOW_GROUP) {
    if (i > 0) await loopTurn();
    await read(providers.slice(i, i + WINDOW_GROUP));
  }
}
