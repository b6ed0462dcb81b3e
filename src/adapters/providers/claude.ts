import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'node:tls';
import type {
  ClientConfig,
  CustomTypesConfig,
  Pool,
  PoolClient,
  PoolConfig,
  QueryConfig,
  QueryResult,
} from 'pg';
import { estimateNote, formatUtc, oneLine } from '../../core/format.js';
import { type Amount, amountToText, implausibleReason, parseAmount } from '../../core/money.js';
import { type BalanceProvider, type BalanceReading, type DailySpend, isStale } from '../../core/types.js';

// The staleness rule lives with the reading types (the service applies it); re-exported for callers of this module.
export { isStale } from '../../core/types.js';

import { type Redactor, redactor } from '../../core/redact.js';
import {
  type ClaudeEstimateSettings,
  type ClaudeEstimator,
  createClaudeEstimator,
  fallbackNote,
  readEstimateSettings,
} from './claude-estimate.js';
import { EXAMPLE_VALUE_PROBLEM, type ProviderModule } from './module.js';
import { boundedCheck, errorCode, errorText, type Failure, MAX_REASON } from './shared.js';

/**
 * Where the `claude_api_usage` table lives. Either a `connectionString` (`postgres://user:pass@host:5432/db`)
 * or the separate fields; when both are given, values in the connection string win (pg's own rule).
 * Anything left out falls back to pg's defaults.
 */
export interface ClaudeDbConfig {
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /**
   * `true` for TLS with certificate verification against the system CAs, or Node TLS options
   * (e.g. `{ ca }` with Supabase's root certificate). Omitted: whatever the connection string says.
   */
  readonly ssl?: boolean | ConnectionOptions;
}

/** Options for {@link createClaudeProvider}. */
export interface ClaudeProviderOptions extends ClaudeDbConfig {
  readonly currency: 'USD';
  /** The account the results are for (`claude:ops`); `claude` when omitted. */
  readonly accountId?: string;
  /** Upper bound for one whole check: getting a connection plus the query. */
  readonly timeoutMs: number;
  /** Readings whose `asOf` is older than this are stale; see {@link isStale}. */
  readonly staleAfterMs: number;
  readonly now?: () => Date;
  /**
   * With an Admin key: the reading becomes an estimate, the latest row less the spend the cost report shows
   * since it (`claude-estimate.ts`); the table figure, saying why, when that fails. Closed with the provider.
   */
  readonly estimate?: ClaudeEstimator;
}

/** The Claude provider, plus the staleness rule bound to its configured `staleAfterMs`. */
export interface ClaudeProvider extends BalanceProvider {
  readonly staleAfterMs: number;
  /** {@link isStale} with this provider's `staleAfterMs`. */
  isStale(reading: Pick<BalanceReading, 'asOf'>, now?: Date): boolean;
}

/**
 * How far ahead of the database's clock a row may be dated before it is ignored: a typo such as 2099 must not
 * hide the real rows for good, and a few minutes cover clock skew between the writer and the database.
 */
export const CLAUDE_FUTURE_TOLERANCE = "interval '5 minutes'";

/**
 * The reading: the latest row not dated in the future. Run with the session's TimeZone set to UTC, so a
 * `timestamp` (no zone) column compares and reads as UTC.
 */
export const CLAUDE_BALANCE_QUERY =
  'SELECT available_balance, updated_at FROM claude_api_usage ' +
  `WHERE updated_at IS NULL OR updated_at <= now() + ${CLAUDE_FUTURE_TOLERANCE} ` +
  'ORDER BY updated_at DESC NULLS LAST LIMIT 1';

/** Counts the rows {@link CLAUDE_BALANCE_QUERY} ignored for being dated in the future (reported as a warning). */
export const CLAUDE_FUTURE_ROWS_QUERY =
  'SELECT count(*) AS future_rows, max(updated_at) AS latest FROM claude_api_usage ' +
  `WHERE updated_at > now() + ${CLAUDE_FUTURE_TOLERANCE}`;

