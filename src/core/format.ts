import cronstrue from 'cronstrue';
import { type Amount, Big, type Currency, formatMoney } from './money.js';
import type { ProviderStatus, Summary } from './service.js';
import type { BalanceEstimate, BalanceReading } from './types.js';

/** `2026-01-29 09:00:00`: a moment in UTC to the second, floored (the balance-log files' timestamp). */
export function utcTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * `2026-11-27 20:59 UTC`: a moment in UTC, to the minute, floored, so the printed time is never after the
 * moment it describes (a failure at 20:59:30 is "since 20:59", never "since 21:00"). With `seconds`, a
 * moment that has them shows them: `2026-12-01 10:00:30 UTC` (a per-second schedule's slot).
 */
export function formatUtc(date: Date, options: { readonly seconds?: boolean } = {}): string {
  const stamp = utcTimestamp(date);
  const seconds = options.seconds === true && !stamp.endsWith(':00') ? stamp.slice(16) : '';
  return `${stamp.slice(0, 16)}${seconds} UTC`;
}

/**
 * Where a moment is shown: `discord` (Discord's timestamp markup, which each reader sees in their own time
 * zone) or `text` (UTC words, for the CLI, logs, webhooks and e-mail).
 */
export type TimeTarget = 'discord' | 'text';

/** `at`: the moment (`<t:…:f>`); `ago`: relative (`<t:…:R>`, "in 3 hours"); `at-ago`: both. Text is always UTC. */
export type TimeStyle = 'at' | 'ago' | 'at-ago';

/**
 * The one formatter of absolute moments for people: Discord's markup (`<t:1764321600:f>`, floored to the
 * second, so never after the moment) for `discord`, {@link formatUtc} for `text`.
 */
export function formatTime(
  date: Date,
  target: TimeTarget,
  style: TimeStyle = 'at',
  options: { readonly seconds?: boolean } = {},
): string {
  if (target !== 'discord') return formatUtc(date, options);
  const unix = Math.floor(date.getTime() / 1000);
  if (style === 'ago') return `<t:${unix}:R>`;
  if (style === 'at-ago') return `<t:${unix}:f> (<t:${unix}:R>)`;
  return `<t:${unix}:f>`;
}

/** `09:05`: the UTC time of day, to the minute (a chart's hourly ticks). */
export function utcClock(date: Date): string {
  return utcTimestamp(date).slice(11, 16);
}

/** `01-29`: the UTC month and day (a chart's daily ticks). */
export function utcMonthDay(date: Date): string {
  return utcTimestamp(date).slice(5, 10);
}

/** `45s`, `12m`, `7h 12m`, `3d 2h`: the two largest units, for ages and durations. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}

/**
 * Plain words for a cron pattern in UTC, for the summary's footer: cronstrue's description (24-hour times),
 * `Runs … (UTC)`. The seed's hourly schedule keeps the seed's own words; a pattern cronstrue can't read is
 * quoted.
 */
export function describeSchedule(cron: string): string {
  const pattern = cron.trim().split(/\s+/).join(' ');
  if (pattern === '0 * * * *' || pattern === '0 0 * * * *') return 'Runs every hour on the hour (UTC)';
  try {
    const words = cronstrue.toString(pattern, {
      use24HourTimeFormat: true,
      throwExceptionOnParseError: true,
    });
    return `Runs ${words.charAt(0).toLowerCase()}${words.slice(1)} (UTC)`;
  } catch {
    return `Runs on schedule \`${cron}\` (UTC)`;
  }
}

/**
 * What an estimate rests on: `estimated: $150.00 on 2026-11-21 12:00 UTC, − $98.00 spent since`, the anchor's
 * moment for `target` (Discord's `<t:…:f>`, or UTC text).
 */
export function estimateNote(e: BalanceEstimate, currency: Currency, target: TimeTarget = 'text'): string {
  return `estimated: ${formatMoney(e.anchor, currency)} on ${formatTime(e.anchorAt, target)}, − ${formatMoney(e.spentSince, currency)} spent since`;
}

/** A reading's note as `target` shows it: an estimate's is written from its facts, with the time for `target`. */
export function readingNote(
  r: Pick<BalanceReading, 'note' | 'estimate' | 'currency'>,
  target: TimeTarget = 'text',
): string | undefined {
  return r.estimate ? estimateNote(r.estimate, r.currency, target) : r.note;
}

/** The provider's line of the summary, in the seed's shape; moments for `target`. */
export function providerLine(s: ProviderStatus, extra?: string, target: TimeTarget = 'text'): string {
  const threshold = `(threshold: ${formatMoney(s.threshold, s.result.currency)})`;
  const tail = extra ? ` · ${extra}` : '';
  if (!s.result.ok) return `❌ **${s.label}:** unavailable: ${s.result.reason} ${threshold}`;
  const emoji = s.state === 'low' ? '⚠️' : s.emoji;
  const r = s.result;
  // A provider whose balance has parts (Kimi's voucher and cash) says which figure the line shows.
  const hasParts = s.parts?.voucher !== undefined || s.parts?.cash !== undefined;
  const amount = `${readingFigure(r)}${hasParts ? ' available' : ''}`;
  const note = readingNote(r, target);
  const available = note ? `${amount} (${note})` : amount;
  return `${emoji} **${s.label}:** ${available} ${threshold}${tail}`;
}

/**
 * A reading's figure as every message shows it: `$52.00`, or `≈ $52.00` for an estimate (Claude with an Admin
 * key), never shown as if it were a measured balance.
 */
export function readingFigure(r: Pick<BalanceReading, 'available' | 'currency' | 'estimate'>): string {
  const money = formatMoney(r.available, r.currency);
  return r.estimate ? `≈ ${money}` : money;
}

/**
 * `estimate as of this check; its anchor (the table row) is 1d 22h old`: what an estimate's age is (issue 13).
 * The estimate itself is as of the check (the spend up to now), so its reading age says nothing; what can be old
 * is the measured balance it rests on.
 */
export function estimateAge(anchorAt: Date, now: Date): string {
  return `estimate as of this check; its anchor (the table row) is ${formatDuration(now.getTime() - anchorAt.getTime())} old`;
}

/**
 * `⏳ Claude reading is 7h 12m old (stale after 6h)` for a stale figure, `⏳ Claude reading has no updated_at
 * (age unknown; treated as stale)` for one of unknown age, else `null`.
 */
export function staleNote(s: ProviderStatus): string | null {
  if (!s.stale || !s.result.ok) return null;
  if (s.ageMs === null) return `⏳ ${s.label} reading has no updated_at (age unknown; treated as stale)`;
  const limit = s.staleAfterMs === null ? '' : ` (stale after ${formatDuration(s.staleAfterMs)})`;
  return `⏳ ${s.label} reading is ${formatDuration(s.ageMs)} old${limit}`;
}

/** The seed's alert line: `💳 ⚠️ Claude credits low!`. */
export function lowAlertLine(s: ProviderStatus): string {
  return `${s.emoji} ⚠️ ${s.label} credits low!`;
}

export interface FooterFacts {
  readonly schedule: string;
  readonly channelId: string;
}

function footerAlertRule(summary: Summary): string {
  const ts = summary.statuses.map((s) => formatMoney(s.threshold, s.result.currency));
  const same = ts.every((t) => t === ts[0]);
  if (ts.length === 1) return `Adds an alert if it is < ${ts[0]}`;
  if (!same) return 'Adds alerts when a balance is below its threshold';
  return `Adds alerts if ${ts.length === 2 ? 'either' : 'any'} < ${ts[0]}`;
}

/**
 * The hourly summary, in the seed's format: header, one line per provider with its threshold,
 * the `credits low!` lines for low balances, stale notes, and a footer that tells the truth about
 * the schedule and channel in force. `extras` adds a short clause per provider (the runway).
 */
export function formatSummary(
  summary: Summary,
  footer: FooterFacts | null,
  extras: Partial<Record<ProviderStatus['provider'], string>> = {},
  target: TimeTarget = 'text',
): string {
  const lines = ['📊 **API Balance Summary**', ''];
  for (const s of summary.statuses) {
    lines.push(providerLine(s, extras[s.provider], target));
    const note = staleNote(s);
    if (note) lines.push(note);
  }
  const alerts = summary.statuses.filter((s) => s.state === 'low').map(lowAlertLine);
  if (alerts.length > 0) lines.push('', ...alerts);
  if (footer) {
    lines.push('', footer.schedule, `Posts to <#${footer.channelId}>`, footerAlertRule(summary));
  }
  // The seed's two-provider summary stays as it was; from three accounts on, one total per currency closes it.
  if (summary.statuses.length >= TOTAL_FROM_ACCOUNTS) lines.push('', totalsLine(summary));
  return lines.join('\n');
}

/** How many accounts a summary lists before it ends with {@link totalsLine}. */
export const TOTAL_FROM_ACCOUNTS = 3;

/**
 * `Total: $123.45 · ¥88.00 across 7 accounts`: one sum per currency, never added across currencies, over the
 * accounts with a reading; failed ones are counted out loud (`across 7 of 10 accounts; 3 unavailable`).
 */
export function totalsLine(summary: Summary): string {
  const sums = new Map<Currency, Amount>();
  let read = 0;
  for (const s of summary.statuses) {
    if (!s.result.ok) continue;
    read++;
    const { currency, available } = s.result;
    sums.set(currency, (sums.get(currency) ?? new Big(0)).plus(available));
  }
  const total = summary.statuses.length;
  const plural = (n: number) => `${n} account${n === 1 ? '' : 's'}`;
  if (read === 0) return `Total: unknown; all ${plural(total)} unavailable`;
  const amounts = [...sums.entries()]
    .sort(([a], [b]) => (a === b ? 0 : a === 'USD' ? -1 : b === 'USD' ? 1 : a < b ? -1 : 1))
    .map(([currency, sum]) => formatMoney(sum, currency))
    .join(' · ');
  const across = read === total ? plural(total) : `${read} of ${plural(total)}; ${total - read} unavailable`;
  return `Total: ${amounts} across ${across}`;
}

/** `moonshot-balance.sh`'s output for Kimi: the check block, the low-balance block, or the error. */
export function formatKimiCheck(s: ProviderStatus): string {
  const r = s.result;
  if (!r.ok) return `Error: Moonshot balance check failed: ${r.reason}`;
  const m = (a: typeof r.available | undefined) => (a === undefined ? 'n/a' : formatMoney(a, r.currency));
  if (s.state === 'low') {
    return [
      '⚠️ **Moonshot API Balance Low!**',
      '',
      `💰 **Available:** ${m(r.available)}`,
      `🎁 **Voucher:** ${m(r.voucher)}`,
      `💵 **Cash:** ${m(r.cash)}`,
    ].join('\n');
  }
  return [
    '✅ Moonshot Balance Check',
    `💰 Available: ${m(r.available)}`,
    `🎁 Voucher: ${m(r.voucher)}`,
    `💵 Cash: ${m(r.cash)}`,
  ].join('\n');
}

/** The summary as plain JSON (amounts as exact decimal strings, times as ISO 8601). */
export function summaryToJson(summary: Summary, extras: Record<string, unknown> = {}): unknown {
  return {
    checkedAt: summary.checkedAt.toISOString(),
    anyLow: summary.anyLow,
    anyFailed: summary.anyFailed,
    providers: summary.statuses.map((s) => {
      const r = s.result;
      return {
        // The account (`kimi:cn`) and its provider (`kimi`); the default account's id is the provider's.
        id: s.provider,
        provider: s.provider.split(':')[0],
        label: s.label,
        state: s.state,
        currency: r.currency,
        threshold: s.threshold.toFixed(2),
        ...(r.ok
          ? {
              available: r.available.toFixed(),
              ...(r.voucher ? { voucher: r.voucher.toFixed() } : {}),
              ...(r.cash ? { cash: r.cash.toFixed() } : {}),
              ...(r.note ? { note: r.note } : {}),
              ...(r.details
                ? { details: Object.fromEntries(Object.entries(r.details).map(([k, v]) => [k, v.toFixed()])) }
                : {}),
              ...(r.estimate
                ? {
                    estimate: {
                      anchor: r.estimate.anchor.toFixed(),
                      anchorAt: r.estimate.anchorAt.toISOString(),
                      spentSince: r.estimate.spentSince.toFixed(),
                    },
                  }
                : {}),
              ...(r.budget
                ? {
                    budget: {
                      amount: r.budget.amount.toFixed(),
                      spent: r.budget.spent.toFixed(),
                      periodStart: r.budget.periodStart.toISOString(),
                      periodEnd: r.budget.periodEnd.toISOString(),
                    },
                  }
                : {}),
              asOf: r.asOf === null ? null : r.asOf.toISOString(),
              ageSeconds: s.ageMs === null ? null : Math.round(s.ageMs / 1000),
              stale: s.stale,
            }
          : { reason: r.reason }),
        latencyMs: Math.round(r.latencyMs),
        ...(extras[s.provider] === undefined ? {} : (extras[s.provider] as object)),
      };
    }),
  };
}

/** Discord's limit on a message's `content`, in UTF-16 code units (the stricter count, so always safe). */
export const DISCORD_CONTENT_LIMIT = 2000;
/** No line of a summary is ever this long; a longer one (an absurd amount) is cut so the rest still fits. */
export const MAX_LINE_LENGTH = 500;

/**
 * Cuts `text` to at most `max` UTF-16 code units, ending with `…` when it had to cut, and never in the
 * middle of a surrogate pair (an emoji).
 */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * `text` on one line: control characters and runs of whitespace become one space, the ends are trimmed, and
 * more than `max` characters are cut with `…` ({@link capText}). For reasons, log lines and quoted outside text.
 */
export function oneLine(text: string, max = Number.POSITIVE_INFINITY): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must go
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return capText(flat, max);
}

/**
 * Splits a message into parts of at most `limit` characters at line boundaries, after capping any single
 * line at `maxLine` (with `…`). Text that fits comes back unchanged as one part. Empty lines at a cut are
 * dropped, since Discord trims them anyway.
 */
export function splitMessage(
  text: string,
  limit = DISCORD_CONTENT_LIMIT,
  maxLine = Math.min(MAX_LINE_LENGTH, limit),
): string[] {
  if (text.length <= limit && text.split('\n').every((l) => l.length <= maxLine)) return [text];
  const parts: string[] = [];
  let current: string[] = [];
  let size = 0;
  const flush = (): void => {
    while (current.length > 0 && current.at(-1)!.trim() === '') current.pop();
    if (current.length > 0) parts.push(current.join('\n'));
    current = [];
    size = 0;
  };
  for (const raw of text.split('\n')) {
    const line = capText(raw, maxLine);
    const added = current.length === 0 ? line.length : size + 1 + line.length;
    if (added > limit) flush();
    if (current.length === 0 && line.trim() === '') continue;
    current.push(line);
    size = current.length === 1 ? line.length : size + 1 + line.length;
  }
  flush();
  return parts.length > 0 ? parts : [capText(text, limit)];
}
