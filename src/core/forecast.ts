import { type Digest, digestObservations, type FigureKind } from './digest.js';

/** The top-up rule (a rise between consecutive observations), shared with the alert engine. */
export { isTopUp, topUpBetween } from './digest.js';

import { formatTime, type TimeTarget } from './format.js';
import type { Amount, Currency } from './money.js';
import { Big, currencySymbol, formatMoney, isLow } from './money.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A shorter span says more about when the readings happened than about how fast money goes. */
const MIN_SPAN_MS = HOUR_MS;
/** A Claude row's `updated_at` comes from another machine's clock: a few minutes ahead of ours is "now". */
const CLOCK_SKEW_MS = 5 * MINUTE_MS;
/** Keeps projected dates representable when the rate is vanishingly small (1e-7 a day). */
const MAX_RUNWAY_DAYS = 365_000;
/** The span is cut into this many equal parts to see how the readings spread over it (coverage). */
export const COVERAGE_PARTS = 12;
/** Below this coverage the readings are bunched: confidence is low whatever their number. */
const POOR_COVERAGE = 0.5;
/** From this coverage up, a long enough span (3 days) without fallback is high confidence. */
const GOOD_COVERAGE = 0.75;

/** One successful reading, as stored. Any order; repeats of the same `asOf` are the same observation. */
export interface HistoryPoint {
  readonly checkedAt: Date;
  readonly asOf: Date;
  readonly available: Amount;
}

/** A distinct observation of the balance: what it was, and when that was true. */
export interface Observation {
  readonly asOf: Date;
  readonly available: Amount;
}

/** A rise in balance between two consecutive observations, dated at the later one. */
export interface TopUp {
  readonly at: Date;
  readonly amount: Amount;
}

export type Confidence = 'low' | 'medium' | 'high';

/**
 * What a forecast used: distinct observations, their first→last span in days, how evenly they cover that
 * span, and whether it fell back.
 */
export interface BasedOn {
  readonly observations: number;
  readonly days: number;
  /**
   * Share (0–1) of the span's {@link COVERAGE_PARTS} equal parts that hold at least one observation; 0 when
   * there is no span. 40 readings in 2 minutes plus one 3.5 days earlier cover 2 of 12 parts.
   */
  readonly coverage: number;
  /** True when the trailing window held too little, so older observations were used instead. */
  readonly fellBack: boolean;
}

interface ForecastCommon {
  readonly threshold: Amount;
  readonly basedOn: BasedOn;
  readonly confidence: Confidence;
  /** Short runway clause for the hourly post; see {@link computeForecast} for the wordings. */
  readonly describe: string;
  /** The newest observation used, if there is any. */
  readonly latest: Observation | null;
}

/** Too little history to say anything: `reason` says why. */
export interface InsufficientForecast extends ForecastCommon {
  readonly status: 'insufficient';
  readonly reason: string;
}

/**
 * A monthly budget account's forecast (issue 13): the month's projected spend at the month-to-date rate against
 * the budget, from the reading itself, never from the history (whose rise at each month's start is the budget
 * resetting, neither a top-up nor spend).
 */
export interface BudgetOutlook {
  readonly amount: Amount;
  /** Month-to-date spend × the month's length ÷ the time elapsed. */
  readonly projected: Amount;
  /** When the month (and the budget) ends: 00:00 UTC on the next month's 1st. */
  readonly periodEnd: Date;
  /** `projected > amount`: at this rate the budget runs out before the month ends (at `runsOutAt`). */
  readonly over: boolean;
}

interface MeasuredForecast extends ForecastCommon {
  readonly latest: Observation;
  /** Set for a budget account: the forecast is {@link budgetForecast}'s. */
  readonly budget?: BudgetOutlook;
  /** Sum of the falls between consecutive observations; top-ups never count against it. */
  readonly spend: Amount;
  readonly ratePerDay: Amount;
  readonly topUps: readonly TopUp[];
}

/** Readings over a real span, but no fall in balance: there is no runway to project. */
export interface IdleForecast extends MeasuredForecast {
  readonly status: 'idle';
}

