import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { Cron } from 'croner';
import { type Amount, Big, type Currency, parseAmount, parseTypedAmount } from './money.js';
import type { ClaudeDbConfig } from './providers/claude.js';
import { PROVIDER_IDS, type ProviderId } from './types.js';

/** Connection settings for the database that holds `claude_api_usage`: pg's fields, and TLS as a mode. */
export interface ClaudeDbSettings extends Omit<ClaudeDbConfig, 'ssl'> {
  /** `false`: plain; `'require'`: TLS without CA check (libpq sslmode=require); `'verify'`: TLS with CA check. */
  readonly ssl: false | 'require' | 'verify';
  /** Where it points, for messages: host:port/db, never the password. */
  readonly describe: string;
}

export interface Config {
  readonly providers: readonly ProviderId[];
  readonly moonshot: {
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly currency: Currency;
  } | null;
  /** Kimi's currency, known even without an API key (import-logs needs it). */
  readonly moonshotCurrency: Currency;
  readonly claudeDb: ClaudeDbSettings | null;
  readonly defaultThreshold: Amount;
  readonly claudeStaleAfterMs: number;
  readonly providerTimeoutMs: number;
  /** Postgres URL for history and settings; `null` → embedded SQLite at `sqlitePath`. */
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly sqlitePath: string;
  /** Days raw readings are kept; older history lives on as hourly roll-ups (HISTORY_RAW_DAYS). */
  readonly historyRawDays: number;
  readonly balanceLogDir: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `LOG_FORMAT`; `null` → pretty when stderr is a terminal, JSON otherwise. */
  readonly logFormat: 'json' | 'pretty' | null;
  readonly discord: {
    readonly token: string | null;
    readonly apiUrl: string;
    readonly applicationId: string | null;
    readonly guildId: string | null;
  };
  readonly dryRun: boolean;
  readonly summaryCron: string;
  readonly summaryChannelId: string;
  readonly balanceCacheTtlMs: number;
  readonly adminRoleIds: readonly string[];
  readonly alerts: {
    readonly cron: string;
    readonly channelId: string;
    readonly mentionRoleId: string | null;
    /** Fraction above the threshold a balance must reach before it counts as recovered (0.10 = 10 %). */
    readonly recoveryMargin: number;
    readonly failureAfter: number;
    readonly repeatMs: number;
    readonly runwayDays: number;
    readonly webhookUrl: string | null;
    readonly smtpUrl: string | null;
    readonly emailTo: readonly string[];
    readonly emailFrom: string | null;
  };
}

/** Every problem found in the environment, each with the variable and how to fix it. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p}`)
        .join('\n')}\nSee README.md "Configuration" for every setting, its default and an example.`,
    );
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The project folder: the nearest folder above this module holding a package.json. The same answer from
 * `src/` (tests), `dist/src/` (tsc's output) and `dist/check/` (the CLI bundle), so `.env` and relative
 * paths don't depend on the directory a cron job or a shell happens to be in.
 */
