import { formatUtc } from './format.js';
import type { Amount, Currency } from './money.js';
import { Big, currencySymbol, formatMoney } from './money.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A shorter span says more about when the readings happened than about how fast money goes. */
const MIN_SPAN_MS = HOUR_MS;
/** A Claude row's `updated_at` comes from another machine's clock: a few minutes ahead of ours is "now". */
const CLOCK_SKEW_MS = 5 * MINUTE_MS;
/** Keeps projected dates representable when the rate is vanishingly small (1e-7 a day). */
const MAX_RUNWAY_DAYS = 365_000;

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

/** What a forecast used: distinct observations, their first→last span in days, and whether it fell back. */
export interface BasedOn {
  readonly observations: number;
  readonly days: number;
  /** True when the trailing window held too little, so older observations were used instead. */
  readonly fellBack: boolean;
}

interface ForecastCommon {
  readonly threshold: Amount;
  readonly basedOn: BasedOn;
  readonly confidence: Confidence;
  /** Short clause for the hourly post; see {@link computeForecast} for the wordings. */
  readonly describe: string;
  /** The newest observation used, if there is any. */
  readonly latest: Observation | null;
}

/** Too little history to say anything: `reason` says why. */
export interface InsufficientForecast extends ForecastCommon {
  readonly status: 'insufficient';
  readonly reason: string;
}