/** Money is being spent: runway is projected from the latest observation at `ratePerDay`. */
export interface OkForecast extends MeasuredForecast {
  readonly status: 'ok';
  /** `available < threshold` on the latest observation. Exactly at the threshold is not below. */
  readonly belowThreshold: boolean;
  /** When the balance reaches the threshold; the latest `asOf` if exactly there; null if already below. */
  readonly reachesThresholdAt: Date | null;
  /** When the balance reaches 0; the latest `asOf` if it is already ≤ 0. */
  readonly runsOutAt: Date;
  /** Days from `now` until `runsOutAt`, never negative. */
  readonly daysToZero: number;
  /** Days from `now` until `reachesThresholdAt`, never negative (0 when at or below the threshold). */
  readonly daysToThreshold: number;
}

export type Forecast = InsufficientForecast | IdleForecast | OkForecast;

export interface ForecastInput {
  readonly points: readonly HistoryPoint[];
  readonly threshold: Amount;
  readonly currency: Currency;
  readonly now: Date;
  /** Trailing window the rate is measured over. Default 7. */
  readonly windowDays?: number;
  /** A monthly budget's reset on the 1st is neither a top-up nor spend (`digest.ts`). Default `balance`. */
  readonly kind?: FigureKind;
}

/**
 * Burn rate and runway of one provider's balance.
 *
 * Observations are the points deduplicated by `asOf` (the latest check wins if two disagree), sorted, and
 * restricted to `[now - windowDays, now]` (5 minutes of clock skew allowed; later ones are ignored). When
 * that window holds fewer than 2 observations or spans under an hour, the forecast falls back
 * (`basedOn.fellBack`) to the `windowDays` before the newest observation, reaching further back one
 * observation at a time until the span is usable. Rises are top-ups, falls are
 * spend; the rate is spend over the first→last span, so a source that stopped updating keeps its real rate.
 *
 * Confidence rests on the time the observations span and how they spread over it, never on their count
 * alone. Coverage is the share of the span's {@link COVERAGE_PARTS} equal parts holding at least one
 * observation:
 * - `low` if the span is under 24 hours, or coverage is under 50 % (the readings are bunched);
 * - `high` if the span is at least 3 days, coverage is at least 75 %, and the forecast did not fall back;
 * - `medium` otherwise.
 *
 * `describe` is one of (durations by {@link formatSpan}, counted from `now`):
 * - `not enough history`
 * - `no spend in 7 d` / `no spend in 5 h` (the observed span)
 * - `threshold in 25 h · $0 in 3 d` (above the threshold; just `$0 in 3 d` when the threshold is 0)
 * - `at threshold · $0 in 2 d` / `below threshold · ¥0 in 14 h`
 * - `projected below threshold by now · $0 in 20 h` (a stale source whose projection has crossed the threshold)
 * - `projected empty by now` (the latest reading was positive but its projection has run out; stale source)
 * - `out of credit ($0.00)` / `out of credit (-$0.50)` (the latest reading is ≤ 0)
 *
 * Every projection (all but `out of credit`) ends with `(low confidence: 2 readings over 5 h)` when the
 * confidence is low, so the short clause never hides it; see {@link confidenceWords}.
 */
export function computeForecast(input: ForecastInput): Forecast {
  const { threshold, currency, now } = input;
  const windowDays = input.windowDays ?? 7;
  const known = distinctObservations(input.points).filter(
    (o) => o.asOf.getTime() <= now.getTime() + CLOCK_SKEW_MS,
  );
  const { basis, fellBack } = chooseBasis(known, now, windowDays);
  return forecastFromDigest(digestObservations(basis, basis.length, input.kind), {
    threshold,
    currency,
    now,
    fellBack,
  });
}

/** `only one distinct reading (as of …)`, the moment in UTC text or Discord's markup. */
const oneReading = (asOf: Date, target: TimeTarget): string =>
  `only one distinct reading (as of ${formatTime(asOf, target)})`;

/**
 * The forecast from a digest of the observations it is based on (see {@link computeForecast}; the window
 * has already been chosen). History stored as roll-ups is forecast through here, so a roll-up and the raw
 * readings behind it give the same forecast — provided the digest's `grain` is no coarser than a coverage
 * part (see {@link coverageIsExact}).
 */
