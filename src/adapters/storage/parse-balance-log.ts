import type { Amount } from '../../core/money.js';
import { parseAmount } from '../../core/money.js';
import type { ProviderId } from '../../core/types.js';

/**
 * The line formats that carry a balance (README "Balance-log files" lists them):
 * - `claude`: `[2026-01-29 09:00:00] Claude: $8.07` (combined-balance-check.sh, and creditwatch)
 * - `moonshot`: `[2026-01-29 09:00:00] Moonshot: $12.34` (combined-balance-check.sh)
 * - `fields`: `2026-01-29 09:00:00 | Available: $12.34 | Voucher: $3.45 | Cash: $8.89`
 *   (check-moonshot-balance.sh, and creditwatch)
 */
export type ReadingFormat = 'claude' | 'moonshot' | 'fields';

/** How each format is shown in import-logs' report. */
export const READING_FORMAT_EXAMPLES: Readonly<Record<ReadingFormat, string>> = {
  claude: '[…] Claude: $X',
  moonshot: '[…] Moonshot: $X',
  fields: '… | Available: $X | Voucher: $Y | Cash: $Z',
};

/** A balance found in a seed log line. `at` is the line's timestamp (UTC), i.e. when the balance was true. */
export interface ParsedReading {
  readonly kind: 'reading';
  readonly format: ReadingFormat;
  readonly provider: ProviderId;
  readonly at: Date;
  readonly available: Amount;
  readonly voucher?: Amount;
  readonly cash?: Amount;
}

/**
 * One classified log line. `failure` covers our own `ERROR` lines and checks that logged no value
 * (`Claude: $`, `$null`, `Available: $null`): neither is a balance.
 */
export type ParsedLine =
  | ParsedReading
  | { readonly kind: 'posted' }
  | { readonly kind: 'failure'; readonly reason: string }
  | { readonly kind: 'blank' }
  | { readonly kind: 'unparseable'; readonly reason: string };

export interface BalanceLogCounts {
  readonly readings: number;
  readonly posted: number;
  readonly failures: number;
  readonly unparseable: number;
  readonly blank: number;
}

export interface ParsedBalanceLog {
  readonly readings: ParsedReading[];
  readonly counts: BalanceLogCounts;
  /** `counts.readings`, split by line format. */
  readonly readingsByFormat: Readonly<Record<ReadingFormat, number>>;
  /** Unparseable lines, 1-based line numbers. */
  readonly problems: { line: number; reason: string }[];
}

const TIMESTAMP = String.raw`(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})`;
const BRACKETED = new RegExp(String.raw`^\[${TIMESTAMP}\]\s*(.*)$`);
const PIPED = new RegExp(String.raw`^${TIMESTAMP}\s*\|\s*(.*)$`);
const PROVIDER_LINE = /^(claude|moonshot|kimi)\s*:\s*(.*)$/i;
const MOONSHOT_FIELDS: Record<string, 'available' | 'voucher' | 'cash'> = {
  available: 'available',
  voucher: 'voucher',
  cash: 'cash',
};

type Value =
  | { ok: true; amount: Amount }
  | { ok: false; missing: true }
  | { ok: false; missing: false; reason: string };

/**
 * Classifies one line of a seed script's balance log:
 * - `[2026-01-29 09:00:00] Claude: $8.07` (value may be padded) and `[…] Moonshot: $12.34` → reading
 * - `2026-01-29 09:00:00 | Available: $12.34 | Voucher: $3.45 | Cash: $8.89` → Kimi reading (a `null`
 *   voucher or cash is left out; a `null` available is a failure)
 * - `[…] POSTED: …` → posted; `[…] Claude: ERROR …`, `… | ERROR …`, `Claude: $`, `Claude: $null` → failure
 * - whitespace only → blank; anything else, including impossible dates → unparseable with a reason.
 */
export function parseBalanceLogLine(line: string): ParsedLine {
  const text = line.replace(/^\uFEFF/, '').trim();
  if (text === '') return { kind: 'blank' };

  const bracketed = BRACKETED.exec(text);
  if (bracketed) {
    const at = parseTimestamp(bracketed[1]!);
    if (!at) return { kind: 'unparseable', reason: `invalid timestamp ${bracketed[1]}` };
    return parseBracketedBody(bracketed[2]!, at);
  }
  const piped = PIPED.exec(text);
  if (piped) {
    const at = parseTimestamp(piped[1]!);
    if (!at) return { kind: 'unparseable', reason: `invalid timestamp ${piped[1]}` };
    return parseMoonshotFields(piped[2]!, at);
  }
  return { kind: 'unparseable', reason: `unrecognised line: ${preview(text)}` };
}

/** Parses a whole log file (CRLF or LF, optional BOM, optional final newline) and tallies what it found. */
export function parseBalanceLog(text: string): ParsedBalanceLog {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  if (lines.at(-1) === '') lines.pop();
  const readings: ParsedReading[] = [];
  const problems: { line: number; reason: string }[] = [];
  const counts = { readings: 0, posted: 0, failures: 0, unparseable: 0, blank: 0 };
  const readingsByFormat: Record<ReadingFormat, number> = { claude: 0, moonshot: 0, fields: 0 };
  lines.forEach((line, index) => {
    const parsed = parseBalanceLogLine(line);
    switch (parsed.kind) {
      case 'reading':
        readings.push(parsed);
        counts.readings++;
        readingsByFormat[parsed.format]++;
        break;
      case 'posted':
        counts.posted++;
        break;
      case 'failure':
        counts.failures++;
        break;
      case 'blank':
        counts.blank++;
        break;
      case 'unparseable':
        counts.unparseable++;
        problems.push({ line: index + 1, reason: parsed.reason });
        break;
    }
  });
  return { readings, counts, readingsByFormat, problems };
}

