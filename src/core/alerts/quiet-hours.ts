import * as z from 'zod/mini';
import { accountDisplay } from '../accounts.js';
import { DISCORD_CONTENT_LIMIT, formatTime } from '../format.js';
import type { ProviderId } from '../types.js';
import { alertButtonRows } from './buttons.js';
import { ALERT_KINDS, type AlertKind, type AlertState } from './engine.js';

/**
 * Quiet hours: a daily window, in an IANA time zone, during which non-critical alerts are held and then
 * delivered as one message. `from`/`to` are the local clock (`HH:MM`, 24 h); `from > to` crosses midnight.
 */
export interface QuietHours {
  readonly from: string;
  readonly to: string;
  /** The canonical IANA name, as `Intl` spells it (`Europe/Berlin`). */
  readonly timeZone: string;
  readonly setBy: string;
  readonly setAt: string;
}

/** One alert held back by quiet hours, rendered when it was raised (the facts behind it are not kept). */
export interface HeldAlert {
  /** The alert's claim (`provider/origin/kind`): unique, so one alert is held once. */
  readonly id: string;
  readonly provider: ProviderId;
  readonly kind: AlertKind;
  readonly episode: number;
  /** When it was raised (ISO 8601). */
  readonly at: string;
  /** The window it fell in ({@link quietWindow}); delivered once the clock is outside that window. */
  readonly window: string;
  /** The alert as Discord shows it (`<t:…>` markup) and as plain text (UTC), for the webhook and e-mail. */
  readonly discord: string;
  readonly text: string;
}

const CLOCK = /^([01]?\d|2[0-3]):([0-5]\d)$/;
/** Letters, digits and `_ + -` in up to three `/`-separated parts: every IANA name, nothing else. */
const ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]{0,29}(\/[A-Za-z0-9][A-Za-z0-9_+-]{0,29}){0,2}$/;

export const quietHoursSchema = z.object({
  from: z.string().check(z.regex(CLOCK)),
  to: z.string().check(z.regex(CLOCK)),
  timeZone: z.string().check(z.regex(ZONE_SHAPE)),
  setBy: z.string(),
  setAt: z.iso.datetime(),
});

export const heldAlertSchema = z.object({
  id: z.string(),
  provider: z.string().check(z.maxLength(100)),
  kind: z.enum(ALERT_KINDS),
  episode: z.int().check(z.minimum(0)),
  at: z.iso.datetime(),
  window: z.string(),
  discord: z.string(),
  text: z.string(),
});

