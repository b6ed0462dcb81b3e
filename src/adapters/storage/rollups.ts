import {
  type Digest,
  digestObservations,
  type FigureKind,
  isBudgetReset,
  joinDigests,
} from '../../core/digest.js';
import {
  distinctObservations,
  type HistoryPoint,
  type Observation,
  type TopUp,
} from '../../core/forecast.js';
import { type Amount, amountToText, Big, parseAmount } from '../../core/money.js';

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

/** The columns of a roll-up row that its digest is made of, as the store returns them. */
export interface RollupDigestRow {
  readonly readings: number | string;
  readonly observations: number | string;
  readonly first_at: number | string | null;
  readonly first_value: string | null;
  readonly last_at: number | string | null;
  readonly last_value: string | null;
  readonly min_at: number | string | null;
  readonly min_value: string | null;
  readonly max_at: number | string | null;
  readonly max_value: string | null;
  readonly spend: string | null;
  readonly top_ups: string | null;
}

/** Decimal places above which amounts are not summed as scaled integers (10^12 keeps $9,000 exact). */
const MAX_SCALE = 12;

/** Digits after the point of stored decimal text (no exponent: `amountToText` writes none). */
function decimals(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

const POW10 = Array.from({ length: MAX_SCALE + 1 }, (_, i) => 10 ** i);
/** Integers up to this size come out of `scaled` exactly (the double's error stays under a quarter). */
const EXACT_UNITS = 2 ** 50;

/**
 * Stored decimal text (at most `scale` decimals) times 10^scale, as an integer; NaN when too large to be sure
 * of. The double nearest the text, times an exact power of ten, is within N·2^-52 of the integer N: rounding
 * gives N exactly while N ≤ 2^50.
 */
function scaled(text: string, scale: number): number {
  const n = Math.round(Number.parseFloat(text) * POW10[scale]!);
  return Math.abs(n) <= EXACT_UNITS ? n : Number.NaN;
}

/** An integer count of 10^-scale units as exact decimal text. */
function unscaled(units: number, scale: number): string {
  const sign = units < 0 ? '-' : '';
  const digits = String(Math.abs(units)).padStart(scale + 1, '0');
  return scale === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/**
 * `joinDigests(rows.map((r) => digestOfRow(r, grainMs)))` (consecutive rows, oldest first), computed without
 * building a digest per row: amounts are compared and summed as integers of 10^-scale units (the finest scale
 * among the rows), and only the results become `Big`. This is the forecast's hot loop, run over every hour of
 * every account each summary. Falls back to the exact decimal join when an amount has more than
 * {@link MAX_SCALE} decimals or does not fit a safe integer.
 */
export function joinRollupRows(
  rows: readonly RollupDigestRow[],
  grainMs: number,
  kind: FigureKind = 'balance',
): Digest | null {
  let scale = 0;
  for (const r of rows) {
    if (r.first_value !== null) scale = Math.max(scale, decimals(r.first_value));
    if (r.last_value !== null) scale = Math.max(scale, decimals(r.last_value));
    if (r.min_value !== null) scale = Math.max(scale, decimals(r.min_value));
    if (r.max_value !== null) scale = Math.max(scale, decimals(r.max_value));
    if (r.spend !== null) scale = Math.max(scale, decimals(r.spend));
  }
  const exact = () =>
    joinDigests(
      rows.map((r) => digestOfRow(normalized(r), grainMs)),
      kind,
    );
  if (scale > MAX_SCALE) return exact();

  let started = false;
  let firstAt = 0;
  let firstText = '';
  let lastAt = 0;
  let lastText = '';
  let last = 0;
  let minAt = 0;
  let minText = '';
  let min = 0;
  let maxAt = 0;
  let maxText = '';
  let max = 0;
  let spend = 0;
  let observations = 0;
  let readings = 0;
  const marks: number[] = [];
  const topUps: TopUp[] = [];
  for (const r of rows) {
    if (r.first_at === null || r.first_value === null || r.last_at === null || r.last_value === null)
      continue;
    const fAt = Number(r.first_at);
    const lAt = Number(r.last_at);
    const f = scaled(r.first_value, scale);
    const l = scaled(r.last_value, scale);
    const minValue = r.min_value ?? '0';
    const maxValue = r.max_value ?? '0';
    const lo = scaled(minValue, scale);
    const hi = scaled(maxValue, scale);
    const s = scaled(r.spend ?? '0', scale);
    if (Number.isNaN(f + l + lo + hi + s)) return exact();
    if (!started) {
      started = true;
      firstAt = fAt;
      firstText = r.first_value;
      minAt = Number(r.min_at);
      minText = minValue;
      min = lo;
      maxAt = Number(r.max_at);
      maxText = maxValue;
      max = hi;
      spend = s;
    } else {
      spend += s;
      // The rule of `digest.ts`: a fall is spend, a rise a top-up, a budget's reset neither.
      const change = isBudgetReset(kind, lastAt, fAt) ? 0 : f - last;
      if (change < 0) spend -= change;
      else if (change > 0) topUps.push({ at: new Date(fAt), amount: new Big(unscaled(change, scale)) });
      if (lo < min) {
        min = lo;
        minAt = Number(r.min_at);
        minText = minValue;
      }
      if (hi > max) {
        max = hi;
        maxAt = Number(r.max_at);
        maxText = maxValue;
      }
    }
    if (r.top_ups) {
      for (const item of r.top_ups.split(',')) {
        const colon = item.indexOf(':');
        topUps.push({ at: new Date(Number(item.slice(0, colon))), amount: stored(item.slice(colon + 1)) });
      }
    }
    last = l;
    lastAt = lAt;
    lastText = r.last_value;
    observations += Number(r.observations);
    readings += Number(r.readings);
    marks.push(fAt);
    if (lAt !== fAt) marks.push(lAt);
  }
  if (!started) return null;
  // Spend only grows, so a safe total means every partial sum was exact too.
  if (!Number.isSafeInteger(spend)) return exact();
  const first: Observation = { asOf: new Date(firstAt), available: stored(firstText) };
  const lastObs: Observation =
    lastAt === firstAt && lastText === firstText
      ? first
      : { asOf: new Date(lastAt), available: stored(lastText) };
  const observation = (at: number, text: string): Observation =>
    at === firstAt && text === firstText
      ? first
      : at === lastAt && text === lastText
        ? lastObs
        : { asOf: new Date(at), available: stored(text) };
  return {
    first,
    last: lastObs,
    min: observation(minAt, minText),
    max: observation(maxAt, maxText),
    observations,
    readings,
    spend: new Big(unscaled(spend, scale)),
    topUps,
    marks,
    grainMs: rows.length > 0 ? grainMs : 0,
  };
}

/** A row as `digestOfRow` takes it (times as numbers). */
function normalized(r: RollupDigestRow): Parameters<typeof digestOfRow>[0] {
  const at = (v: number | string | null) => (v === null ? null : Number(v));
  return {
    ...r,
    first_at: at(r.first_at),
    last_at: at(r.last_at),
    min_at: at(r.min_at),
    max_at: at(r.max_at),
  };
}

/**
 * `chartPoints(coarsen(digests, size))` for the digests of `rows` (consecutive, oldest first; rows without an
 * observation left out), with `size` chosen so that at most `buckets` groups are drawn — compared as scaled
 * integers, so only the points drawn become `Big` (see {@link joinRollupRows}).
 */
export function rollupChartPoints(rows: readonly RollupDigestRow[], buckets: number): HistoryPoint[] {
  const held = rows.filter(
    (r) => r.first_at !== null && r.first_value !== null && r.last_at !== null && r.last_value !== null,
  );
  const size = Math.max(1, Math.ceil(held.length / buckets));
  let scale = 0;
  for (const r of held) {
    scale = Math.max(scale, decimals(r.min_value ?? '0'), decimals(r.max_value ?? '0'));
  }
  const exact = () =>
    chartPoints(
      coarsen(
        held.map((r) => digestOfRow(normalized(r), HOUR_MS)!),
        size,
      ),
    );
  if (scale > MAX_SCALE) return exact();
  const out: HistoryPoint[] = [];
  for (let i = 0; i < held.length; i += size) {
    const group = held.slice(i, i + size);
    const head = group[0]!;
    let min = head;
    let minUnits = scaled(head.min_value ?? '0', scale);
    let max = head;
    let maxUnits = scaled(head.max_value ?? '0', scale);
    for (const r of group) {
      const lo = scaled(r.min_value ?? '0', scale);
      const hi = scaled(r.max_value ?? '0', scale);
      if (Number.isNaN(lo + hi + minUnits + maxUnits)) return exact();
      if (lo < minUnits) {
        min = r;
        minUnits = lo;
      }
      if (hi > maxUnits) {
        max = r;
        maxUnits = hi;
      }
    }
    const tail = group.at(-1)!;
    const marks: [number, string][] = [
      [Number(head.first_at), head.first_value!],
      [Number(min.min_at), min.min_value ?? '0'],
      [Number(max.max_at), max.max_value ?? '0'],
      [Number(tail.last_at), tail.last_value!],
    ];
    marks.sort((a, b) => a[0] - b[0]);
    let previous = Number.NaN;
    for (const [at, value] of marks) {
      if (at === previous) continue;
      previous = at;
      const asOf = new Date(at);
      out.push({ checkedAt: asOf, asOf, available: stored(value) });
    }
  }
  return out;
}