interface MeasuredForecast extends ForecastCommon {
  readonly latest: Observation;
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
 * Confidence: `low` if the span is under 24 hours or there are fewer than 4 observations; `high` if it is at
 * least 3 days and 12 observations and did not fall back; `medium` otherwise.
 *
 * `describe` is one of:
 * - `not enough history`
 * - `no spend in 7d` / `no spend in 5h` (the observed span, rounded)
 * - `~6 days left`, `~14 hours left`, `~1 hour left`, `<1 hour left`, `>1 year left` (until 0, counted
 *   from `now`: hours below 47.5 hours, days above)
 * - `at threshold, ~2 days to $0` / `below threshold, ~14 hours to ¥0`
 * - `projected empty by now` (the latest reading was positive but its projection has run out; stale source)
 * - `out of credit ($0.00)` / `out of credit (-$0.50)` (the latest reading is ≤ 0)
 */
export function computeForecast(input: ForecastInput): Forecast {
  const { threshold, currency, now } = input;
  const windowDays = input.windowDays ?? 7;
  const known = distinctObservations(input.points).filter(
    (o) => o.asOf.getTime() <= now.getTime() + CLOCK_SKEW_MS,
  );
  const { basis, fellBack } = chooseBasis(known, now, windowDays);
  const first = basis[0];
  const latest = basis.at(-1) ?? null;
  const spanMs = first && latest ? latest.asOf.getTime() - first.asOf.getTime() : 0;
  const basedOn: BasedOn = { observations: basis.length, days: spanMs / DAY_MS, fellBack };

  if (!first || !latest || basis.length < 2 || spanMs < MIN_SPAN_MS) {
    let reason: string;
    if (!latest) reason = 'no successful readings yet';
    else if (basis.length < 2) reason = `only one distinct reading (as of ${formatUtc(latest.asOf)})`;
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

  const { spend, topUps } = movements(basis);
  const confidence = rateConfidence(basis.length, spanMs, fellBack);
  if (spend.eq(0)) {
    return {
      status: 'idle',
      threshold,
      basedOn,
      confidence,
      describe: `no spend in ${shortSpan(spanMs)}`,
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
  const belowThreshold = latest.available.lt(threshold);
  const thresholdDays = belowThreshold ? 0 : daysFromAsOf(latest.available.minus(threshold));
  const reachesThresholdAt = belowThreshold ? null : dateAfter(thresholdDays);
  const daysToThreshold = belowThreshold ? 0 : Math.max(0, thresholdDays - sinceAsOfDays);

  let describe: string;
  if (latest.available.lte(0)) describe = `out of credit (${formatMoney(latest.available, currency)})`;
  else if (daysToZero <= 0) describe = 'projected empty by now';
  else if (belowThreshold)
    describe = `below threshold, ${timeLeft(daysToZero)} to ${currencySymbol(currency)}0`;
  else if (latest.available.eq(threshold)) {
    describe = `at threshold, ${timeLeft(daysToZero)} to ${currencySymbol(currency)}0`;
  } else describe = `${timeLeft(daysToZero)} left`;

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
 * One line explaining the forecast, e.g.
 * `runs out ~2026-12-04 13:00 UTC (threshold $5.00 ~2026-12-02 09:00 UTC) · $1.25/day over 6.9 days,
 * 160 readings (high confidence)`. Times are UTC to the minute; `now` decides whether a projection is past.
 */
export function formatRunway(forecast: Forecast, currency: Currency, now: Date): string {
  if (forecast.status === 'insufficient') return `not enough history (${forecast.reason})`;
  const { basedOn, confidence, latest } = forecast;
  const readings = `${basedOn.observations} reading${basedOn.observations === 1 ? '' : 's'}`;
  const fellBack = basedOn.fellBack ? ', fell back to older readings' : '';
  const tail =
    `${formatRate(forecast, currency)} over ${longSpan(basedOn.days)}, ` +
    `${readings}${fellBack} (${confidence} confidence)`;
  const threshold = formatMoney(forecast.threshold, currency);

  if (forecast.status === 'idle') {
    const topUps = forecast.topUps.length;
    const topUpNote = topUps > 0 ? ` (${topUps} top-up${topUps === 1 ? '' : 's'})` : '';
    return `no spend${topUpNote} · ${tail}`;
  }
  const runsOut = formatUtc(forecast.runsOutAt);
  let head: string;
  if (latest.available.lte(0)) {
    head = `out of credit (${formatMoney(latest.available, currency)} as of ${formatUtc(latest.asOf)})`;
  } else if (forecast.runsOutAt.getTime() <= now.getTime()) {
    const lastReading = `${formatMoney(latest.available, currency)} at ${formatUtc(latest.asOf)}`;
    head = `projected to have run out ~${runsOut} (last reading ${lastReading})`;
  } else if (forecast.belowThreshold) {
    head = `below threshold ${threshold}, runs out ~${runsOut}`;
  } else if (latest.available.eq(forecast.threshold)) {
    head = `at threshold ${threshold}, runs out ~${runsOut}`;
  } else {
    const reaches = forecast.reachesThresholdAt
      ? ` (threshold ${threshold} ~${formatUtc(forecast.reachesThresholdAt)})`
      : '';
    head = `runs out ~${runsOut}${reaches}`;
  }
  return `${head} · ${tail}`;
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
export function summarizeHistory(points: readonly HistoryPoint[], currency: Currency): HistorySummary {
  const observations = distinctObservations(points);
  const first = observations[0];
  const last = observations.at(-1);
  const money = (amount: Amount): string => formatMoney(amount, currency);
  if (!first || !last || observations.length < 2) {
    const latest = last ? { amount: last.available, at: last.asOf } : null;
    const reason = latest ? 'only one distinct reading' : 'no readings';
    const text = latest
      ? `${reason}: ${money(latest.amount)} at ${formatUtc(latest.at)}`
      : 'no readings in this period';
    return {
      enough: false,
      currency,
      count: points.length,
      observations: observations.length,
      reason,
      latest,
      text,
    };
  }

  let min = first;
  let max = first;
  for (const o of observations) {
    if (o.available.lt(min.available)) min = o;
    if (o.available.gt(max.available)) max = o;
  }
  const { spend, topUps } = movements(observations);
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
    ` · ${points.length} readings, ${observations.length} distinct`;
  const dated = (o: Observation): DatedAmount => ({ amount: o.available, at: o.asOf });
  return {
    enough: true,
    currency,
    count: points.length,
    observations: observations.length,
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

function distinctObservations(points: readonly HistoryPoint[]): Observation[] {
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

function movements(observations: readonly Observation[]): { spend: Amount; topUps: TopUp[] } {
  let spend = new Big(0);
  const topUps: TopUp[] = [];
  for (let i = 1; i < observations.length; i++) {
    const before = observations[i - 1]!;
    const after = observations[i]!;
    const change = after.available.minus(before.available);
    if (change.lt(0)) spend = spend.minus(change);
    else if (change.gt(0)) topUps.push({ at: after.asOf, amount: change });
  }
  return { spend, topUps };
}

function rateConfidence(observations: number, spanMs: number, fellBack: boolean): Confidence {
  if (spanMs < DAY_MS || observations < 4) return 'low';
  if (spanMs >= 3 * DAY_MS && observations >= 12 && !fellBack) return 'high';
  return 'medium';
}

function timeLeft(days: number): string {
  const hours = days * 24;
  if (days > 365) return '>1 year';
  if (hours < 1) return '<1 hour';
  if (hours < 47.5) {
    const rounded = Math.round(hours);
    return `~${rounded} hour${rounded === 1 ? '' : 's'}`;
  }
  return `~${Math.round(days)} days`;
}

function shortSpan(ms: number): string {
  return ms >= DAY_MS ? `${Math.round(ms / DAY_MS)}d` : `${Math.round(ms / HOUR_MS)}h`;
}

function longSpan(days: number): string {
  return days >= 1 ? `${days.toFixed(1)} days` : `${(days * 24).toFixed(1)} hours`;
}
