import type { Observation, TopUp } from './forecast.js';
import { type Amount, Big } from './money.js';

/**
 * Everything the statistics and the forecast need from a run of distinct observations (ordered by
 * `asOf`), in a form that can be joined: the digest of a run equals the join of the digests of its
 * consecutive pieces. That is what lets an hourly roll-up stand in for the raw readings without
 * changing any figure: spend inside each piece is summed, and the fall (or rise) across each join is
 * computed from the left piece's `last` and the right piece's `first`.
 */
/**
 * The one top-up rule: a rise between two consecutive observations is a top-up (never spend). The digests
 * below, hence the forecast and the history, and the alert engine's top-up notices all use it.
 */
export function isTopUp(change: Amount): boolean {
  return change.gt(0);
}

/**
 * What an account's figure is, for the rule above: a `balance` carries over from one observation to the next; a
 * `monthly-budget` (the `openai` and `anthropic` accounts: what is left of a budget this UTC month) starts again
 * at 00:00 UTC on each month's 1st.
 */
export type FigureKind = 'balance' | 'monthly-budget';

/** The UTC calendar month holding `ms`: `2026-12`. */
const utcMonthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

/**
 * True when the change between two consecutive observations (times in epoch ms) is a monthly budget resetting:
 * they lie in different UTC months. That change is neither a top-up nor spend (the two figures are of different
 * months' budgets); every digest and join below skips it. Always false for a balance.
 */
export function isBudgetReset(kind: FigureKind, beforeMs: number, afterMs: number): boolean {
  return kind !== 'balance' && utcMonthOf(beforeMs) !== utcMonthOf(afterMs);
}

/** The top-up between two consecutive balances, or `null` when the balance did not rise. */
export function topUpBetween(before: Amount, after: Amount): Amount | null {
  const change = after.minus(before);
  return isTopUp(change) ? change : null;
}

export interface Digest {
  readonly first: Observation;
  readonly last: Observation;
  /** The lowest value, dated at the first time it was reached. */
  readonly min: Observation;
  /** The highest value, dated at the first time it was reached. */
  readonly max: Observation;
  /** Distinct observations (by `asOf`). */
  readonly observations: number;
  /** Successful readings behind them, repeats of the same `asOf` included. */
  readonly readings: number;
  /** Sum of the falls between consecutive observations. */
  readonly spend: Amount;
  /** Every rise between consecutive observations, dated at the later one, oldest first. */
  readonly topUps: readonly TopUp[];
  /**
   * Times (epoch ms, ascending) known to hold an observation, for the forecast's coverage: every one for raw
   * readings, the first and last of each bucket for roll-ups.
   */
  readonly marks: readonly number[];
  /** The longest bucket joined in (0 when every observation is marked): coverage is exact for parts this long. */
  readonly grainMs: number;
}

/**
 * The digest of distinct observations already sorted by `asOf`; null when there are none. `kind` decides whether
 * a change across a month's 1st is a budget reset (see {@link isBudgetReset}).
 */
export function digestObservations(
  sorted: readonly Observation[],
  readings: number,
  kind: FigureKind = 'balance',
): Digest | null {
  const first = sorted[0];
  if (!first) return null;
  let min = first;
  let max = first;
  let spend = new Big(0);
  const topUps: TopUp[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!;
    const after = sorted[i]!;
    if (after.available.lt(min.available)) min = after;
    if (after.available.gt(max.available)) max = after;
    if (isBudgetReset(kind, before.asOf.getTime(), after.asOf.getTime())) continue;
    const change = after.available.minus(before.available);
    if (change.lt(0)) spend = spend.minus(change);
    else if (isTopUp(change)) topUps.push({ at: after.asOf, amount: change });
  }
  const marks = sorted.map((o) => o.asOf.getTime());
  return {
    first,
    last: sorted.at(-1)!,
    min,
    max,
    observations: sorted.length,
    readings,
    spend,
    topUps,
    marks,
    grainMs: 0,
  };
}

/**
 * Joins digests of consecutive, non-overlapping runs (in time order; nulls are empty runs). The
 * movement between one run's last observation and the next run's first counts like any other (a budget's reset
 * not at all, as in {@link digestObservations}).
 */
export function joinDigests(parts: readonly (Digest | null)[], kind: FigureKind = 'balance'): Digest | null {
  const present = parts.filter((part) => part !== null);
  let acc: Digest | undefined = present[0];
  if (acc === undefined) return null;
  // One list grown in place: joining thousands of hourly pieces must not copy it each time.
  const topUps = [...acc.topUps];
  const marks = [...acc.marks];
  for (let i = 1; i < present.length; i++) {
    const part = present[i]!;
    for (const m of part.marks) marks.push(m);
    let spend: Amount = acc.spend.plus(part.spend);
    if (!isBudgetReset(kind, acc.last.asOf.getTime(), part.first.asOf.getTime())) {
      const change = part.first.available.minus(acc.last.available);
      if (change.lt(0)) spend = spend.minus(change);
      else if (isTopUp(change)) topUps.push({ at: part.first.asOf, amount: change });
    }
    for (const t of part.topUps) topUps.push(t);
    acc = {
      first: acc.first,
      last: part.last,
      min: part.min.available.lt(acc.min.available) ? part.min : acc.min,
      max: part.max.available.gt(acc.max.available) ? part.max : acc.max,
      observations: acc.observations + part.observations,
      readings: acc.readings + part.readings,
      spend,
      topUps,
      marks,
      grainMs: Math.max(acc.grainMs, part.grainMs),
    };
  }
  return acc;
}
