import { figureKind } from './accounts.js';
import { type Digest, digestObservations, joinDigests } from './digest.js';
import type { Observation } from './forecast.js';
import { type Amount, Big, type Currency } from './money.js';
import type { DailySpend, ProviderId } from './types.js';

export const DAY_MS = 86_400_000;

/** The start (epoch ms) of the UTC day holding `ms`. */
export const utcDayStart = (ms: number): number => ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);

/** `YYYY-MM-DD` of the UTC day holding `ms`. */
export const utcDayKey = (ms: number): string => new Date(utcDayStart(ms)).toISOString().slice(0, 10);

/** 00:00 UTC on the 1st of the month `date` falls in (UTC), and of the next month (a budget's reset). */
export function utcMonth(date: Date): { start: Date; end: Date } {
  return {
    start: new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)),
    end: new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)),
  };
}

/** One day of a spend series. */
export interface SpendDay extends DailySpend {
  /**
   * Whether the day holds what its figure rests on: at least one balance observation (derived series), or an
   * entry of the provider's cost report. A day without one shows 0: nothing was seen to be spent on it.
   */
  readonly observed: boolean;
  /** Where the day's figure comes from. */
  readonly source: 'balance' | 'cost-report';
}

/** What an account spent per UTC day over a period, oldest first, every day of the period present. */
export interface SpendSeries {
  readonly provider: ProviderId;
  readonly currency: Currency;
  readonly days: readonly SpendDay[];
  /** The sum of the days. */
  readonly total: Amount;
}

/** What the store gives for a series derived from the balance: one digest per UTC day, and what came before. */
export interface DayDigests {
  /** The newest observation before the period's first day (its fall into that day is that day's spend). */
  readonly before: Observation | null;
  /** Each day's digest by day start (epoch ms); a day absent or null holds no observation. */
  readonly days: ReadonlyMap<number, Digest | null>;
}

/** The UTC day starts of the `count` days ending with the day holding `now`, oldest first. */
export function periodDays(now: Date, count: number): number[] {
  const today = utcDayStart(now.getTime());
  return Array.from({ length: Math.max(1, count) }, (_, i) => today - (Math.max(1, count) - 1 - i) * DAY_MS);
}

/**
 * Spend per UTC day from the balance's history, by the one rule every spend figure follows (`digest.ts`): a
 * fall between two consecutive observations is spend, a rise is a top-up and never spend. A fall counts on the
 * day of its later observation — so a fall across midnight (or across a gap of days without readings) lands on
 * the day the lower balance was seen, as a top-up is dated at its later observation; a monthly budget's reset (the
 * change across a month's 1st) is neither. Each day's spend is
 * `joinDigests([the observation before it, the day]).spend`, so the days sum exactly to the spend of the whole
 * period joined after `before`.
 */
export function spendFromDigests(
  provider: ProviderId,
  currency: Currency,
  days: readonly number[],
  input: DayDigests,
): SpendSeries {
  const kind = figureKind(provider);
  let previous: Digest | null = input.before ? digestObservations([input.before], 1) : null;
  let total = new Big(0);
  const out: SpendDay[] = [];
  for (const day of days) {
    const digest = input.days.get(day) ?? null;
    let amount = new Big(0);
    if (digest) {
      const previousLast = previous ? digestObservations([previous.last], 1) : null;
      amount = joinDigests([previousLast, digest], kind)!.spend;
      previous = digest;
    }
    total = total.plus(amount);
    out.push({ day: utcDayKey(day), amount, observed: digest !== null, source: 'balance' });
  }
  return { provider, currency, days: out, total };
}

/**
 * The series with the days a provider's own cost report lists taken from it (it knows what was billed, the
 * balance only what it saw): every day of the period from the report's first day on comes from the report (a day
 * it leaves out spent nothing), days before it keep the figure derived from the balance.
 */
export function withCostReport(series: SpendSeries, report: readonly DailySpend[] | undefined): SpendSeries {
  if (!report || report.length === 0) return series;
  const reported = new Map<string, Amount>();
  for (const d of report) reported.set(d.day, (reported.get(d.day) ?? new Big(0)).plus(d.amount));
  const firstReported = [...reported.keys()].sort()[0]!;
  let total = new Big(0);
  const days = series.days.map((d): SpendDay => {
    const fromReport = d.day >= firstReported;
    const day: SpendDay = fromReport
      ? {
          day: d.day,
          amount: reported.get(d.day) ?? new Big(0),
          observed: reported.has(d.day),
          source: 'cost-report',
        }
      : d;
    total = total.plus(day.amount);
    return day;
  });
  return { ...series, days, total };
}

/** The day with the most spend (the earliest of equal ones); null when nothing was spent. */
export function peakDay(series: SpendSeries): SpendDay | null {
  let best: SpendDay | null = null;
  for (const d of series.days) if (d.amount.gt(0) && (!best || d.amount.gt(best.amount))) best = d;
  return best;
}

/** A series as plain JSON (`check --json`): exact decimal strings, like the rest of it. */
export function spendToJson(series: SpendSeries): { day: string; amount: string; observed: boolean }[] {
  return series.days.map((d) => ({ day: d.day, amount: d.amount.toFixed(), observed: d.observed }));
}
