import type { TopUp } from './forecast.js';
import { formatTime } from './format.js';
import { type Amount, Big, type Currency, formatMoney } from './money.js';
import type { ProviderId } from './types.js';

/** `daily`: the last 24 h beside the last 7 days; `weekly`: the last 7 days beside the 7 before. */
export type DigestKind = 'daily' | 'weekly';

/** One account as the digest shows it. */
export interface DigestAccount {
  readonly provider: ProviderId;
  readonly label: string;
  readonly emoji: string;
  readonly currency: Currency;
  /** The latest reading's figure; `null` when the check failed. */
  readonly available: Amount | null;
  /** The figure is an estimate (shown with `≈`). */
  readonly estimate?: boolean;
  readonly threshold: Amount;
  /**
   * Spend by the one rule (`digest.ts`: falls between observations, never a top-up) over the recent period
   * (daily: the last 24 h; weekly: the last 7 days) and the period beside it (daily: the last 7 days; weekly:
   * the 7 days before). `null`: no observation in that period.
   */
  readonly recent: Amount | null;
  readonly other: Amount | null;
  /** Top-ups in the recent period, oldest first. */
  readonly topUps: readonly TopUp[];
}

export interface DigestInput {
  readonly kind: DigestKind;
  /** The digest's slot: its header's time. */
  readonly at: Date;
  readonly accounts: readonly DigestAccount[];
  /** The footer's words for the schedule (`Runs at 09:00 (UTC)`), or none. */
  readonly schedule?: string;
}

/** How many accounts the "nearest their threshold" part lists. */
export const NEAREST_COUNT = 3;
/** Top-ups listed per account; older ones are counted. */
const TOP_UPS_SHOWN = 3;

const PERIODS: Record<
  DigestKind,
  { readonly title: string; readonly recent: string; readonly other: string }
> = {
  daily: { title: 'Daily spend digest', recent: 'last 24 h', other: 'last 7 days' },
  weekly: { title: 'Weekly spend digest', recent: 'last 7 days', other: 'the 7 days before' },
};

/**
 * The accounts nearest their threshold, nearest first: those with a reading and a threshold above 0, ranked by
 * balance ÷ threshold (so dollars and yuan compare), accounts below it first; ties by label. At most `count`.
 */
export function nearestThreshold(accounts: readonly DigestAccount[], count = NEAREST_COUNT): DigestAccount[] {
  const ranked = accounts.flatMap((a) =>
    a.available !== null && a.threshold.gt(0) ? [{ a, ratio: a.available.div(a.threshold) }] : [],
  );
  // Labels are unique (one per account), so two never compare equal.
  ranked.sort((x, y) => x.ratio.cmp(y.ratio) || (x.a.label < y.a.label ? -1 : 1));
  return ranked.slice(0, count).map((r) => r.a);
}

/** `(+40 %)`, `(−12 %)`, `(±0 %)`: the recent period against the one before; nothing when that had no spend. */
function change(recent: Amount, before: Amount | null): string {
  if (before === null || before.lte(0)) return '';
  const pct = Math.round(recent.minus(before).div(before).times(100).toNumber());
  if (pct > 0) return ` (+${pct} %)`;
  if (pct < 0) return ` (−${-pct} %)`;
  return ' (±0 %)';
}

function spendLine(a: DigestAccount, kind: DigestKind): string {
  const head = `${a.emoji} **${a.label}:**`;
  const failed = a.available === null ? ' · ❌ unavailable now' : '';
  if (a.recent === null && a.other === null) return `${head} no history yet${failed}`;
  const money = (v: Amount | null) => (v === null ? 'no readings' : formatMoney(v, a.currency));
  const trend = kind === 'weekly' && a.recent !== null ? change(a.recent, a.other) : '';
  return `${head} ${money(a.recent)} · ${money(a.other)}${trend}${failed}`;
}

/** One total per currency over the accounts with figures, when the digest lists two accounts or more. */
function totalLines(accounts: readonly DigestAccount[]): string[] {
  if (accounts.length < 2) return [];
  const sums = new Map<Currency, { recent: Amount; other: Amount }>();
  for (const a of accounts) {
    if (a.recent === null && a.other === null) continue;
    const sum = sums.get(a.currency) ?? { recent: new Big(0), other: new Big(0) };
    sums.set(a.currency, {
      recent: sum.recent.plus(a.recent ?? 0),
      other: sum.other.plus(a.other ?? 0),
    });
  }
  // Dollars first; the one other currency (yuan) after them.
  return [...sums.entries()]
    .sort(([x]) => (x === 'USD' ? -1 : 1))
    .map(
      ([currency, s]) =>
        `Total (${currency}): ${formatMoney(s.recent, currency)} · ${formatMoney(s.other, currency)}`,
    );
}

function topUpLines(accounts: readonly DigestAccount[]): string[] {
  const lines: string[] = [];
  for (const a of accounts) {
    if (a.topUps.length === 0) continue;
    const shown = a.topUps.slice(-TOP_UPS_SHOWN);
    const list = shown
      .map((t) => `+${formatMoney(t.amount, a.currency)} at ${formatTime(t.at, 'discord')}`)
      .join(', ');
    const more = a.topUps.length > shown.length ? ` (and ${a.topUps.length - shown.length} earlier)` : '';
    lines.push(`💰 ${a.emoji} ${a.label} topped up ${list}${more}`);
  }
  return lines;
}

function nearestLine(a: DigestAccount): string {
  const available = a.available!;
  const figure = `${a.estimate ? '≈ ' : ''}${formatMoney(available, a.currency)}`;
  const gap = formatMoney(available.minus(a.threshold).abs(), a.currency);
  const threshold = formatMoney(a.threshold, a.currency);
  const where = available.lt(a.threshold)
    ? `⚠️ ${gap} below its ${threshold} threshold`
    : `${gap} above its ${threshold} threshold`;
  return `${a.emoji} **${a.label}:** ${figure} · ${where}`;
}

/**
 * The digest's text: a header with its time (Discord's timestamp markup), each account's spend over the two
 * periods (with one total per currency from two accounts on), the recent period's top-ups, the accounts nearest
 * their threshold, and the schedule. Callers split it within Discord's limits (`splitMessage`); no line comes
 * near 500 characters but a top-up line of many accounts, which is capped at three top-ups.
 */
export function formatDigest(input: DigestInput): string {
  const p = PERIODS[input.kind];
  const at = formatTime(input.at, 'discord');
  const lines = [
    `📰 **${p.title}** · ${input.kind === 'weekly' ? `week to ${at}` : at}`,
    '',
    `💸 **Spend** · ${p.recent} · ${p.other}`,
  ];
  if (input.accounts.length === 0) lines.push('no accounts');
  for (const a of input.accounts) lines.push(spendLine(a, input.kind));
  lines.push(...totalLines(input.accounts));

  lines.push('', `💰 **Top-ups** · ${p.recent}`);
  const topUps = topUpLines(input.accounts);
  lines.push(...(topUps.length > 0 ? topUps : ['none']));

  const nearest = nearestThreshold(input.accounts);
  lines.push('', '🎯 **Nearest their threshold**');
  lines.push(
    ...(nearest.length > 0 ? nearest.map(nearestLine) : ['no account has a reading and a threshold']),
  );

  if (input.schedule) lines.push('', input.schedule);
  return lines.join('\n');
}