export function forecastFromDigest(
  digest: Digest | null,
  opts: { threshold: Amount; currency: Currency; now: Date; fellBack: boolean },
): Forecast {
  const { threshold, currency, now, fellBack } = opts;
  const first = digest?.first;
  const latest = digest?.last ?? null;
  const observations = digest?.observations ?? 0;
  const spanMs = first && latest ? latest.asOf.getTime() - first.asOf.getTime() : 0;
  const basedOn: BasedOn = {
    observations,
    days: spanMs / DAY_MS,
    coverage: digest ? coverage(digest.marks, spanMs) : 0,
    fellBack,
  };

  if (!digest || !first || !latest || observations < 2 || spanMs < MIN_SPAN_MS) {
    let reason: string;
    if (!latest) reason = 'no successful readings yet';
    else if (observations < 2) reason = oneReading(latest.asOf, 'text');
    else reason = `readings span only ${Math.round(spanMs / MINUTE_MS)} min; need at least 1 hour`;
    return {
      status: 'insufficient',
      reason,
      threshold,
      basedOn,
      confidence: 'low',
      describe: 'not enough history',
      latest,
    };
  }

  const { spend, topUps } = digest;
  const confidence = rateConfidence(spanMs, basedOn.coverage, fellBack);
  if (spend.eq(0)) {
    return {
      status: 'idle',
      threshold,
      basedOn,
      confidence,
      describe: `no spend in ${formatSpan(spanMs)}`,
      latest,
      spend,
      ratePerDay: new Big(0),
      topUps,
    };
  }

  const ratePerDay = spend.times(DAY_MS).div(spanMs);
  const asOfMs = latest.asOf.getTime();
  const sinceAsOfDays = (now.getTime() - asOfMs) / DAY_MS;
  const daysFromAsOf = (amount: Amount): number => (amount.lte(0) ? 0 : amount.div(ratePerDay).toNumber());
  const dateAfter = (days: number): Date =>
    new Date(asOfMs + Math.round(Math.min(days, MAX_RUNWAY_DAYS) * DAY_MS));

  const zeroDays = daysFromAsOf(latest.available);
  const runsOutAt = dateAfter(zeroDays);
  const daysToZero = Math.max(0, zeroDays - sinceAsOfDays);
  const belowThreshold = isLow(latest.available, threshold);
  const thresholdDays = belowThreshold ? 0 : daysFromAsOf(latest.available.minus(threshold));
  const reachesThresholdAt = belowThreshold ? null : dateAfter(thresholdDays);
  const daysToThreshold = belowThreshold ? 0 : Math.max(0, thresholdDays - sinceAsOfDays);

  const projection = { available: latest.available, threshold, belowThreshold, daysToThreshold, daysToZero };
  let describe: string;
  if (latest.available.lte(0)) describe = `out of credit (${formatMoney(latest.available, currency)})`;
  else {
    describe = daysToZero <= 0 ? 'projected empty by now' : runwayPhrase(projection, currency);
    if (confidence === 'low') describe += ` (${confidenceWords(confidence, basedOn)})`;
  }

  return {
    status: 'ok',
    threshold,
    basedOn,
    confidence,
    describe,
    latest,
    spend,
    ratePerDay,
    topUps,
    belowThreshold,
    reachesThresholdAt,
    runsOutAt,
    daysToZero,
    daysToThreshold,
  };
}