function parseBracketedBody(body: string, at: Date): ParsedLine {
  if (/^POSTED:/.test(body)) return { kind: 'posted' };
  const match = PROVIDER_LINE.exec(body);
  if (!match) return { kind: 'unparseable', reason: `unrecognised entry: ${preview(body)}` };
  const isClaude = match[1]!.toLowerCase() === 'claude';
  const provider: ProviderId = isClaude ? 'claude' : 'kimi';
  const rest = match[2]!.trim();
  if (/^ERROR\b/.test(rest)) return { kind: 'failure', reason: rest };
  const value = parseDollars(rest);
  if (value.ok)
    return {
      kind: 'reading',
      format: isClaude ? 'claude' : 'moonshot',
      provider,
      at,
      available: value.amount,
    };
  if (value.missing) return { kind: 'failure', reason: `no ${match[1]} balance logged` };
  return { kind: 'unparseable', reason: value.reason };
}

function parseMoonshotFields(body: string, at: Date): ParsedLine {
  if (/^ERROR\b/.test(body)) return { kind: 'failure', reason: body };
  const found: Partial<Record<'available' | 'voucher' | 'cash', Value>> = {};
  for (const field of body.split('|')) {
    const match = /^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$/.exec(field);
    if (!match) return { kind: 'unparseable', reason: `unrecognised field: ${preview(field.trim())}` };
    const key = match[1]!.toLowerCase();
    // Own keys only: a field named `constructor` must not find Object's.
    const name = Object.hasOwn(MOONSHOT_FIELDS, key) ? MOONSHOT_FIELDS[key] : undefined;
    if (!name) return { kind: 'unparseable', reason: `unknown field ${match[1]}` };
    if (found[name]) return { kind: 'unparseable', reason: `field ${match[1]} given twice` };
    const value = parseDollars(match[2]!);
    if (!value.ok && !value.missing) return { kind: 'unparseable', reason: `${match[1]}: ${value.reason}` };
    found[name] = value;
  }
  const available = found.available;
  if (!available) return { kind: 'unparseable', reason: 'no Available field' };
  if (!available.ok) return { kind: 'failure', reason: 'no Moonshot balance logged' };
  return {
    kind: 'reading',
    format: 'fields',
    provider: 'kimi',
    at,
    available: available.amount,
    ...(found.voucher?.ok ? { voucher: found.voucher.amount } : {}),
    ...(found.cash?.ok ? { cash: found.cash.amount } : {}),
  };
}

/** `$8.07`, `$     8.07`, `$-1.5`, `-$1.5`, `$1e-07`. `$`, `$null` and `null` are missing, not zero. */
function parseDollars(text: string): Value {
  if (text.trim().toLowerCase() === 'null') return { ok: false, missing: true };
  const match = /^([-+]?)\$\s*(.*)$/.exec(text.trim());
  if (!match) return { ok: false, missing: false, reason: `not a dollar amount: ${preview(text)}` };
  const digits = match[2]!.trim();
  if (digits === '' || digits.toLowerCase() === 'null') return { ok: false, missing: true };
  try {
    return { ok: true, amount: parseAmount(`${match[1]}${digits}`) };
  } catch {
    return { ok: false, missing: false, reason: `not a dollar amount: ${preview(text)}` };
  }
}

function parseTimestamp(text: string): Date | null {
  const parts = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!parts) return null;
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-13-45 over into 2027; only a date that survives unchanged is real.
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? date : null;
}

function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Reads a log a batch of lines at a time, so a file of any size is imported in flat memory: each batch of
 * `batchLines` lines is parsed like {@link parseBalanceLog} and handed to `onBatch` (problems carry their
 * line numbers in the whole file); the tallies of the whole file are returned.
 */
export async function parseBalanceLogStream(
  lines: AsyncIterable<string>,
  onBatch: (batch: ParsedBalanceLog) => Promise<void>,
  batchLines = 5000,
): Promise<{
  counts: BalanceLogCounts;
  readingsByFormat: Record<ReadingFormat, number>;
  problems: number;
}> {
  const counts = { readings: 0, posted: 0, failures: 0, unparseable: 0, blank: 0 };
  const readingsByFormat: Record<ReadingFormat, number> = { claude: 0, moonshot: 0, fields: 0 };
  let problems = 0;
  let pending: string[] = [];
  let offset = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    // The trailing newline keeps a blank last line of the batch a line (parseBalanceLog drops only the final '').
    const parsed = parseBalanceLog(`${pending.join('\n')}\n`);
    for (const key of Object.keys(counts) as (keyof BalanceLogCounts)[]) counts[key] += parsed.counts[key];
    for (const key of Object.keys(readingsByFormat) as ReadingFormat[])
      readingsByFormat[key] += parsed.readingsByFormat[key];
    problems += parsed.problems.length;
    const shifted = parsed.problems.map((p) => ({ line: p.line + offset, reason: p.reason }));
    offset += pending.length;
    pending = [];
    await onBatch({ ...parsed, problems: shifted });
  };
  for await (const line of lines) {
    pending.push(line);
    if (pending.length >= batchLines) await flush();
  }
  await flush();
  return { counts, readingsByFormat, problems };
}