/** A database operation of {@link recordClaudeBalance} failed; `message` is safe to show (no password). */
export class ClaudeDbError extends Error {
  override readonly name = 'ClaudeDbError';
  constructor(
    message: string,
    /** `host:port` of the database. */
    readonly target: string,
    /** SQLSTATE or Node error code, when there is one. */
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Reading {
  readonly ok: true;
  readonly available: Amount;
  /** `null`: the row's `updated_at` is NULL, so the figure's age is unknown. */
  readonly asOf: Date | null;
  readonly warnings?: readonly string[];
  /** The estimate from this row (the anchor), or why there is none (`fallback`). */
  readonly estimated?: {
    readonly spentSince: Amount;
    readonly days: readonly DailySpend[];
    readonly at: Date;
  };
  readonly fallback?: string;
}

/** Time kept back from the check's budget for the fallback: the estimate gives up this much before the deadline. */
const ESTIMATE_MARGIN_MS = 50;
type Outcome = Reading | Failure;

type Phase = 'connect' | 'query';

interface AttemptState {
  phase: Phase;
  abandoned: boolean;
  /** `performance.now()` when the check's budget runs out. */
  readonly deadline: number;
}

/**
 * Reads Claude's balance from the latest row of `claude_api_usage` (kept up to date by a scrape job or by
 * `npm run claude:record`). `check()` never throws and settles within `timeoutMs`; `asOf` is the row's
 * `updated_at`, and a NULL `updated_at` yields a reading of unknown age (`asOf: null`, always stale).
 */
export function createClaudeProvider(options: ClaudeProviderOptions): ClaudeProvider {
  const { timeoutMs, staleAfterMs, currency } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`claude timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
  }
  const now = options.now ?? (() => new Date());
  const facts = describeTarget(options);
  // The pool (and pg itself) is made at the first check, so an account list without Claude never loads pg.
  let pool: Promise<Pool> | null = null;
  const makePool = async (): Promise<Pool> => {
    const pg = await loadPg();
    const made = new pg.Pool({
      ...clientConfig(options, pg),
      max: 2,
      connectionTimeoutMillis: timeoutMs,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
      keepAlive: true,
    } satisfies PoolConfig);
    // Without a listener, an idle client losing its connection would crash the process; the next check
    // reports the problem on its own.
    made.on('error', () => undefined);
    // pg-pool listens only while a client is idle: a connection dropped during the query (restart, failover,
    // pg_terminate_backend, a reset) would emit an unhandled 'error'. The query itself rejects with the cause.
    made.on('connect', (client) => client.on('error', () => undefined));
    return made;
  };
  let closed = false;

  async function attempt(state: AttemptState): Promise<Outcome> {
    pool ??= makePool();
    const { DatabaseError } = await loadPg();
    const client: PoolClient = await (await pool).connect();
    const budgetMs = Math.ceil(state.deadline - performance.now());
    if (state.abandoned || budgetMs <= 0) {
      client.release();
      return { ok: false, reason: 'abandoned' };
    }
    state.phase = 'query';
    let results: QueryResult[];
    try {
      // Bounded on both sides by what is left of the check's budget: the client stops waiting, and the
      // server cancels the statement itself (a query waiting on a lock would otherwise wait for as long as
      // the lock lasts, one leaked backend per check). SET LOCAL, not a startup parameter, because
      // PgBouncer-style poolers (Supabase's) refuse those; one simple-protocol message is one implicit
      // transaction, so the settings end with it and a transaction-mode pooler keeps them to this check.
      const text =
        `SET LOCAL statement_timeout = ${budgetMs}; SET LOCAL TimeZone = 'UTC'; ` +
        `${CLAUDE_BALANCE_QUERY}; ${CLAUDE_FUTURE_ROWS_QUERY}`;
      // pg reads query_timeout per query too, though its types only list it for the connection.
      const query: QueryConfig & { query_timeout: number } = { text, query_timeout: budgetMs };
      const answer: unknown = await client.query(query);
      results = answer as QueryResult[];
    } catch (error) {
      // Unless the server reported an error and is ready for the next query, the connection is mid-protocol
      // or gone (read timeout, reset, terminated): never hand it back to the pool.
      client.release(!(error instanceof DatabaseError));
      throw error;
    }
    client.release();
    const [, , balance, future] = results;
    const table = interpretRows(balance?.rows ?? [], futureRows(future?.rows[0]));
    if (!table.ok || options.estimate === undefined || state.abandoned) return table;
    return estimateFrom(table, options.estimate, state);
  }

  /** The table's reading as the anchor of an estimate; the table figure with the reason when there is none. */
  async function estimateFrom(
    table: Reading,
    estimator: ClaudeEstimator,
    state: AttemptState,
  ): Promise<Reading> {
    const fallback = (reason: string): Reading => ({
      ...table,
      fallback: reason,
      // Logged at warn by the service, so a broken Admin key is noticed.
      warnings: [...(table.warnings ?? []), `Claude ${fallbackNote(reason)}`],
    });
    if (table.asOf === null)
      return fallback('the latest claude_api_usage row has no updated_at to count from');
    let at: Date;
    try {
      at = now();
    } catch {
      at = new Date();
    }
    const outcome = await estimator.spendSince(table.asOf, at, state.deadline - ESTIMATE_MARGIN_MS);
    if (!outcome.ok) return fallback(outcome.reason);
    return { ...table, estimated: { spentSince: outcome.spentSince, days: outcome.days, at } };
  }

  const check = boundedCheck<Reading>('claude', options, {
    isClosed: () => closed,
    redactor: facts.redact,
    begin() {
      const state: AttemptState = {
        phase: 'connect',
        abandoned: false,
        deadline: performance.now() + timeoutMs,
      };
      return {
        run: () => attempt(state),
        fail: (error) => describeDbError(error, facts, timeoutMs, state.phase),
        timeout() {
          state.abandoned = true;
          return timeoutReason(facts.target, timeoutMs, state.phase);
        },
      };
    },
    figures: ({ available, asOf, warnings, estimated, fallback }, checkedAt) => {
      const base = { ...(warnings ? { warnings } : {}) };
      if (estimated && asOf !== null) {
        const estimate = { anchor: available, anchorAt: asOf, spentSince: estimated.spentSince };
        return {
          ...base,
          available: available.minus(estimated.spentSince),
          // The spend is as of this check, however old the anchor: an estimate is never stale.
          asOf: checkedAt,
          note: estimateNote(estimate, currency),
          estimate,
          spendByDay: estimated.days,
        };
      }
      return { ...base, available, asOf, ...(fallback ? { note: fallbackNote(fallback) } : {}) };
    },
  });

  return {
    id: options.accountId ?? 'claude',
    currency,
    staleAfterMs,
    check,
    isStale: (reading, at = now()) => isStale(reading, staleAfterMs, at),
    async close() {
      if (closed) return;
      closed = true;
      const ending = pool?.then((p) => p.end()).catch(() => undefined);
      await Promise.all([ending, options.estimate?.close()]);
    },
  };
}

/**
 * Appends a manual reading to `claude_api_usage`, creating the table first if it does not exist.
 * `at` defaults to the database's `now()`. Throws {@link ClaudeDbError} (message without the password)
 * when the database cannot be reached or refuses, and RangeError when the amount does not fit the column.
 */
export async function recordClaudeBalance(
  config: ClaudeDbConfig & { readonly timeoutMs?: number },
  amount: Amount,
  at?: Date,
): Promise<{ readonly available: Amount; readonly updatedAt: Date }> {
  // numeric(12,4) would silently round a fifth decimal and reject 1e8 or more; say so before writing.
  if (amount.abs().gte(1e8))
    throw new RangeError(`amount ${amountToText(amount)} is too large (max 99999999.9999)`);
  if (!amount.round(4).eq(amount))
    throw new RangeError(`amount ${amountToText(amount)} has more than 4 decimals`);
  if (at !== undefined && Number.isNaN(at.getTime())) throw new RangeError('at is not a valid date');

  const timeoutMs = config.timeoutMs ?? 10_000;
  const facts = describeTarget(config);
  const pg = await loadPg();
  const client = new pg.Client({
    ...clientConfig(config, pg),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  } satisfies ClientConfig);
  client.on('error', () => undefined);
  let phase: Phase = 'connect';
  try {
    await client.connect();
    phase = 'query';
    // One transaction, so the settings stay with it (see the provider's query): the server cancels any
    // statement past the bound, and a `timestamp` column is written and read as UTC.
    await client.query(
      `BEGIN; SET LOCAL statement_timeout = ${Math.ceil(timeoutMs)}; SET LOCAL TimeZone = 'UTC'`,
    );
    await client.query(CREATE_TABLE);
    const { rows } = await client.query<{ available_balance: unknown; updated_at: unknown }>(
      `INSERT INTO claude_api_usage (available_balance, updated_at)
       VALUES ($1::numeric, COALESCE($2::timestamptz, now()))
       RETURNING available_balance, updated_at`,
      [amountToText(amount), at ?? null],
    );
    await client.query('COMMIT');
    const outcome = interpretRows(rows);
    if (!outcome.ok)
      throw new ClaudeDbError(`recorded row reads back wrong: ${outcome.reason}`, facts.target, undefined);
    // The insert always sets updated_at; only a trigger on the team's table could clear it.
    if (outcome.asOf === null)
      throw new ClaudeDbError('recorded row reads back wrong: updated_at is NULL', facts.target, undefined);
    return { available: outcome.available, updatedAt: outcome.asOf };
  } catch (error) {
    if (error instanceof ClaudeDbError) throw error;
    const reason = oneLine(facts.redact(describeDbError(error, facts, timeoutMs, phase)), MAX_REASON);
    throw new ClaudeDbError(reason, facts.target, errorCode(error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The table `recordClaudeBalance` creates when absent: the two columns the seed reads, an id for ordering
 * equal timestamps, and NOT NULL on both because this writer never leaves either empty. An existing table
 * (e.g. the scrape job's, with other columns) is left as it is.
 */
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS claude_api_usage (
  id bigserial PRIMARY KEY,
  available_balance numeric(12,4) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

type Pg = typeof import('pg').default;
let pgModule: Promise<Pg> | null = null;
/** pg, loaded once on first use. */
function loadPg(): Promise<Pg> {
  pgModule ??= import('pg').then((m) => m.default);
  return pgModule;
}

// Postgres type OIDs (pg_type.oid; fixed for built-in types).
const OID = {
  INT8: 20,
  INT2: 21,
  INT4: 23,
  FLOAT4: 700,
  FLOAT8: 701,
  TIMESTAMP: 1114,
  NUMERIC: 1700,
} as const;
// Number-like columns come back as the exact text Postgres sent, never through a float.
const RAW_TEXT_OIDS = new Set<number>([OID.NUMERIC, OID.FLOAT4, OID.FLOAT8, OID.INT2, OID.INT4, OID.INT8]);

/**
 * A `timestamp` (without time zone) is read as UTC. pg's own parser reads it in the process's local zone, so
 * with TZ set a 7-hour-old reading would look fresh. A value Date cannot hold (infinity, BC, beyond year 9999)
 * becomes an invalid Date, reported as "not a point in time".
 */
export function parseTimestampAsUtc(value: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(value);
  if (match === null) return new Date(Number.NaN);
  // Date keeps milliseconds; finer digits are cut, never rounded into the next second.
  const fraction = (match[3] ?? '').slice(0, 4);
  return new Date(`${match[1]}T${match[2]}${fraction}Z`);
}

function typeParsers({ types }: Pg): CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (format === 'binary') return types.getTypeParser(oid, format);
      if (RAW_TEXT_OIDS.has(oid)) return (value: string) => value;
      if (oid === OID.TIMESTAMP) return parseTimestampAsUtc;
      return types.getTypeParser(oid, 'text');
    }) as CustomTypesConfig['getTypeParser'],
  };
}

function clientConfig(config: ClaudeDbConfig, pg: Pg): ClientConfig {
  const out: ClientConfig = { types: typeParsers(pg), application_name: 'creditwatch' };
  if (config.connectionString !== undefined) out.connectionString = config.connectionString;
  if (config.host !== undefined) out.host = config.host;
  if (config.port !== undefined) out.port = config.port;
  if (config.user !== undefined) out.user = config.user;
  if (config.password !== undefined) out.password = config.password;
  if (config.database !== undefined) out.database = config.database;
  if (config.ssl !== undefined) out.ssl = config.ssl;
  return out;
}

interface TargetFacts {
  /** `host:port` */
  readonly target: string;
  readonly host: string;
  readonly user: string | undefined;
  readonly database: string | undefined;
  /** Removes every text that must never appear in a reason (password, connection string). */
  readonly redact: Redactor;
}

function describeTarget(config: ClaudeDbConfig): TargetFacts {
  let host = config.host;
  let port = config.port === undefined ? undefined : String(config.port);
  let user = config.user;
  let database = config.database;
  const secrets: string[] = [];
  if (config.password) secrets.push(config.password);
  if (config.connectionString) {
    secrets.push(config.connectionString);
    try {
      const url = new URL(config.connectionString);
      if (url.hostname) host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (url.port) port = url.port;
      if (url.username) user = safeDecode(url.username);
      const db = url.pathname.replace(/^\//, '');
      if (db) database = safeDecode(db);
      if (url.password) secrets.push(url.password, safeDecode(url.password));
    } catch {
      // Not URL-shaped (e.g. a key=value string): pg still parses it, the labels just stay generic.
    }
  }
  const hostLabel = host ?? 'localhost';
  return {
    target: `${hostLabel}:${port ?? '5432'}`,
    host: hostLabel,
    user,
    database,
    redact: redactor(secrets),
  };
}

/** Rows dated too far in the future, ignored by {@link CLAUDE_BALANCE_QUERY}. */
export interface FutureRows {
  readonly count: number;
  readonly latest: unknown;
}

/** The future-rows query's one row, as counted rows and the latest of them (exported for its unit tests). */
export function futureRows(row: unknown): FutureRows {
  const { future_rows: count, latest } = (row ?? {}) as Record<string, unknown>;
  return { count: Number(count ?? 0) || 0, latest };
}

function describeFutureRows({ count, latest }: FutureRows): string {
  const when =
    latest instanceof Date && !Number.isNaN(latest.getTime())
      ? formatUtc(latest)
      : oneLine(String(latest), 40);
  const rows = count === 1 ? '1 claude_api_usage row' : `${count} claude_api_usage rows`;
  return `ignored ${rows} dated more than 5 minutes in the future (latest ${when})`;
}

/**
 * The latest row of `claude_api_usage` (as pg returns it with this module's type parsers: numbers as text,
 * times as Date) as a reading or the reason it is none. Exported for its unit tests.
 */
export function interpretRows(
  rows: readonly unknown[],
  future: FutureRows = { count: 0, latest: null },
): Outcome {
  const row = rows[0];
  if (row === undefined) {
    return {
      ok: false,
      reason:
        future.count > 0
          ? `claude_api_usage has no rows dated up to now; ${describeFutureRows(future)}`
          : 'claude_api_usage has no rows',
    };
  }
  const { available_balance: balance, updated_at: updatedAt } = row as Record<string, unknown>;
  if (balance === null || balance === undefined) {
    return { ok: false, reason: 'latest claude_api_usage row has no available_balance (NULL)' };
  }
  let available: Amount;
  try {
    available = parseAmount(String(balance));
  } catch {
    const shown = oneLine(String(balance), 40);
    // numeric accepts 'Infinity' (PostgreSQL 14+): beyond any real balance, not a malformed one.
    if (/^[-+]?inf(inity)?$/i.test(shown))
      return { ok: false, reason: implausibleReason('available', shown) };
    return {
      ok: false,
      reason: `latest claude_api_usage row has an available_balance that is not a number (${shown})`,
    };
  }
  let asOf: Date | null;
  if (updatedAt === null || updatedAt === undefined) {
    asOf = null;
  } else if (updatedAt instanceof Date && !Number.isNaN(updatedAt.getTime())) {
    asOf = updatedAt;
  } else {
    const shown = oneLine(String(updatedAt), 40);
    return {
      ok: false,
      reason: `latest claude_api_usage row has an updated_at that is not a point in time (${shown})`,
    };
  }
  return future.count > 0
    ? { ok: true, available, asOf, warnings: [describeFutureRows(future)] }
    : { ok: true, available, asOf };
}

function timeoutReason(target: string, timeoutMs: number, phase: Phase): string {
  return phase === 'connect'
    ? `no connection to database ${target} within ${timeoutMs} ms`
    : `database ${target} did not answer the query within ${timeoutMs} ms`;
}

function describeDbError(error: unknown, facts: TargetFacts, timeoutMs: number, phase: Phase): string {
  const code = errorCode(error);
  const message = errorText(error, facts.redact);
  const user = facts.user ?? /user "([^"]*)"/.exec(message)?.[1] ?? '(default)';
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ETIMEDOUT':
      return `cannot connect to database ${facts.target} (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve database host ${facts.host} (${code})`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `database ${facts.target} closed the connection (${code})`;
    case '28P01':
      return `database rejected the credentials for user "${user}"`;
    case '28000':
      return `database refused user "${user}": ${message}`;
    case '3D000':
      return `${message} on ${facts.target}`;
    case '42P01':
      return 'table claude_api_usage does not exist';
    case '42703':
      return `table claude_api_usage does not have the expected columns: ${message}`;
    case '42501':
      return `database user "${user}" may not read claude_api_usage: ${message}`;
    case '57014':
      // Our own statement_timeout (the check's budget) fired on the server first: the same timeout as ours.
      if (/statement timeout/i.test(message)) return timeoutReason(facts.target, timeoutMs, 'query');
      return `database canceled the query: ${message}`;
    case undefined:
      break;
    default:
      if (
        code.startsWith('ERR_TLS') ||
        code.startsWith('ERR_SSL') ||
        code.startsWith('CERT_') ||
        code.includes('SELF_SIGNED')
      ) {
        return `TLS handshake with database ${facts.target} failed (${code})`;
      }
      return /^[0-9A-Z]{5}$/.test(code)
        ? `database error ${code}: ${message}`
        : `database ${facts.target} error: ${message} (${code})`;
  }
  if (/timeout exceeded when trying to connect|connection timeout|timeout expired/i.test(message)) {
    return timeoutReason(facts.target, timeoutMs, 'connect');
  }
  if (/query read timeout/i.test(message)) return timeoutReason(facts.target, timeoutMs, 'query');
  if (/password must be a string|SASL/i.test(message)) {
    return `database asked for a password for user "${user}" but the configured one is missing or unusable`;
  }
  if (/connection terminated/i.test(message)) {
    const during = phase === 'connect' ? 'connect' : 'the query';
    return `database ${facts.target} closed the connection during ${during}`;
  }
  return `database ${facts.target} error: ${message}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `CLAUDE_DB_SSL`: plain, TLS without a CA check (libpq's sslmode=require), or TLS checked against system CAs. */
export type ClaudeSslMode = 'off' | 'require' | 'verify';

/** Claude's account settings: where the table lives and when a reading counts as stale. */
export interface ClaudeAccountSettings {
  readonly db: ClaudeDbConfig;
  /** The TLS mode `db.ssl` was made from. */
  readonly sslMode: ClaudeSslMode;
  /** `host:port/db`, for messages (never the password). */
  readonly describe: string;
  readonly staleAfterMs: number;
  /** The Admin API settings of the live estimate (issue 13), when an Admin key is set. */
  readonly estimate?: ClaudeEstimateSettings;
}

const SUPABASE_HOST = /\.supabase\.(co|com)$/i;

/** pg's `ssl` for a mode: `require` is libpq's sslmode=require, encrypted but the certificate not checked. */
const sslOption = (mode: ClaudeSslMode): boolean | ConnectionOptions =>
  mode === 'verify' ? true : mode === 'require' ? { rejectUnauthorized: false } : false;

/** Values `.env.example` ships for Claude's settings (the seed's Supabase ones by their exact names). */
const SEED_EXAMPLE_VALUES: Readonly<Record<string, string>> = {
  DB_URL: 'postgres://postgres:password@db.example.supabase.co:5432/postgres',
  SUPABASE_DB_HOST: 'db.example.supabase.co',
  SUPABASE_DB_PASSWORD: 'your-db-password',
};
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;
const DURATION_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Claude (the `claude_api_usage` table): `CLAUDE_DB_URL` or, for the default account only, the seed's
 * `SUPABASE_DB_HOST`/`_PASSWORD`/`_USER`/`_NAME`/`_PORT`; `CLAUDE_DB_SSL` (off, require, verify; `require` for
 * Supabase hosts by default); `CLAUDE_STALE_AFTER` (default 6h). Account `x` reads `CLAUDE_X_DB_URL`, ….
 */
const CLAUDE_TABLE_MODULE: ProviderModule<ClaudeAccountSettings> = {
  id: 'claude',
  label: 'Claude',
  emoji: '💳',
  envPrefix: 'CLAUDE',
  exampleValues: { DB_URL: SEED_EXAMPLE_VALUES.DB_URL! },
  settings(env) {
    let ok = true;
    const required = env.required !== false;
    // The seed's variables name the default account's database only.
    const supabase = (name: string) =>
      env.account === undefined ? env.exact(`SUPABASE_DB_${name}`) : undefined;
    const sslRaw = env.get('DB_SSL')?.toLowerCase();
    if (sslRaw !== undefined && sslRaw !== 'off' && sslRaw !== 'require' && sslRaw !== 'verify') {
      env.problem(
        `${env.name('DB_SSL')}=${JSON.stringify(sslRaw.slice(0, 20))} must be off, require or verify`,
      );
      ok = false;
    }
    // Supabase refuses plain connections; a local or self-hosted database usually has no TLS.
    const sslMode = (host: string): ClaudeSslMode =>
      sslRaw === 'off' || sslRaw === 'require' || sslRaw === 'verify'
        ? sslRaw
        : SUPABASE_HOST.test(host)
          ? 'require'
          : 'off';
    const staleRaw = env.get('STALE_AFTER') ?? '6h';
    const staleMatch = DURATION.exec(staleRaw);
    const staleAfterMs = staleMatch
      ? Math.round(Number(staleMatch[1]) * (DURATION_MS[(staleMatch[2] ?? 's').toLowerCase()] ?? 1000))
      : Number.NaN;
    if (!(staleAfterMs > 0)) {
      env.problem(
        `${env.name('STALE_AFTER')}=${JSON.stringify(staleRaw.slice(0, 20))} is not a duration; use e.g. 90s, 15m, 6h or 1d`,
      );
      ok = false;
    }
    const urlText = env.get('DB_URL');
    const host = supabase('HOST');
    const password = supabase('PASSWORD');
    if (required) {
      // A copied .env with claude switched off still runs.
      for (const [name, value] of [
        [env.name('DB_URL'), urlText],
        ['SUPABASE_DB_HOST', host],
        ['SUPABASE_DB_PASSWORD', password],
      ] as const) {
        if (
          value !== undefined &&
          value === SEED_EXAMPLE_VALUES[name === env.name('DB_URL') ? 'DB_URL' : name]
        ) {
          env.problem(`${name} ${EXAMPLE_VALUE_PROBLEM}`);
          ok = false;
        }
      }
    }
    if (urlText !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(urlText);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
        env.problem(`${env.name('DB_URL')} is not a valid postgres: or postgresql: URL`);
        return undefined;
      }
      if (!ok) return undefined;
      const mode = sslMode(url.hostname);
      return {
        db: { connectionString: urlText, ssl: sslOption(mode) },
        sslMode: mode,
        describe: `${url.hostname}:${url.port || '5432'}${url.pathname}`,
        staleAfterMs,
      };
    }
    if (host === undefined) {
      if (required)
        env.problem(
          `${env.name('DB_URL')}${env.account === undefined ? ' (or SUPABASE_DB_HOST + SUPABASE_DB_PASSWORD)' : ''} is missing; ${env.because}`,
        );
      return undefined;
    }
    const portText = supabase('PORT') ?? '5432';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) {
      env.problem(
        `SUPABASE_DB_PORT=${JSON.stringify(portText.slice(0, 20))} must be a whole number from 1 to 65535, in plain digits`,
      );
      ok = false;
    }
    if (password === undefined) {
      env.problem(
        'SUPABASE_DB_PASSWORD is missing; it is needed with SUPABASE_DB_HOST (or set CLAUDE_DB_URL)',
      );
      ok = false;
    }
    if (!ok || password === undefined) return undefined;
    const database = supabase('NAME') ?? 'postgres';
    const mode = sslMode(host);
    return {
      db: { host, port, user: supabase('USER') ?? 'postgres', password, database, ssl: sslOption(mode) },
      sslMode: mode,
      describe: `${host}:${port}/${database}`,
      staleAfterMs,
    };
  },
  currency: () => 'USD',
  create: (settings, context) =>
    createClaudeProvider({
      ...settings.db,
      currency: 'USD',
      timeoutMs: context.timeoutMs,
      staleAfterMs: settings.staleAfterMs,
      accountId: context.accountId,
      ...(context.now ? { now: context.now } : {}),
      ...(settings.estimate
        ? {
            estimate: createClaudeEstimator(settings.estimate, {
              timeoutMs: context.timeoutMs,
              ...(context.dispatcher ? { dispatcher: context.dispatcher } : {}),
            }),
          }
        : {}),
    }),
};

/**
 * Claude: the table module above, plus the live estimate when `ANTHROPIC_ADMIN_KEY` is set (account `x`:
 * `CLAUDE_X_ANTHROPIC_ADMIN_KEY`); see `claude-estimate.ts`.
 */
export const CLAUDE_MODULE: ProviderModule<ClaudeAccountSettings> = {
  ...CLAUDE_TABLE_MODULE,
  settings(env) {
    const table = CLAUDE_TABLE_MODULE.settings(env);
    const estimate = readEstimateSettings(env);
    return table && estimate ? { ...table, estimate } : table;
  },
};