/** What {@link budgetForecast} reads from a budget account's reading. */
export interface BudgetFacts {
  readonly available: Amount;
  readonly budget: {
    readonly amount: Amount;
    readonly spent: Amount;
    readonly periodStart: Date;
    readonly periodEnd: Date;
  };
  /** Days the cost report covered this month (its `spendByDay` entries). */
  readonly days: number;
  /**
   * When `spent` was read (the reading's as-of time); default `now`. The month's rate is measured up to it, so
   * a reading held for a while (`/balance-history`, the status page) gives the same projection as when fresh.
   */
  readonly asOf?: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Dec 31`: the last day of the budget's month (UTC). */
export function budgetMonthEnd(periodEnd: Date): string {
  const last = new Date(periodEnd.getTime() - DAY_MS);
  return `${MONTHS[last.getUTCMonth()]} ${last.getUTCDate()}`;
}

/**
 * The forecast of a budget account: the month-to-date spend's rate (spent ÷ time from the month's start to the
 * reading's `asOf`) carried to the month's end, `on track for $230.00 of $200.00 by Dec 31`; the budget's runway
 * (`runsOutAt`, `reachesThresholdAt`, from `asOf`) at that rate. Confidence: low in the month's first day,
 * medium up to 3 days, then high. `insufficient` in the month's first hour (no rate yet). The one forecast of a
 * budget account wherever one is shown (`Insight.forecasts` and `Insight.report`).
 */
export function budgetForecast(
  facts: BudgetFacts,
  opts: { threshold: Amount; currency: Currency; now: Date },
): Forecast {
  const { threshold, currency, now } = opts;
  const { amount, spent, periodStart, periodEnd } = facts.budget;
  const asOf = facts.asOf ?? now;
  const monthMs = periodEnd.getTime() - periodStart.getTime();
  const elapsedMs = Math.min(monthMs, Math.max(0, asOf.getTime() - periodStart.getTime()));
  const latest: Observation = { asOf, available: facts.available };
  const basedOn: BasedOn = {
    observations: facts.days,
    days: elapsedMs / DAY_MS,
    coverage: 1,
    fellBack: false,
  };
  const confidence: Confidence = elapsedMs < DAY_MS ? 'low' : elapsedMs < 3 * DAY_MS ? 'medium' : 'high';
  const money = (a: Amount): string => formatMoney(a, currency);
  const by = `by ${budgetMonthEnd(periodEnd)}`;
  if (elapsedMs < MIN_SPAN_MS) {
    return {
      status: 'insufficient',
      reason: `the budget's month began ${Math.round(elapsedMs / MINUTE_MS)} min ago`,
      threshold,
      basedOn,
      confidence: 'low',
      describe: 'not enough history',
      latest,
    };
  }
  const zero = new Big(0);
  if (spent.lte(0)) {
    return {
      status: 'idle',
      threshold,
      basedOn,
      confidence,
      describe: `no spend this month (budget ${money(amount)} ${by})`,
      latest,
      spend: zero,
      ratePerDay: zero,
      topUps: [],
      budget: { amount, projected: zero, periodEnd, over: false },
    };
  }
  const ratePerDay = spent.times(DAY_MS).div(elapsedMs);
  const projected = spent.times(monthMs).div(elapsedMs);
  const over = projected.gt(amount);
  const daysFor = (left: Amount): number =>
    left.lte(0) ? 0 : Math.min(left.div(ratePerDay).toNumber(), MAX_RUNWAY_DAYS);
  // Runways from the reading, counted from now (a held reading's have partly passed).
  const sinceAsOfDays = Math.max(0, now.getTime() - asOf.getTime()) / DAY_MS;
  const zeroDays = daysFor(facts.available);
  const belowThreshold = isLow(facts.available, threshold);
  const thresholdDays = belowThreshold ? 0 : daysFor(facts.available.minus(threshold));
  const daysToZero = Math.max(0, zeroDays - sinceAsOfDays);
  const daysToThreshold = Math.max(0, thresholdDays - sinceAsOfDays);
  const at = (days: number): Date => new Date(asOf.getTime() + Math.round(days * DAY_MS));
  let describe = `on track for ${money(projected)} of ${money(amount)} ${by}`;
  if (confidence === 'low') describe += ` (${confidenceWords(confidence, basedOn)})`;
  return {
    status: 'ok',
    threshold,
    basedOn,
    confidence,
    describe,
    latest,
    spend: spent,
    ratePerDay,
    topUps: [],
    belowThreshold,
    reachesThresholdAt: belowThreshold ? null : at(thresholdDays),
    runsOutAt: at(zeroDays),
    daysToZero,
    daysToThreshold,
    budget: { amount, projected, periodEnd, over },
  };
}

/** `$1.25/day`; `<$0.01/day` for a real but sub-cent rate; `n/a` when there is not enough history. */
export function formatRate(forecast: Forecast, currency: Currency): string {
  if (forecast.status === 'insufficient') return 'n/a';
  const text = formatMoney(forecast.ratePerDay, currency);
  if (forecast.ratePerDay.gt(0) && text === formatMoney(new Big(0), currency)) {
    return `<${formatMoney(new Big('0.01'), currency)}/day`;
  }
  return `${text}/day`;
}

