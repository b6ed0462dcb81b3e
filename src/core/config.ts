import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { Cron } from 'croner';
import * as z from 'zod/mini';
import type { ClaudeAccountSettings, ClaudeDbConfig } from '../adapters/providers/claude.js';
import type { HttpAccountSettings } from '../adapters/providers/module.js';
import {
  type ConfiguredAccount,
  defaultAccounts,
  impliedCurrency,
  parseAccountList,
  readAccounts,
} from './accounts.js';
import { type Amount, Big, type Currency, parseAmount, parseTypedAmount } from './money.js';
import type { ProviderId } from './types.js';

/** Connection settings for the database that holds `claude_api_usage`: pg's fields, and TLS as a mode. */
export interface ClaudeDbSettings extends Omit<ClaudeDbConfig, 'ssl'> {
  /** `false`: plain; `'require'`: TLS without CA check (libpq sslmode=require); `'verify'`: TLS with CA check. */
  readonly ssl: false | 'require' | 'verify';
  /** Where it points, for messages: host:port/db, never the password. */
  readonly describe: string;
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
 * The project folder: the nearest folder above this module (or `start`) holding a package.json; the current
 * directory when there is none. The same answer from
 * `src/` (tests), `dist/src/` (tsc's output) and `dist/check/` (the CLI bundle), so `.env` and relative
 * paths don't depend on the directory a cron job or a shell happens to be in.
 */
export function projectRoot(
  // scripts/bundle.mjs defines import.meta.url as the bundle's own URL in the CommonJS bundle.
  start: string = dirname(fileURLToPath(import.meta.url)),
): string {
  let dir = start;
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

// ---------------------------------------------------------------------------------------------------------
// Settings. Each is a zod schema of one variable's text (trimmed; blank counts as unset) that knows nothing
// of the variable's name: a problem says what is wrong, and `problemText` puts the name in front, so one
// schema serves `MOONSHOT_BASE_URL` and, later, `MOONSHOT_CN_BASE_URL`. A schema shows the value it refuses
// only when asked to (`shown`); URLs and secrets never are. A refused value still yields its default, so the
// rules that look at several settings at once run on sensible values and every problem is listed.
// ---------------------------------------------------------------------------------------------------------

type Ctx = z.core.ParsePayload;

/** Adds one problem to the setting being read; `shown` is the value to print after its name. */
function refuse(ctx: Ctx, message: string, shown?: string): void {
  ctx.issues.push({
    code: 'custom',
    message,
    input: ctx.value,
    ...(shown === undefined ? {} : { params: { shown } }),
  });
}

/** A setting read by `read` from its text (`undefined` when unset). */
function setting<T>(read: (raw: string | undefined, ctx: Ctx) => T) {
  return z.pipe(z.optional(z.string()), z.transform(read));
}

/** Free text (secrets included: never shown back). */
export const text = () => setting((raw) => raw);

/** `90s`, `15m`, `6h`, `1d`, `500ms`, or a bare number of `unit`; at least `minMs`, at most `maxMs`. */
export function duration(
  fallback: string,
  unit: 'ms' | 's',
  range: { readonly minMs?: number; readonly maxMs?: number; readonly hint?: string } = {},
) {
  const minMs = range.minMs ?? 1;
  const fallbackMs = parseDuration(fallback, unit) ?? 0;
  return setting((raw = fallback, ctx) => {
    const ms = parseDuration(raw, unit);
    if (ms !== null && range.maxMs !== undefined && (ms < minMs || ms > range.maxMs)) {
      refuse(ctx, `must be from ${range.hint}`, raw);
      return fallbackMs;
    }
    if (ms === null || ms < minMs) {
      refuse(ctx, 'is not a duration; use e.g. 90s, 15m, 6h or 1d', raw);
      return fallbackMs;
    }
    return ms;
  });
}

/** A whole number from `min` to `max` in plain decimal digits (`Number()` would read 0x10, 1e3 and +5). */
export function wholeNumber(fallback: number, min: number, max: number) {
  return setting((raw, ctx) => {
    if (raw === undefined) return fallback;
    const n = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    refuse(ctx, `must be a whole number from ${min} to ${max}, in plain digits`, raw);
    return fallback;
  });
}

/** A URL with one of `protocols` (`'https:'`), without trailing slashes. Never shown back: it may hold credentials. */
export function url(protocols: readonly string[], fallback?: string) {
  return setting((raw = fallback, ctx) => {
    if (raw === undefined) return undefined;
    if (URL.canParse(raw) && protocols.includes(new URL(raw).protocol)) return raw.replace(/\/+$/, '');
    refuse(ctx, `is not a valid ${protocols.join(' or ')} URL`);
    return fallback;
  });
}

const SNOWFLAKE = /^\d{17,20}$/;

/** A Discord id (a snowflake: 17–20 digits). */
export function snowflake(fallback?: string) {
  return setting((raw = fallback, ctx) => {
    if (raw === undefined || SNOWFLAKE.test(raw)) return raw;
    refuse(ctx, 'is not a Discord id (17–20 digits); copy it with Developer Mode on', raw);
    return fallback;
  });
}

/** A cron pattern (UTC, croner's syntax) that fires at least once. */
export function cron(fallback: string) {
  return setting((raw = fallback, ctx) => readCron(raw, fallback, ctx));
}

/** {@link cron}, or `off` (any case) for no schedule at all: `null`. */
export function cronOrOff(fallback: string) {
  return setting((raw = fallback, ctx) =>
    raw.toLowerCase() === 'off' ? null : readCron(raw, fallback, ctx, { example: fallback, orOff: true }),
  );
}

/** `raw` when it is a cron pattern that fires, else `fallback`, the problem added with an example. */
function readCron(
  raw: string,
  fallback: string,
  ctx: Ctx,
  hint: { readonly example?: string; readonly orOff?: boolean } = {},
): string {
  const off = hint.orOff ? ', or off to turn it off' : '';
  try {
    // utcOffset, not timezone: 'UTC': the same schedule, computed with Date's UTC methods instead of one
    // Intl.DateTimeFormat per step (~30 ms of ICU time-zone loading in every CLI start; README › Performance).
    const job = new Cron(raw, { paused: true, utcOffset: 0 });
    const next = job.nextRun();
    job.stop();
    // croner accepts patterns no date matches (`0 0 31 2 *`): such a schedule would never run.
    if (next !== null) return raw;
    refuse(ctx, `never fires (no such date); e.g. "${fallback}"${off}`, raw);
  } catch (err) {
    const example = hint.example ?? '0 * * * *';
    refuse(ctx, `is not a cron pattern (${(err as Error).message}); e.g. "${example}"${off}`, raw);
  }
  return fallback;
}

/** `true`/`false`, also as 1/0, yes/no, on/off. */
export function flag(fallback: boolean) {
  return setting((raw, ctx) => {
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    refuse(ctx, 'must be true or false', raw);
    return fallback;
  });
}

/** One of `values`, compared after `normalize` (the value shown in a problem is the normalized one). */
export function choice<const V extends string, F extends V | undefined>(
  values: readonly V[],
  fallback: F,
  message: string,
  normalize: (raw: string) => string = (raw) => raw.toLowerCase(),
) {
  return setting((raw, ctx): V | F => {
    if (raw === undefined) return fallback;
    const value = normalize(raw);
    if ((values as readonly string[]).includes(value)) return value as V;
    refuse(ctx, message, value);
    return fallback;
  });
}

/**
 * A comma-separated list; each item for which `problem` gives a reason is refused with it (the item is
 * shown, not the whole list).
 */
export function list(problem: (item: string) => string | null) {
  return setting((raw = '', ctx) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const item of items) {
      const reason = problem(item);
      if (reason !== null) refuse(ctx, `has ${JSON.stringify(item)}, which ${reason}`);
    }
    return items;
  });
}

const ADDRESS_HINT = 'use name@example.com or "Name <name@example.com>"';

/** One e-mail address as nodemailer takes it ({@link isMailbox}). */
export const mailbox = () =>
  setting((raw, ctx) => {
    if (raw === undefined) return null;
    if (isMailbox(raw)) return raw;
    refuse(ctx, `is not an e-mail address; ${ADDRESS_HINT}`, raw);
    return null;
  });

/** An amount as `/threshold` takes it ({@link validateThresholdText}), read by money.ts. */
export function threshold(fallback: string) {
  return setting((raw = fallback, ctx) => {
    const problem = validateThresholdText(raw);
    if (problem === null) return parseAmount(raw);
    refuse(ctx, problem, raw);
    return parseAmount(fallback);
  });
}

/** A fraction written as `10%` or `0.1` ({@link parseRecoveryMargin}). */
export function margin(fallback: string) {
  return setting((raw = fallback, ctx) => {
    const value = parseRecoveryMargin(raw);
    if (typeof value === 'number') return value;
    refuse(ctx, value, raw);
    return parseRecoveryMargin(fallback) as number;
  });
}

/** A host name or IP address to listen on (`127.0.0.1`, `0.0.0.0`, `::`, `localhost`). */
function hostName(fallback: string) {
  return setting((raw = fallback, ctx) => {
    if (/^[A-Za-z0-9.:-]{1,253}$/.test(raw)) return raw;
    refuse(ctx, 'is not a host name or IP address to listen on; e.g. 127.0.0.1 or 0.0.0.0', raw);
    return fallback;
  });
}

/** A secret sent as `Authorization: Bearer …`: at least 16 visible ASCII characters. Never shown back. */
function bearerToken() {
  return setting((raw, ctx) => {
    if (raw === undefined) return null;
    if (/^[\x21-\x7e]{16,512}$/.test(raw)) return raw;
    refuse(
      ctx,
      'must be 16 to 512 visible ASCII characters (no spaces); e.g. the output of `openssl rand -hex 32`',
    );
    return null;
  });
}

/**
 * PROVIDERS: accounts (`provider` or `provider:account`), each once, in summary order (providers in registry
 * order, each one's default account first) whatever order they were listed in ({@link parseAccountList}).
 */
const providerList = () =>
  setting((raw = 'claude,kimi', ctx) => {
    const problems: string[] = [];
    const ids = parseAccountList(raw, problems);
    for (const problem of problems) refuse(ctx, problem.replace(/^PROVIDERS /, ''));
    return ids;
  });

const HTTP = ['https:', 'http:'] as const;
const POSTGRES = ['postgres:', 'postgresql:'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DEFAULT_SUMMARY_CHANNEL_ID = '1415741789758816369';

const coreSettings = z.object({
  PROVIDERS: providerList(),
  DEFAULT_THRESHOLD: threshold('5'),
  // Past a minute a check outlives the alert schedule it serves; Node's timers also cap near 24.8 days
  // and fire at once beyond, which failed every check immediately.
  PROVIDER_TIMEOUT_MS: duration('10000', 'ms', {
    minMs: 100,
    maxMs: 60_000,
    hint: '100 ms to 60 s; e.g. 10000 (milliseconds) or 10s',
  }),
  DATABASE_URL: url(POSTGRES),
  DATA_DIR: text(),
  // At least the forecast's 30-day lookback, which falls back to raw readings.
  HISTORY_RAW_DAYS: wholeNumber(90, 30, 36_500),
  HOME: text(),
  BALANCE_LOG_DIR: text(),
  LOG_LEVEL: choice(LOG_LEVELS, 'info', `must be one of ${LOG_LEVELS.join(', ')}`),
  LOG_FORMAT: choice(
    ['json', 'pretty', 'auto'],
    'auto',
    'must be json or pretty (unset: pretty on a terminal)',
  ),
  DISCORD_TOKEN: text(),
  DISCORD_API_URL: url(HTTP, 'https://discord.com/api'),
  DISCORD_APPLICATION_ID: snowflake(),
  DISCORD_GUILD_ID: snowflake(),
  DRY_RUN: flag(false),
  SUMMARY_CRON: cron('0 * * * *'),
  SUMMARY_CHANNEL_ID: snowflake(DEFAULT_SUMMARY_CHANNEL_ID),
  BALANCE_CACHE_TTL: duration('60s', 's', { minMs: 0 }),
  ADMIN_ROLE_IDS: list((id) => (SNOWFLAKE.test(id) ? null : 'is not a Discord role id')),
  // The status page, health endpoints and /metrics (src/http); 0 turns the server off.
  HTTP_PORT: wholeNumber(8080, 0, 65_535),
  HTTP_HOST: hostName('127.0.0.1'),
  DASHBOARD_TOKEN: bearerToken(),
});

const alertSettings = z
  .object({
    ALERT_CRON: cron('*/5 * * * *'),
    ALERT_CHANNEL_ID: snowflake(),
    ALERT_MENTION_ROLE_ID: snowflake(),
    RECOVERY_MARGIN: margin('10%'),
    FAILURE_ALERT_AFTER: wholeNumber(3, 1, 1000),
    ALERT_REPEAT: duration('24h', 's'),
    RUNWAY_ALERT_DAYS: wholeNumber(3, 0, 365),
    ALERT_WEBHOOK_URL: url(HTTP),
    SMTP_URL: url(['smtp:', 'smtps:']),
    ALERT_EMAIL_TO: list((to) => (isMailbox(to) ? null : `is not an e-mail address; ${ADDRESS_HINT}`)),
    ALERT_EMAIL_FROM: mailbox(),
  })
  .check(
    z.superRefine(
      (s, ctx) => {
        if (s.SMTP_URL !== undefined && s.ALERT_EMAIL_TO.length === 0)
          ctx.addIssue({
            code: 'custom',
            path: ['ALERT_EMAIL_TO'],
            message: 'is missing; SMTP_URL is set, so say who gets the e-mail',
          });
        if (s.SMTP_URL === undefined && s.ALERT_EMAIL_TO.length > 0)
          ctx.addIssue({
            code: 'custom',
            path: ['SMTP_URL'],
            message: 'is missing; ALERT_EMAIL_TO is set, so say which server sends it',
          });
      },
      // Also when a setting of the group was refused: every problem is listed at once.
      { when: () => true },
    ),
  );

/** The daily digest (`DIGEST_CRON`, `off` turns it off) and the weekly one on Mondays (`DIGEST_WEEKLY`). */
const digestSettings = z
  .object({
    DIGEST_CRON: cronOrOff('0 9 * * *'),
    DIGEST_WEEKLY: flag(false),
  })
  .check(
    z.superRefine(
      (s, ctx) => {
        if (s.DIGEST_WEEKLY && s.DIGEST_CRON === null)
          ctx.addIssue({
            code: 'custom',
            path: ['DIGEST_WEEKLY'],
            message:
              'is true but DIGEST_CRON is off; the weekly digest goes out at the first DIGEST_CRON time of each Monday (UTC), so set DIGEST_CRON (e.g. "0 9 * * *") or DIGEST_WEEKLY=false',
          });
      },
      { when: () => true },
    ),
  );

/**
 * The problems of the accounts' settings, judged by their providers' modules: the accounts `needsOption`
 * requires in full; every provider's default account besides, on the values that are set (a malformed
 * `CLAUDE_DB_URL` is reported even with `PROVIDERS=kimi`).
 */
function accountProblems(
  env: Env,
  needsOption: ProviderNeeds | 'enabled' | 'none',
  listed: readonly ProviderId[],
) {
  const problems: string[] = [];
  const needs = needsOption === 'none' ? [] : needsOption === 'enabled' ? listed : needsOption.providers;
  const because = (id: ProviderId) =>
    needsOption === 'enabled' || needsOption === 'none'
      ? `${id} is in PROVIDERS. Set it, or remove ${id} from PROVIDERS`
      : needsOption.because(id);
  readAccounts(env, needs, because, problems, defaultAccounts());
  return problems;
}

/**
 * The whole configuration as one zod schema over `{ group: its settings' text }`; its output type is
 * {@link Config}. `needs`/`baseDir` as for {@link loadConfig}.
 */
function configSchema(needsOption: ProviderNeeds | 'enabled' | 'none', baseDir: string, env: Env) {
  const groups = z.object({ core: coreSettings, alerts: alertSettings, digest: digestSettings });
  type Groups = z.output<typeof groups>;
  const judged = groups.check(
    z.superRefine(
      (g, ctx) => {
        // Every account's settings are judged by its provider's module; each problem is one full sentence.
        for (const problem of accountProblems(env, needsOption, g.core.PROVIDERS)) {
          ctx.addIssue({ code: 'custom', path: [], message: problem });
        }
      },
      { when: () => true },
    ),
  );
  return z.pipe(
    judged,
    z.transform((g: Groups) => {
      const { core: c, alerts: a, digest: d } = g;
      const dataDir = resolve(baseDir, c.DATA_DIR ?? './data');
      return {
        providers: c.PROVIDERS,
        defaultThreshold: c.DEFAULT_THRESHOLD as Amount,
        providerTimeoutMs: c.PROVIDER_TIMEOUT_MS,
        /** Postgres URL for history and settings; `null` → embedded SQLite at `sqlitePath`. */
        databaseUrl: c.DATABASE_URL ?? null,
        dataDir,
        sqlitePath: join(dataDir, 'creditwatch.sqlite'),
        /** Days raw readings are kept; older history lives on as hourly roll-ups (HISTORY_RAW_DAYS). */
        historyRawDays: c.HISTORY_RAW_DAYS,
        balanceLogDir: resolve(baseDir, c.BALANCE_LOG_DIR ?? join(c.HOME ?? homedir(), '.config')),
        logLevel: c.LOG_LEVEL,
        /** `LOG_FORMAT`; `null` → pretty when stderr is a terminal, JSON otherwise. */
        logFormat: c.LOG_FORMAT === 'auto' ? null : c.LOG_FORMAT,
        discord: {
          token: c.DISCORD_TOKEN ?? null,
          apiUrl: c.DISCORD_API_URL ?? 'https://discord.com/api',
          applicationId: c.DISCORD_APPLICATION_ID ?? null,
          guildId: c.DISCORD_GUILD_ID ?? null,
        },
        dryRun: c.DRY_RUN,
        summaryCron: c.SUMMARY_CRON,
        summaryChannelId: c.SUMMARY_CHANNEL_ID ?? DEFAULT_SUMMARY_CHANNEL_ID,
        balanceCacheTtlMs: c.BALANCE_CACHE_TTL,
        adminRoleIds: c.ADMIN_ROLE_IDS,
        /** The HTTP server (status page, health, metrics); `port` 0 = off; `token` null = open. */
        http: { port: c.HTTP_PORT, host: c.HTTP_HOST, token: c.DASHBOARD_TOKEN },
        alerts: {
          cron: a.ALERT_CRON,
          channelId: a.ALERT_CHANNEL_ID ?? c.SUMMARY_CHANNEL_ID ?? DEFAULT_SUMMARY_CHANNEL_ID,
          mentionRoleId: a.ALERT_MENTION_ROLE_ID ?? null,
          /** Fraction above the threshold a balance must reach before it counts as recovered (0.10 = 10 %). */
          recoveryMargin: a.RECOVERY_MARGIN,
          failureAfter: a.FAILURE_ALERT_AFTER,
          repeatMs: a.ALERT_REPEAT,
          runwayDays: a.RUNWAY_ALERT_DAYS,
          webhookUrl: a.ALERT_WEBHOOK_URL ?? null,
          smtpUrl: a.SMTP_URL ?? null,
          emailTo: a.ALERT_EMAIL_TO,
          emailFrom: a.ALERT_EMAIL_FROM,
        },
        /** The digest: `cron` null = off; `weekly` adds one at the first `cron` time of each Monday (UTC). */
        digest: { cron: d.DIGEST_CRON, weekly: d.DIGEST_WEEKLY },
      };
    }),
  );
}

type DeepReadonly<T> = T extends Amount
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** The configuration, as {@link loadConfig}'s schema produces it. */
export type Config = DeepReadonly<z.output<ReturnType<typeof configSchema>>> & {
  /**
   * The accounts to check, in summary order: those in PROVIDERS (or needed by the program) whose settings
   * are complete, each with its provider's module and parsed settings.
   */
  readonly accounts: readonly ConfiguredAccount[];
} & SeedViews;

/**
 * The seed's two default accounts as the seed's tools see them (import-logs, claude:record), taken from the
 * accounts their modules read: nothing here reads a Kimi or Claude setting.
 */
export interface SeedViews {
  /** The `kimi` account's key, host and currency; `null` when it is not configured. */
  readonly moonshot: {
    readonly apiKey: string;
    readonly baseUrl: string;
    readonly currency: Currency;
  } | null;
  /** Kimi's currency, known even without an API key (import-logs reads the seed's log in it). */
  readonly moonshotCurrency: Currency;
  /** The `claude` account's database; `null` when it is not configured. */
  readonly claudeDb: ClaudeDbSettings | null;
  /** When a reading of the `claude` account counts as stale (`CLAUDE_STALE_AFTER`, default 6 h). */
  readonly claudeStaleAfterMs: number;
}

const SIX_HOURS_MS = 6 * 3_600_000;

function seedViews(env: Env, accounts: readonly ConfiguredAccount[]): SeedViews {
  const settings = (id: string) => accounts.find((a) => a.id === id)?.settings;
  const kimi = settings('kimi') as HttpAccountSettings | undefined;
  const claude = settings('claude') as ClaudeAccountSettings | undefined;
  return {
    moonshot: kimi ? { apiKey: kimi.apiKey, baseUrl: kimi.baseUrl, currency: kimi.currency } : null,
    moonshotCurrency: kimi?.currency ?? impliedCurrency(env, 'kimi') ?? 'USD',
    claudeDb: claude
      ? {
          ...Object.fromEntries(Object.entries(claude.db).filter(([key]) => key !== 'ssl')),
          ssl: claude.sslMode === 'off' ? false : claude.sslMode,
          describe: claude.describe,
        }
      : null,
    claudeStaleAfterMs: claude?.staleAfterMs ?? SIX_HOURS_MS,
  };
}

/** One problem as the user reads it: the variable's name, the value when it may be shown, what is wrong. */
function problemText(issue: z.core.$ZodIssue): string {
  if (issue.path.length === 0) return issue.message;
  // [group, variable]: the groups read the same variables, so the name is the key.
  const name = String(issue.path[1] ?? issue.path[0]);
  const shown = issue.code === 'custom' ? (issue.params?.shown as string | undefined) : undefined;
  return `${name}${shown === undefined ? '' : `=${JSON.stringify(shown)}`} ${issue.message}`;
}

/** `env` with every value trimmed and blank ones dropped. */
function settingsText(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const v = value?.trim();
    if (v) out[name] = v;
  }
  return out;
}

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
  const needs = options.needs ?? (options.providerSettings === 'optional' ? 'none' : 'enabled');
  // The groups (core, alerts, digest) read the same variables; every provider's settings are read by its module.
  const text = settingsText(env);
  const input = { core: text, alerts: text, digest: text };
  const parsed = configSchema(needs, options.baseDir ?? projectRoot(), env).safeParse(input, {
    // Read once per process: compiling zod's generated fast path would cost more than it saves.
    jitless: true,
  });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(problemText));
  // The accounts' problems were judged above; this builds those that are complete.
  const wanted =
    needs === 'enabled' || needs === 'none'
      ? parsed.data.providers
      : [...new Set([...parsed.data.providers, ...needs.providers])];
  const accounts = readAccounts(env, wanted, () => '', []);
  return { ...parsed.data, accounts, ...seedViews(env, accounts) };
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
