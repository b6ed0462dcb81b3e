import { type Digest, digestObservations } from '../digest.js';
import { distinctObservations, type HistoryPoint, type Observation, type TopUp } from '../forecast.js';
import { type Amount, amountToText, Big, parseAmount } from '../money.js';

/** Stored amounts are canonical decimal text written by `amountToText`: Big reads them without re-checking. */
const stored = (text: string): Amount => new Big(text);

export const HOUR_MS = 3_600_000;

/** The start of the hour holding `ms` (UTC; epoch milliseconds). */
export const hourOf = (ms: number): number => ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);

/**
 * One provider's hour, rolled up: the digest of its successful readings (bucketed by `as_of`, the time the
 * balance was true, so that consecutive hours join exactly) and its failed checks (bucketed by `checked_at`,
 * as they have no balance time). Kept for good; raw readings are kept for `HISTORY_RAW_DAYS`.
 */
export interface HourlyRollupTable {
  provider: string;
  /** Hour start, epoch ms. */
  start: number;
  /** Currency of the hour's latest reading. */
  currency: string;
  /** Successful readings, repeats of one `as_of` included. */
  readings: number;
  failures: number;
  /** Distinct observations (by `as_of`). */
  observations: number;
  first_at: number | null;
  first_value: string | null;
  last_at: number | null;
  last_value: string | null;
  min_at: number | null;
  min_value: string | null;
  max_at: number | null;
  max_value: string | null;
  /** Sum of the falls between the hour's consecutive observations (exact decimal text). */
  spend: string | null;
  /** Rises inside the hour, `at:amount` joined by `,` (null when none): top-ups stay individually listed. */
  top_ups: string | null;
}

/** A raw row as the roll-up reads it. */
export interface RawForRollup {
  readonly checked_at: number;
  readonly as_of: number | null;
  readonly available: string | null;
  readonly currency: string;
}

/**
 * The hour's roll-up from its successful raw rows (ordered by `checked_at`, then id, as the raw history
 * reads them) and its failure count.
 */
export function buildHour(
  provider: string,
  start: number,
  okRows: readonly RawForRollup[],
  failures: number,
  failureCurrency: string | null,
): HourlyRollupTable {
  const points: HistoryPoint[] = [];
  for (const r of okRows) {
    if (r.available === null || r.as_of === null) continue;
    const asOf = new Date(r.as_of);
    points.push({ checkedAt: new Date(r.checked_at), asOf, available: parseAmount(r.available) });
  }
  const digest = digestObservations(distinctObservations(points), points.length);
  const currency = okRows.at(-1)?.currency ?? failureCurrency ?? 'USD';
  return rowFromDigest(provider, start, digest, failures, currency);
}

/** Stores a digest (of one hour's observations) as a roll-up row. */
export function rowFromDigest(
  provider: string,
  start: number,
  digest: Digest | null,
  failures: number,
  currency: string,
): HourlyRollupTable {
  const at = (o: Observation | undefined) => (o ? o.asOf.getTime() : null);
  const value = (o: Observation | undefined) => (o ? amountToText(o.available) : null);
  return {
    provider,
    start,
    currency,
    readings: digest?.readings ?? 0,
    failures,
    observations: digest?.observations ?? 0,
    first_at: at(digest?.first),
    first_value: value(digest?.first),
    last_at: at(digest?.last),
    last_value: value(digest?.last),
    min_at: at(digest?.min),
    min_value: value(digest?.min),
    max_at: at(digest?.max),
    max_value: value(digest?.max),
    spend: digest ? amountToText(digest.spend) : null,
    top_ups:
      digest && digest.topUps.length > 0
        ? digest.topUps.map((t) => `${t.at.getTime()}:${amountToText(t.amount)}`).join(',')
        : null,
  };
}

/** The digest a roll-up row stands for; null for an hour with failures only. */
export function digestOfRow(
  row: {
    readings: number | string;
    observations: number | string;
    first_at: number | null;
    first_value: string | null;
    last_at: number | null;
    last_value: string | null;
    min_at: number | null;
    min_value: string | null;
    max_at: number | null;
    max_value: string | null;
    spend: string | null;
    top_ups: string | null;
  },
  /** How long the row's bucket is: an hour, or a day. */
  grainMs: number,
): Digest | null {
  if (row.first_at === null || row.first_value === null || row.last_at === null || row.last_value === null)
    return null;
  const first: Observation = {
    asOf: new Date(Number(row.first_at)),
    available: stored(row.first_value),
  };
  // An hour with one observation (or a monotone one) shares objects instead of parsing the same text again.
  const same = (at: number | null, value: string | null, o: Observation): Observation | null =>
    Number(at) === o.asOf.getTime() && value !== null ? o : null;
  const last: Observation = same(row.last_at, row.last_value, first) ?? {
    asOf: new Date(Number(row.last_at)),
    available: stored(row.last_value),
  };
  const pick = (at: number | null, value: string | null): Observation =>
    same(at, value, first) ??
    same(at, value, last) ?? { asOf: new Date(Number(at)), available: stored(value ?? '0') };
  const topUps: TopUp[] = [];
  if (row.top_ups) {
    for (const item of row.top_ups.split(',')) {
      const colon = item.indexOf(':');
      topUps.push({ at: new Date(Number(item.slice(0, colon))), amount: stored(item.slice(colon + 1)) });
    }
  }
  return {
    first,
    last,
    min: pick(row.min_at, row.min_value),
    max: pick(row.max_at, row.max_value),
    observations: Number(row.observations),
    readings: Number(row.readings),
    spend: stored(row.spend ?? '0'),
    topUps,
    marks:
      first.asOf.getTime() === last.asOf.getTime()
        ? [first.asOf.getTime()]
        : [first.asOf.getTime(), last.asOf.getTime()],
    grainMs,
  };
}

/**
 * Points for a chart from consecutive digests (hours, or groups of hours): each one's first, lowest,
 * highest and last observation in time order, so a spike inside an hour still shows.
 */
export function chartPoints(digests: readonly Extremes[]): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  for (const d of digests) {
    const seen = new Set<number>();
    for (const o of [d.first, d.min, d.max, d.last].sort((a, b) => a.asOf.getTime() - b.asOf.getTime())) {
      const t = o.asOf.getTime();
      if (seen.has(t)) continue;
      seen.add(t);
      out.push({ checkedAt: o.asOf, asOf: o.asOf, available: o.available });
    }
  }
  return out;
}

/** What a chart draws of a stretch of time. */
export type Extremes = Pick<Digest, 'first' | 'last' | 'min' | 'max'>;

/** The extremes of `digests` taken `size` at a time, for a chart that has fewer pixels than hours. */
export function coarsen(digests: readonly Extremes[], size: number): Extremes[] {
  if (size <= 1) return [...digests];
  const out: Extremes[] = [];
  for (let i = 0; i < digests.length; i += size) {
    const group = digests.slice(i, i + size);
    let min = group[0]!.min;
    let max = group[0]!.max;
    for (const d of group) {
      if (d.min.available.lt(min.available)) min = d.min;
      if (d.max.available.gt(max.available)) max = d.max;
    }
    out.push({ first: group[0]!.first, last: group.at(-1)!.last, min, max });
  }
  return out;
}