/**
 * The one unit rule for every runway and span the project prints: whole hours under 2 days (`25 h`,
 * `47 h`), whole days from 2 days up (`2 d`, `13 d`), always rounded down, so a runway is never
 * overstated (47 h 59 m is `47 h`, 2 d 23 h is `2 d`); `<1 h` under an hour and `>365 d` beyond a year.
 */
export function formatSpan(ms: number): string {
  // Whole seconds first, so float noise (24.99999 h for an exact 25 h) does not cost a whole unit.
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return '<1 h';
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h`;
  const days = Math.floor(seconds / 86_400);
  return days > 365 ? '>365 d' : `${days} d`;
}

/**
 * The confidence in words with what it rests on: `high confidence: 21 readings over 5 d`,
 * `medium confidence: 17 readings over 4 d, fell back to older readings`, `low confidence: 2 readings over
 * 5 h`, `low confidence: 41 readings over 3 d with long gaps` (coverage under 50 %).
 */
export function confidenceWords(confidence: Confidence, basedOn: BasedOn): string {
  const n = basedOn.observations;
  const gaps = basedOn.days >= 1 && basedOn.coverage < POOR_COVERAGE ? ' with long gaps' : '';
  const fellBack = basedOn.fellBack ? ', fell back to older readings' : '';
  return `${confidence} confidence: ${n} reading${n === 1 ? '' : 's'} over ${formatSpan(basedOn.days * DAY_MS)}${gaps}${fellBack}`;
}

/** What a runway phrase needs; an {@link OkForecast} (with `available` = its latest) has it all. */
export interface RunwayFacts {
  readonly available: Amount;
  readonly threshold: Amount;
  readonly belowThreshold: boolean;
  readonly daysToThreshold: number;
  readonly daysToZero: number;
  readonly reachesThresholdAt?: Date | null;
  readonly runsOutAt?: Date;
}

/**
 * The one wording of a runway, naming the line each time refers to: `threshold in 25 h · $0 in 3 d`,
 * `below threshold · $0 in 14 h`, `at threshold · $0 in 2 d`, `projected below threshold by now · $0 in 20 h`,
 * or `$0 in 3 d` when the threshold is 0. With `dated`, each time is followed by its moment for that
 * target: `(~2026-12-04 13:00 UTC)` as text, `(~<t:1764853200:f>)` for Discord. Durations are counted from
 * `now` and follow {@link formatSpan}.
 */
export function runwayPhrase(f: RunwayFacts, currency: Currency, dated: TimeTarget | false = false): string {
  const moment = (at: Date): string => (dated ? formatTime(at, dated) : '');
  const when = (days: number, at: Date | null | undefined): string =>
    `in ${formatSpan(days * DAY_MS)}${dated && at ? ` (~${moment(at)})` : ''}`;
  const zero = `${currencySymbol(currency)}0 ${when(f.daysToZero, f.runsOutAt)}`;
  if (f.belowThreshold) return `below threshold · ${zero}`;
  if (f.available.eq(f.threshold)) return `at threshold · ${zero}`;
  if (f.threshold.lte(0)) return zero;
  if (f.daysToThreshold <= 0) {
    const since = dated && f.reachesThresholdAt ? ` (~${moment(f.reachesThresholdAt)})` : '';
    return `projected below threshold by now${since} · ${zero}`;
  }
  return `threshold ${when(f.daysToThreshold, f.reachesThresholdAt)} · ${zero}`;
}

/**
 * One line explaining the forecast for `/balance` and `/balance-history`, stating the rate once, e.g.
 * `$1.25/day · threshold in 2 d (~2026-12-02 09:00 UTC) · $0 in 6 d (~2026-12-06 13:00 UTC) · high
 * confidence: 160 readings over 6 d`. Times are UTC, floored to the minute, or Discord's markup for
 * `discord`; `now` decides whether a projection is past.
 */
export function formatRunway(
  forecast: Forecast,
  currency: Currency,
  now: Date,
  target: TimeTarget = 'text',
): string {
  if (forecast.status === 'insufficient') {
    // The reason is UTC text (logs, the CLI); in Discord its moment is the reader's own time.
    // Only the one-reading reason carries a moment; a budget's "month began … ago" is said as it is.
    const asOf = forecast.latest?.asOf;
    const one = asOf !== undefined && forecast.reason === oneReading(asOf, 'text');
    const reason = one ? oneReading(asOf, target) : forecast.reason;
    return `not enough history (${reason})`;
  }
  const rate = formatRate(forecast, currency);
  const evidence = confidenceWords(forecast.confidence, forecast.basedOn);
  if (forecast.budget) {
    // A budget's rate and projection come from the month's cost report, not from readings.
    const basis = `${forecast.confidence} confidence: ${formatSpan(forecast.basedOn.days * DAY_MS)} of this month's costs`;
    if (forecast.status === 'idle') return `${rate} · ${forecast.describe} · ${basis}`;
    const out = forecast.budget.over
      ? ` · budget runs out ~${formatTime(forecast.runsOutAt, target)}, before the month ends`
      : ' · within budget';
    return `${rate} · ${forecast.describe.replace(/ \(low confidence.*\)$/, '')}${out} · ${basis}`;
  }
  if (forecast.status === 'idle') {
    const topUps = forecast.topUps.length;
    const topUpNote = topUps > 0 ? ` (${topUps} top-up${topUps === 1 ? '' : 's'})` : '';
    return `${rate} · no spend${topUpNote} · ${evidence}`;
  }
  const { latest } = forecast;
  let head: string;
  if (latest.available.lte(0)) {
    head = `out of credit (${formatMoney(latest.available, currency)} as of ${formatTime(latest.asOf, target)})`;
  } else if (forecast.runsOutAt.getTime() <= now.getTime()) {
    const lastReading = `${formatMoney(latest.available, currency)} at ${formatTime(latest.asOf, target)}`;
    head = `projected to have run out ~${formatTime(forecast.runsOutAt, target)} (last reading ${lastReading})`;
  } else {
    head = runwayPhrase({ ...forecast, available: latest.available }, currency, target);
  }
  return `${rate} · ${head} · ${evidence}`;
}