export function projectRoot(): string {
  // scripts/bundle.mjs defines import.meta.url as the bundle's own URL in the CommonJS bundle.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/**
 * The settings file: `ENV_FILE` from the environment when set (relative to the current directory, as
 * typed), else `.env` in the project folder.
 */
export function envFilePath(env: Env = process.env): string {
  const chosen = env.ENV_FILE?.trim();
  return chosen ? resolve(chosen) : join(projectRoot(), '.env');
}

/**
 * The process environment over the values of the settings file (`envFilePath()`, when present): a
 * variable set in the environment wins. The only place creditwatch reads the environment.
 */
export function readEnvironment(file: string = envFilePath()): Env {
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

/**
 * The values `.env.example` ships for the settings a user must replace. A copied but unedited file
 * would pass every format check and then fail far from the cause (a DNS error for
 * db.example.supabase.co), so these are refused by name.
 */
export const EXAMPLE_VALUES: Readonly<Record<string, string>> = {
  MOONSHOT_API_KEY: 'sk-your-moonshot-key',
  CLAUDE_DB_URL: 'postgres://postgres:password@db.example.supabase.co:5432/postgres',
  SUPABASE_DB_HOST: 'db.example.supabase.co',
  SUPABASE_DB_PASSWORD: 'your-db-password',
};

/** Which providers' settings a program needs, and why (said in the error when they are missing). */
export interface ProviderNeeds {
  readonly providers: readonly ProviderId[];
  /** Completes "… is missing; <because>", e.g. "--provider kimi checks it". */
  readonly because: (provider: ProviderId) => string;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `6h`, `1d`, `500ms`; a bare number is `defaultUnit`. */
export function parseDuration(text: string, defaultUnit: 'ms' | 's' = 's'): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m?.[1]) return null;
  const unit = (m[2] ?? defaultUnit).toLowerCase();
  const factor = DURATION_UNITS[unit];
  return factor === undefined ? null : Math.round(Number(m[1]) * factor);
}

const SNOWFLAKE = /^\d{17,20}$/;
const SUPABASE_HOST = /\.supabase\.(co|com)$/i;
export const DEFAULT_SUMMARY_CHANNEL_ID = '1415741789758816369';

/**
 * Parses and validates the whole configuration at once; throws `ConfigError` listing every problem.
 * `options.needs`: the providers whose settings must be present (default: those in PROVIDERS); a tool
 * that calls no provider (import-logs) needs none (`providerSettings: 'optional'` says the same),
 * `check --provider kimi` only Kimi's. Relative
 * DATA_DIR / BALANCE_LOG_DIR resolve against `options.baseDir` (default: the project folder).
 */
export function loadConfig(
  env: Env = readEnvironment(),
  options: { needs?: ProviderNeeds; providerSettings?: 'required' | 'optional'; baseDir?: string } = {},
): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  // A required setting still holding .env.example's value is reported as such, not as whatever it breaks.
  const isExample = (name: string): boolean => {
    const example = EXAMPLE_VALUES[name];
    if (example === undefined || get(name) !== example) return false;
    problems.push(
      `${name} is still the example value from .env.example; replace it with your own (README.md "Configuration")`,
    );
    return true;
  };

  const durationMs = (
    name: string,
    fallback: string,
    defaultUnit: 'ms' | 's',
    minMs = 1,
    range?: { readonly maxMs: number; readonly hint: string },
  ): number => {
    const raw = get(name) ?? fallback;
    const ms = parseDuration(raw, defaultUnit);
    if (ms !== null && range && (ms < minMs || ms > range.maxMs)) {
      problems.push(`${name}=${JSON.stringify(raw)} must be from ${range.hint}`);
      return parseDuration(fallback, defaultUnit) ?? 0;
    }
    if (ms === null || ms < minMs) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a duration; use e.g. 90s, 15m, 6h or 1d`);
      return parseDuration(fallback, defaultUnit) ?? 0;
    }
    return ms;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    // Plain decimal digits only: Number() would also read 0x10 as 16, 1e3 as 1000 and +5 as 5.
    const n = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(
        `${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}, in plain digits`,
      );
      return fallback;
    }
    return n;
  };
  const url = (
    name: string,
    fallback: string | undefined,
    protocols: readonly string[],
  ): string | undefined => {
    const raw = get(name) ?? fallback;
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
      return raw.replace(/\/+$/, '');
    } catch {
      // Never echo a URL back: it may carry credentials.
      problems.push(`${name} is not a valid ${protocols.join(' or ')} URL`);
      return fallback;
    }
  };
  const snowflake = (name: string, fallback?: string): string | undefined => {
    const raw = get(name) ?? fallback;
    if (raw !== undefined && !SNOWFLAKE.test(raw)) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not a Discord id (17–20 digits); copy it with Developer Mode on`,
      );
      return undefined;
    }
    return raw;
  };
  const cron = (name: string, fallback: string): string => {
    const raw = get(name) ?? fallback;
    try {
      const job = new Cron(raw, { paused: true, timezone: 'UTC' });
      const next = job.nextRun();
      job.stop();
      // croner accepts patterns no date matches (`0 0 31 2 *`): such a schedule would never post.
      if (next === null) {
        problems.push(`${name}=${JSON.stringify(raw)} never fires (no such date); e.g. "${fallback}"`);
        return fallback;
      }
      return raw;
    } catch (err) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not a cron pattern (${(err as Error).message}); e.g. "0 * * * *"`,
      );
      return fallback;
    }
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)} must be true or false`);
    return fallback;
  };

  // Providers
  const providerList = (get('PROVIDERS') ?? 'claude,kimi')
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  const providers: ProviderId[] = [];
  for (const p of providerList) {
    if (!(PROVIDER_IDS as readonly string[]).includes(p)) {
      problems.push(
        `PROVIDERS names unknown provider ${JSON.stringify(p)}; known: ${PROVIDER_IDS.join(', ')}`,
      );
    } else if (!providers.includes(p as ProviderId)) {
      providers.push(p as ProviderId);
    }
  }
  if (providerList.length === 0)
    problems.push(`PROVIDERS is empty; list at least one of ${PROVIDER_IDS.join(', ')}`);
  // Summaries list providers in a fixed order, whatever order PROVIDERS uses.
  providers.sort((a, b) => PROVIDER_IDS.indexOf(a) - PROVIDER_IDS.indexOf(b));
  const needs: ProviderNeeds = options.needs ?? {
    providers: options.providerSettings === 'optional' ? [] : providers,
    because: (p) => `${p} is in PROVIDERS. Set it, or remove ${p} from PROVIDERS`,
  };
  const needed = (p: ProviderId): boolean => needs.providers.includes(p);

  let moonshot: Config['moonshot'] = null;
  const moonshotBaseUrl = url('MOONSHOT_BASE_URL', 'https://api.moonshot.ai', ['https:', 'http:']);
  const currencyRaw = get('MOONSHOT_CURRENCY')?.toUpperCase();
  if (currencyRaw !== undefined && currencyRaw !== 'USD' && currencyRaw !== 'CNY') {
    problems.push(`MOONSHOT_CURRENCY=${JSON.stringify(currencyRaw)} must be USD or CNY`);
  }
  // Currency follows the host (.cn bills in CNY) unless MOONSHOT_CURRENCY says otherwise.
  const moonshotCurrency: Currency =
    currencyRaw === 'USD' || currencyRaw === 'CNY'
      ? currencyRaw
      : moonshotBaseUrl !== undefined && new URL(moonshotBaseUrl).hostname.endsWith('.cn')
        ? 'CNY'
        : 'USD';
  if (providers.includes('kimi') || needed('kimi')) {
    const apiKey = get('MOONSHOT_API_KEY');
    if (apiKey === undefined) {
      if (needed('kimi')) problems.push(`MOONSHOT_API_KEY is missing; ${needs.because('kimi')}`);
    } else if (needed('kimi') && isExample('MOONSHOT_API_KEY')) {
      // reported
    } else if (moonshotBaseUrl !== undefined) {
      moonshot = { apiKey, baseUrl: moonshotBaseUrl, currency: moonshotCurrency };
    }
  }

  let claudeDb: ClaudeDbSettings | null = null;
  const sslRaw = get('CLAUDE_DB_SSL')?.toLowerCase();
  if (sslRaw !== undefined && !['off', 'require', 'verify'].includes(sslRaw)) {
    problems.push(`CLAUDE_DB_SSL=${JSON.stringify(sslRaw)} must be off, require or verify`);
  }
  if (providers.includes('claude') || needed('claude')) {
    if (needed('claude')) {
      isExample('CLAUDE_DB_URL');
      isExample('SUPABASE_DB_HOST');
      isExample('SUPABASE_DB_PASSWORD');
    }
    const claudeUrl = url('CLAUDE_DB_URL', undefined, ['postgres:', 'postgresql:']);
    const host = get('SUPABASE_DB_HOST');
    const sslFor = (h: string): ClaudeDbSettings['ssl'] =>
      sslRaw === 'off'
        ? false
        : sslRaw === 'verify'
          ? 'verify'
          : sslRaw === 'require'
            ? 'require'
            : SUPABASE_HOST.test(h)
              ? 'require'
              : false;
    if (claudeUrl !== undefined) {
      const u = new URL(claudeUrl);
      claudeDb = {
        connectionString: claudeUrl,
        ssl: sslFor(u.hostname),
        describe: `${u.hostname}:${u.port || '5432'}${u.pathname}`,
      };
    } else if (get('CLAUDE_DB_URL') === undefined && host !== undefined) {
      const password = get('SUPABASE_DB_PASSWORD');
      if (password === undefined) {
        problems.push(
          'SUPABASE_DB_PASSWORD is missing; it is needed with SUPABASE_DB_HOST (or set CLAUDE_DB_URL)',
        );
      }
      const port = integer('SUPABASE_DB_PORT', 5432, 1, 65535);
      const database = get('SUPABASE_DB_NAME') ?? 'postgres';
      claudeDb = {
        host,
        port,
        user: get('SUPABASE_DB_USER') ?? 'postgres',
        ...(password === undefined ? {} : { password }),
        database,
        ssl: sslFor(host),
        describe: `${host}:${port}/${database}`,
      };
    } else if (get('CLAUDE_DB_URL') === undefined && needed('claude')) {
      problems.push(
        `CLAUDE_DB_URL (or SUPABASE_DB_HOST + SUPABASE_DB_PASSWORD) is missing; ${needs.because('claude')}`,
      );
    }
  }

  let defaultThreshold = parseAmount('5');
  const thresholdRaw = get('DEFAULT_THRESHOLD');
  if (thresholdRaw !== undefined) {
    const problem = validateThresholdText(thresholdRaw);
    if (problem) problems.push(`DEFAULT_THRESHOLD=${JSON.stringify(thresholdRaw)}: ${problem}`);
    else defaultThreshold = parseAmount(thresholdRaw);
  }

  const home = get('HOME') ?? homedir();
  const baseDir = options.baseDir ?? projectRoot();
  const dataDir = resolve(baseDir, get('DATA_DIR') ?? './data');
  const logLevel = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${levels.join(', ')}`);
  }
  const logFormatRaw = get('LOG_FORMAT')?.toLowerCase();
  let logFormat: Config['logFormat'] = null;
  if (logFormatRaw === 'json' || logFormatRaw === 'pretty') logFormat = logFormatRaw;
  else if (logFormatRaw !== undefined && logFormatRaw !== 'auto')
    problems.push(
      `LOG_FORMAT=${JSON.stringify(logFormatRaw)} must be json or pretty (unset: pretty on a terminal)`,
    );

  const summaryChannelId =
    snowflake('SUMMARY_CHANNEL_ID', DEFAULT_SUMMARY_CHANNEL_ID) ?? DEFAULT_SUMMARY_CHANNEL_ID;
  const adminRoleIds = (get('ADMIN_ROLE_IDS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const id of adminRoleIds) {
    if (!SNOWFLAKE.test(id))
      problems.push(`ADMIN_ROLE_IDS has ${JSON.stringify(id)}, which is not a Discord role id`);
  }

  const recoveryRaw = get('RECOVERY_MARGIN') ?? '10%';
  let recoveryMargin = 0.1;
  const margin = parseRecoveryMargin(recoveryRaw);
  if (typeof margin === 'string') problems.push(`RECOVERY_MARGIN=${JSON.stringify(recoveryRaw)} ${margin}`);
  else recoveryMargin = margin;
  const addressHint = 'use name@example.com or "Name <name@example.com>"';
  const emailTo = (get('ALERT_EMAIL_TO') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const to of emailTo) {
    if (!isMailbox(to))
      problems.push(
        `ALERT_EMAIL_TO has ${JSON.stringify(to)}, which is not an e-mail address; ${addressHint}`,
      );
  }
  const smtpUrl = url('SMTP_URL', undefined, ['smtp:', 'smtps:']) ?? null;
  let emailFrom = get('ALERT_EMAIL_FROM') ?? null;
  if (emailFrom !== null && !isMailbox(emailFrom)) {
    problems.push(`ALERT_EMAIL_FROM=${JSON.stringify(emailFrom)} is not an e-mail address; ${addressHint}`);
    emailFrom = null;
  }
  if (smtpUrl !== null && emailTo.length === 0)
    problems.push('ALERT_EMAIL_TO is missing; SMTP_URL is set, so say who gets the e-mail');
  if (smtpUrl === null && emailTo.length > 0)
    problems.push('SMTP_URL is missing; ALERT_EMAIL_TO is set, so say which server sends it');

  const config: Config = {
    providers,
    moonshot,
    moonshotCurrency,
    claudeDb,
    defaultThreshold,
    claudeStaleAfterMs: durationMs('CLAUDE_STALE_AFTER', '6h', 's'),
    // Past a minute a check outlives the alert schedule it serves; Node's timers also cap near 24.8 days
    // and fire at once beyond, which failed every check immediately.
    providerTimeoutMs: durationMs('PROVIDER_TIMEOUT_MS', '10000', 'ms', 100, {
      maxMs: 60_000,
      hint: '100 ms to 60 s; e.g. 10000 (milliseconds) or 10s',
    }),
    databaseUrl: url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']) ?? null,
    dataDir,
    sqlitePath: join(dataDir, 'creditwatch.sqlite'),
    // At least the forecast's 30-day lookback, which falls back to raw readings.
    historyRawDays: integer('HISTORY_RAW_DAYS', 90, 30, 36_500),
    balanceLogDir: resolve(baseDir, get('BALANCE_LOG_DIR') ?? join(home, '.config')),
    logLevel: logLevel as Config['logLevel'],
    logFormat,
    discord: {
      token: get('DISCORD_TOKEN') ?? null,
      apiUrl:
        url('DISCORD_API_URL', 'https://discord.com/api', ['https:', 'http:']) ?? 'https://discord.com/api',
      applicationId: snowflake('DISCORD_APPLICATION_ID') ?? null,
      guildId: snowflake('DISCORD_GUILD_ID') ?? null,
    },
    dryRun: bool('DRY_RUN', false),
    summaryCron: cron('SUMMARY_CRON', '0 * * * *'),
    summaryChannelId,
    balanceCacheTtlMs: durationMs('BALANCE_CACHE_TTL', '60s', 's', 0),
    adminRoleIds,
    alerts: {
      cron: cron('ALERT_CRON', '*/5 * * * *'),
      channelId: snowflake('ALERT_CHANNEL_ID') ?? summaryChannelId,
      mentionRoleId: snowflake('ALERT_MENTION_ROLE_ID') ?? null,
      recoveryMargin,
      failureAfter: integer('FAILURE_ALERT_AFTER', 3, 1, 1000),
      repeatMs: durationMs('ALERT_REPEAT', '24h', 's'),
      runwayDays: integer('RUNWAY_ALERT_DAYS', 3, 0, 365),
      webhookUrl: url('ALERT_WEBHOOK_URL', undefined, ['https:', 'http:']) ?? null,
      smtpUrl,
      emailTo,
      emailFrom,
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Why `text` is not an acceptable threshold (0 to 1,000,000, at most 2 decimals), or `null` when it is.
 * The reason continues a sentence that names the value (`10.555 has 3 decimals; …`) and has no final stop.
 */
export function validateThresholdText(text: string): string | null {
  const parsed = parseTypedAmount(text, { maxDecimals: 2, max: new Big(1_000_000) });
  if (parsed.ok) return null;
  const p = parsed.problem;
  if (p.kind === 'decimals') {
    return `has ${p.decimals} decimals; use at most 2 decimals (e.g. ${p.rounded.toFixed(2)})`;
  }
  if (p.kind === 'too-large') return 'must be at most 1000000';
  return 'must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50';
}

// RFC 5322's dot-atom for the local part, and a host name with at least one dot for the domain: what
// nodemailer and any SMTP server accept, without quoted local parts or address literals.
const LOCAL_PART = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const ADDRESS = `${LOCAL_PART}@${LABEL}(?:\\.${LABEL})+`;
const MAILBOX = new RegExp(`^(?:${ADDRESS}|(?:"[^"\\\\\\r\\n]*"|[^"<>@,;:\\r\\n]*)\\s*<${ADDRESS}>)$`);

/**
 * True for one e-mail address as nodemailer takes it: `name@example.com`, or with a display name,
 * `Name <name@example.com>` / `"Name, Inc." <name@example.com>`. ASCII only.
 */
export function isMailbox(text: string): boolean {
  return MAILBOX.test(text.trim());
}

/**
 * `RECOVERY_MARGIN` as a fraction: `10%` (0 to 1000 %) or a plain fraction below 1 (`0.1`). A bare number of 1
 * or more is refused: `1.5` could mean 150 % or 1.5 %. Returns the reason (to follow the variable) when not.
 */
export function parseRecoveryMargin(text: string): number | string {
  const m = /^(\d+(?:\.\d+)?)\s*(%?)$/.exec(text.trim());
  const value = m?.[1] === undefined ? Number.NaN : Number(m[1]);
  if (!m || !Number.isFinite(value)) {
    return 'must be a percentage such as 10% or a fraction below 1 such as 0.1';
  }
  if (m[2] === '%') return value > 1000 ? 'must be at most 1000%' : value / 100;
  if (value >= 1) {
    return `is ambiguous; write a percentage such as ${m[1]}% or a fraction below 1 such as 0.1`;
  }
  return value;
}