/** `HH:MM` (or `H:MM`) as minutes after midnight, or `null`. */
export function parseClock(text: string): number | null {
  const m = CLOCK.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

const pad = (n: number) => String(n).padStart(2, '0');
const clockText = (minutes: number) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * `text` as a canonical IANA time zone name (`europe/berlin` → `Europe/Berlin`), or `null` when it is not
 * one. Only the shape of a zone name is ever handed to `Intl` (no offsets, paths or control characters).
 */
export function canonicalTimeZone(text: string): string | null {
  const name = text.trim();
  if (!ZONE_SHAPE.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * Validated quiet hours, or why not (a message for the person who typed them; their text is quoted cut
 * short). The window must not be empty: `from` and `to` differ.
 */
export function makeQuietHours(
  input: { readonly from: string; readonly to: string; readonly timeZone: string },
  by: string,
  at: Date,
): QuietHours | string {
  const quote = (s: string) => `"${s.replace(/[`"\\]/g, '').slice(0, 40)}"`;
  const from = parseClock(input.from);
  if (from === null) return `${quote(input.from)} is not a time of day; write it as HH:MM, e.g. 22:00.`;
  const to = parseClock(input.to);
  if (to === null) return `${quote(input.to)} is not a time of day; write it as HH:MM, e.g. 07:00.`;
  if (from === to) return 'The window is empty: "from" and "to" must differ.';
  const timeZone = canonicalTimeZone(input.timeZone);
  if (timeZone === null)
    return `${quote(input.timeZone)} is not an IANA time zone; write it like Europe/Berlin, America/New_York or UTC.`;
  return { from: clockText(from), to: clockText(to), timeZone, setBy: by, setAt: at.toISOString() };
}

/** The local date (`YYYY-MM-DD`) and minutes after midnight of `at` in `timeZone`. */
function localClock(at: Date, timeZone: string): { readonly date: string; readonly minutes: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** The calendar day after `date` (`YYYY-MM-DD`). */
function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/**
 * The quiet window `at` falls in, named by the local day it ends and the settings
 * (`2030-02-02 22:00-07:00 Europe/Berlin`), or `null` outside the window. A window crossing midnight belongs
 * to the day it ends on, so 23:30 and 01:00 of the same night name the same window.
 */
export function quietWindow(q: Pick<QuietHours, 'from' | 'to' | 'timeZone'>, at: Date): string | null {
  const from = parseClock(q.from);
  const to = parseClock(q.to);
  if (from === null || to === null || from === to) return null;
  const { date, minutes } = localClock(at, q.timeZone);
  let ends: string;
  if (from < to) {
    if (minutes < from || minutes >= to) return null;
    ends = date;
  } else {
    if (minutes < from && minutes >= to) return null;
    ends = minutes >= from ? nextDay(date) : date;
  }
  return `${ends} ${q.from}-${q.to} ${q.timeZone}`;
}

/** `22:00–07:00 Europe/Berlin`. */
export function describeQuietHours(q: Pick<QuietHours, 'from' | 'to' | 'timeZone'>): string {
  return `${q.from}–${q.to} ${q.timeZone}`;
}

/** The one message that delivers the held alerts, for Discord and as text (webhook, e-mail). */
export interface HeldMessage {
  readonly discord: string;
  readonly text: string;
  readonly subject: string;
  /** Buttons for each account whose held episode is still open (at most 5 rows, Discord's limit). */
  readonly components: unknown[];
  /** How many held alerts the Discord text left out to stay within Discord's limit. */
  readonly omitted: number;
}

/** Kinds whose episode may still be open when the window ends (recoveries and top-ups have none). */
const EPISODIC: ReadonlySet<AlertKind> = new Set([
  'low',
  'critical',
  'reminder',
  'failing',
  'runway',
  'stale',
]);

/**
 * The held alerts (oldest first) as one message. An alert whose episode ended before the window closed
 * (the account recovered, or a newer episode began) is still listed, so the night's story is told once,
 * but marked as over and without buttons; accounts with an open episode get one row of buttons each.
 */
export function heldMessage(
  held: readonly HeldAlert[],
  states: ReadonlyMap<ProviderId, AlertState | null>,
  quiet: Pick<QuietHours, 'from' | 'to' | 'timeZone'> | null,
): HeldMessage {
  const sorted = [...held].sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
  const open = (h: HeldAlert) => {
    const s = states.get(h.provider);
    return s != null && s.episodeKind !== null && s.episode === h.episode;
  };
  const over = (h: HeldAlert) => EPISODIC.has(h.kind) && !open(h);
  const n = sorted.length;
  const what = `${n} alert${n === 1 ? '' : 's'} held during quiet hours`;
  const window = quiet ? ` (${describeQuietHours(quiet)})` : '';
  const discordHead = `🔕 **${what}**${window}, oldest first:`;
  const lines = sorted.map(
    (h) =>
      `• ${formatTime(new Date(h.at), 'discord')} ${h.discord}${over(h) ? ' · _over before the window ended_' : ''}`,
  );
  // Within Discord's limit: whole lines, then how many were left out.
  const kept: string[] = [discordHead];
  let length = discordHead.length;
  let omitted = 0;
  for (const [i, line] of lines.entries()) {
    const tail = i === lines.length - 1 ? 0 : 60;
    if (omitted === 0 && length + 1 + line.length + tail <= DISCORD_CONTENT_LIMIT) {
      kept.push(line);
      length += 1 + line.length;
    } else omitted += 1;
  }
  if (omitted > 0) kept.push(`… and ${omitted} more (see /alerts status)`);
  const text = [
    `${what}${window}, oldest first:`,
    ...sorted.map(
      (h) =>
        `- ${formatTime(new Date(h.at), 'text')} ${h.text}${over(h) ? ' (over before the window ended)' : ''}`,
    ),
  ].join('\n');
  // One row of buttons per account whose episode is still open, in order of first appearance; Discord takes 5.
  const providers = [...new Set(sorted.filter(open).map((h) => h.provider))];
  const rows = providers.slice(0, 5).flatMap((p) => {
    const s = states.get(p)!;
    return alertButtonRows(
      p,
      s.episode,
      { acknowledged: s.acknowledgedAt !== null, snoozed: s.snoozedUntil !== null },
      providers.length > 1 ? accountDisplay(p).label : undefined,
    );
  });
  return {
    // Within the limit already: lines are kept only while they fit.
    discord: kept.join('\n'),
    text,
    subject: `[creditwatch] ${what}`,
    components: rows,
    omitted,
  };
}