/** A dated amount in a history summary. */
export interface DatedAmount {
  readonly amount: Amount;
  readonly at: Date;
}

/** `/balance-history` facts. Times are `asOf`; `min`/`max` are dated at the first time they were reached. */
export type HistorySummary =
  | {
      readonly enough: false;
      readonly currency: Currency;
      /** Points given, before deduplication. */
      readonly count: number;
      readonly observations: number;
      readonly reason: string;
      readonly latest: DatedAmount | null;
      /** Plain one-line text for a reply. */
      readonly text: string;
    }
  | {
      readonly enough: true;
      readonly currency: Currency;
      readonly count: number;
      readonly observations: number;
      readonly first: DatedAmount;
      readonly last: DatedAmount;
      readonly min: DatedAmount;
      readonly max: DatedAmount;
      /** `last - first`. */
      readonly netChange: Amount;
      /** Sum of falls between consecutive observations. */
      readonly spend: Amount;
      readonly topUps: readonly TopUp[];
      readonly topUpTotal: Amount;
      /** Plain one-line text for a reply. */
      readonly text: string;
    };

/**
 * Summary of the points given (no window): first/last/min/max, net change, spend, top-ups. Needs at least 2
 * distinct observations (by `asOf`); otherwise `enough: false`.
 */
export function summarizeHistory(
  points: readonly HistoryPoint[],
  currency: Currency,
  target: TimeTarget = 'text',
): HistorySummary {
  const observations = distinctObservations(points);
  return summarizeDigest(digestObservations(observations, points.length), currency, points.length, target);
}

/**
 * {@link summarizeHistory} from a digest of the period's observations; `count` is the successful readings
 * behind it. Roll-ups are summarized through here, so they give the raw readings' figures.
 */
export function summarizeDigest(
  digest: Digest | null,
  currency: Currency,
  count: number,
  target: TimeTarget = 'text',
): HistorySummary {
  const money = (amount: Amount): string => formatMoney(amount, currency);
  if (!digest || digest.observations < 2) {
    const last = digest?.last;
    const latest = last ? { amount: last.available, at: last.asOf } : null;
    const reason = latest ? 'only one distinct reading' : 'no readings';
    const text = latest
      ? `${reason}: ${money(latest.amount)} at ${formatTime(latest.at, target)}`
      : 'no readings in this period';
    return {
      enough: false,
      currency,
      count,
      observations: digest?.observations ?? 0,
      reason,
      latest,
      text,
    };
  }

  const { first, last, min, max, spend, topUps } = digest;
  const topUpTotal = topUps.reduce((sum, t) => sum.plus(t.amount), new Big(0));
  const netChange = last.available.minus(first.available);
  const signed = `${netChange.gte(0) ? '+' : ''}${money(netChange)}`;
  const topUpText =
    topUps.length > 0
      ? `, ${topUps.length} top-up${topUps.length === 1 ? '' : 's'} +${money(topUpTotal)}`
      : '';
  const text =
    `${money(first.available)} → ${money(last.available)} (${signed}) · spent ${money(spend)}${topUpText}` +
    ` · min ${money(min.available)}, max ${money(max.available)}` +
    ` · ${count} readings, ${digest.observations} distinct`;
  const dated = (o: Observation): DatedAmount => ({ amount: o.available, at: o.asOf });
  return {
    enough: true,
    currency,
    count,
    observations: digest.observations,
    first: dated(first),
    last: dated(last),
    min: dated(min),
    max: dated(max),
    netChange,
    spend,
    topUps,
    topUpTotal,
    text,
  };
}

/** The points deduplicated by `asOf` (the latest check wins if two disagree), oldest first. */
export function distinctObservations(points: readonly HistoryPoint[]): Observation[] {
  const byAsOf = new Map<number, HistoryPoint>();
  for (const point of points) {
    const key = point.asOf.getTime();
    if (Number.isNaN(key)) continue;
    const seen = byAsOf.get(key);
    if (!seen || point.checkedAt.getTime() > seen.checkedAt.getTime()) byAsOf.set(key, point);
  }
  return [...byAsOf.values()]
    .sort((a, b) => a.asOf.getTime() - b.asOf.getTime())
    .map((p) => ({ asOf: p.asOf, available: p.available }));
}

function usable(observations: readonly Observation[]): boolean {
  const first = observations[0];
  const last = observations.at(-1);
  return (
    observations.length >= 2 && !!first && !!last && last.asOf.getTime() - first.asOf.getTime() >= MIN_SPAN_MS
  );
}

function chooseBasis(
  sorted: readonly Observation[],
  now: Date,
  windowDays: number,
): { basis: readonly Observation[]; fellBack: boolean } {
  const windowMs = windowDays * DAY_MS;
  const inWindow = sorted.filter((o) => o.asOf.getTime() >= now.getTime() - windowMs);
  const newest = sorted.at(-1);
  if (usable(inWindow) || !newest) return { basis: inWindow, fellBack: false };
  let start = sorted.findIndex((o) => o.asOf.getTime() >= newest.asOf.getTime() - windowMs);
  while (start > 0 && !usable(sorted.slice(start))) start--;
  const basis = sorted.slice(start);
  return { basis, fellBack: basis.length !== inWindow.length };
}

/**
 * Whether a digest's coverage is the raw readings' coverage: every bucket it was joined from is no longer
 * than one of the span's {@link COVERAGE_PARTS} parts, so its first and last observation mark every part it
 * touches.
 */
export function coverageIsExact(digest: Digest): boolean {
  const spanMs = digest.last.asOf.getTime() - digest.first.asOf.getTime();
  return digest.grainMs === 0 || digest.grainMs * COVERAGE_PARTS <= spanMs;
}

/** Share of the span's equal parts holding at least one observation (observations sorted by `asOf`). */
function coverage(marks: readonly number[], spanMs: number): number {
  const start = marks[0];
  if (start === undefined || spanMs <= 0) return 0;
  const filled = new Set<number>();
  for (const t of marks) {
    // Integer milliseconds times 12, divided once: a reading exactly on a boundary lands in the later part.
    const part = Math.floor(((t - start) * COVERAGE_PARTS) / spanMs);
    filled.add(Math.min(COVERAGE_PARTS - 1, part));
  }
  return filled.size / COVERAGE_PARTS;
}

function rateConfidence(spanMs: number, covered: number, fellBack: boolean): Confidence {
  if (spanMs < DAY_MS || covered < POOR_COVERAGE) return 'low';
  if (spanMs >= 3 * DAY_MS && covered >= GOOD_COVERAGE && !fellBack) return 'high';
  return 'medium';
}
