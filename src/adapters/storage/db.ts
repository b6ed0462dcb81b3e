import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DEFAULT_MIGRATION_TABLE,
  type Generated,
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  SqliteDialect,
  sql,
} from 'kysely';
import type { PoolClient } from 'pg';
import { backfillRollups } from './history.js';
import type { HourlyRollupTable } from './rollups.js';
import { openSqliteInline, SqliteThreadDialect } from './sqlite-worker.js';

/** One row per balance check, ok or failed. Amounts are exact decimal text. Times are epoch ms. */
export interface ReadingsTable {
  id: Generated<number>;
  provider: string;
  checked_at: number;
  as_of: number | null;
  ok: number;
  currency: string;
  available: string | null;
  voucher: string | null;
  cash: string | null;
  latency_ms: number;
  error: string | null;
  /** `check` for live checks, `import` for readings imported from balance-log files. */
  source: string;
  /** Set for imported readings so importing the same line twice adds nothing. */
  dedupe_key: string | null;
}

export interface KvTable {
  key: string;
  value: string;
  expires_at: number | null;
}

export interface ThresholdChangesTable {
  id: Generated<number>;
  provider: string;
  old_value: string | null;
  new_value: string | null;
  changed_by: string;
  changed_at: number;
}

export interface ScheduleSlotsTable {
  job: string;
  slot: string;
  claimed_by: string;
  claimed_at: number;
  /** Until when `claimed_by` holds the slot (epoch ms); `null` for a claim that never expires. */
  lease_until: number | null;
  /** When the slot's work was done (epoch ms); `null` while it is still to do. */
  done_at: number | null;
  /** Why the last attempt gave up (`Discord was unavailable`), for the late post that follows. */
  failure: string | null;
}

/** Small named numbers the history keeps for itself, e.g. `raw_from:<provider>` (see `history.ts`). */
export interface HistoryStateTable {
  name: string;
  value: number;
}

export interface Database {
  readings: ReadingsTable;
  readings_hourly: HourlyRollupTable;
  /** Same columns, one row per provider and UTC day, joined from the day's hours once the day is over. */
  readings_daily: HourlyRollupTable;
  history_state: HistoryStateTable;
  kv: KvTable;
  threshold_changes: ThresholdChangesTable;
  schedule_slots: ScheduleSlotsTable;
}

export type Dialect = 'postgres' | 'sqlite';

/** How long an SQLite statement waits for another process's lock before failing with SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where it is, for logs: the SQLite path or the Postgres host/db (never credentials). */
  readonly describe: string;
  close(): Promise<void>;
}

/** Every migration by name, for the Migrator (and for tests that build an older schema). */
export function migrations(dialect: Dialect): Record<string, Migration> {
  // SQLite has no serial; Postgres has no autoincrement keyword. Everything else is shared.
  const id = (t: ReturnType<Kysely<unknown>['schema']['createTable']>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'serial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await id(db.schema.createTable('readings'))
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('checked_at', 'bigint', (c) => c.notNull())
          .addColumn('as_of', 'bigint')
          .addColumn('ok', 'integer', (c) => c.notNull())
          .addColumn('currency', 'text', (c) => c.notNull())
          .addColumn('available', 'text')
          .addColumn('voucher', 'text')
          .addColumn('cash', 'text')
          .addColumn('latency_ms', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('source', 'text', (c) => c.notNull().defaultTo('check'))
          .addColumn('dedupe_key', 'text', (c) => c.unique())
          .execute();
        await db.schema
          .createIndex('readings_provider_checked_at')
          .on('readings')
          .columns(['provider', 'checked_at'])
          .execute();
        await db.schema
          .createTable('kv')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .execute();
        await id(db.schema.createTable('threshold_changes'))
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('old_value', 'text')
          .addColumn('new_value', 'text')
          .addColumn('changed_by', 'text', (c) => c.notNull())
          .addColumn('changed_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('schedule_slots')
          .addColumn('job', 'text', (c) => c.notNull())
          .addColumn('slot', 'text', (c) => c.notNull())
          .addColumn('claimed_by', 'text', (c) => c.notNull())
          .addColumn('claimed_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('schedule_slots_pk', ['job', 'slot'])
          .execute();
      },
    },
    '0002_slot_leases': {
      // A claim becomes a lease: it expires unless renewed, and a slot counts as posted only once marked done,
      // so a slot claimed by a process that died is taken over instead of lost.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('schedule_slots').addColumn('lease_until', 'bigint').execute();
        await db.schema.alterTable('schedule_slots').addColumn('done_at', 'bigint').execute();
        await db.schema.alterTable('schedule_slots').addColumn('failure', 'text').execute();
        // Claims made before leases existed were final: keep them so.
        await sql`update schedule_slots set done_at = claimed_at`.execute(db);
      },
    },
    '0003_rollups': {
      // Hourly roll-ups kept for good, raw readings kept for HISTORY_RAW_DAYS (see history.ts). The roll-ups
      // of an existing database are built here from its raw rows, so no reading loses its effect.
      async up(db: Kysely<unknown>) {
        for (const table of ['readings_hourly', 'readings_daily']) {
          await db.schema
            .createTable(table)
            .addColumn('provider', 'text', (c) => c.notNull())
            .addColumn('start', 'bigint', (c) => c.notNull())
            .addColumn('currency', 'text', (c) => c.notNull())
            .addColumn('readings', 'integer', (c) => c.notNull())
            .addColumn('failures', 'integer', (c) => c.notNull())
            .addColumn('observations', 'integer', (c) => c.notNull())
            .addColumn('first_at', 'bigint')
            .addColumn('first_value', 'text')
            .addColumn('last_at', 'bigint')
            .addColumn('last_value', 'text')
            .addColumn('min_at', 'bigint')
            .addColumn('min_value', 'text')
            .addColumn('max_at', 'bigint')
            .addColumn('max_value', 'text')
            .addColumn('spend', 'text')
            .addColumn('top_ups', 'text')
            .addPrimaryKeyConstraint(`${table}_pk`, ['provider', 'start'])
            .execute();
        }
        // Successful readings are bucketed and read by the time the balance was true.
        await db.schema
          .createIndex('readings_provider_as_of')
          .on('readings')
          .columns(['provider', 'as_of'])
          .execute();
        await db.schema
          .createTable('history_state')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'bigint', (c) => c.notNull())
          .execute();
        await backfillRollups(db as Kysely<Database>);
      },
    },
  };
}

class StaticMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/**
 * `true` when every migration has already run, in order. The Migrator's own way to find that out costs
 * half a dozen statements (tables, lock, transaction) on every open, which the CLI pays on each run.
 * Anything else, a fresh database included, goes through the Migrator with its checks.
 */
async function upToDate(db: Db): Promise<boolean> {
  const names = Object.keys(migrations(db.dialect)).sort();
  const table = sql.table(DEFAULT_MIGRATION_TABLE);
  const executed = sql<{ name: string }>`select name from ${table} order by timestamp, name`;
  try {
    const { rows } = await executed.execute(db.kysely);
    return rows.length === names.length && rows.every((row, i) => row.name === names[i]);
  } catch (err) {
    // No migration table yet: a new database. Any other failure (unreachable, refused) is reported as before.
    if (isMissingTable(err)) return false;
    throw err;
  }
}

function isMissingTable(err: unknown): boolean {
  // Postgres: SQLSTATE 42P01 undefined_table; SQLite: "no such table: …".
  return (err as { code?: unknown }).code === '42P01' || /^no such table/.test((err as Error).message);
}

/**
 * Bounds on every call to a Postgres store. A call settles within `connectTimeoutMs` (getting a connection,
 * new or pooled) plus the client's query bound (`queryTimeoutMs` plus a grace, see {@link clientQueryTimeoutMs}).
 */
export interface PostgresBounds {
  /** Longest wait for a connection. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /**
   * The server's `statement_timeout`: it cancels a statement running (or waiting on a lock) longer than this,
   * whether or not the client is still there. Default 10 s.
   */
  readonly queryTimeoutMs?: number;
}

export const DEFAULT_POSTGRES_BOUNDS = { connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 } as const;

/**
 * The client's own bound on one query: the server's `statement_timeout` plus a grace (as long again, at most
 * 2 s), so a server that answers at all cancels first and reports it (SQLSTATE 57014); the client's timer only
 * fires when nothing comes back (a black-holed network, a frozen server).
 */
export function clientQueryTimeoutMs(queryTimeoutMs: number): number {
  return queryTimeoutMs + Math.min(queryTimeoutMs, 2_000);
}

/** A connection left in the transaction by a client that vanished is closed by the server after this. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

function positiveMs(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer of ms (got ${value})`);
  return value;
}

/**
 * The pool Kysely runs on, over pg.Pool, made safe against connection faults:
 * - every client has an `error` listener for its whole life (pg-pool listens only while a client is idle), so a
 *   connection dropped mid-query (server restart, pg_terminate_backend, a TCP reset) fails that query instead
 *   of crashing the process with "Unhandled 'error' event";
 * - a client whose query failed without a server error (read timeout, reset, terminated) is destroyed on
 *   release rather than pooled: after a read timeout its query may still be running, so the next caller would
 *   queue behind it.
 */
/**
 * Called when the store could not be reached: a connection that could not be had within its bound, or a
 * query that failed without an answer from the server (read timeout, reset, connection terminated). A
 * server's own error (a constraint, a cancelled statement) says the server is there, so it is not reported.
 */
export type UnreachableListener = (error: unknown) => void;

type Pg = typeof import('pg').default;

function boundedPool(
  pg: Pg,
  url: string,
  bounds: Required<PostgresBounds>,
  onUnreachable: UnreachableListener,
): PostgresPool {
  // int8 (epoch ms) as a JS number: safe until the year 287396.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text'),
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: 5,
    types,
    connectionTimeoutMillis: bounds.connectTimeoutMs,
    query_timeout: clientQueryTimeoutMs(bounds.queryTimeoutMs),
    // Our own Postgres (not a pooler), so startup parameters are fine: the server enforces its bound even when
    // the client is gone, and drops a transaction its client abandoned.
    options: `-c statement_timeout=${bounds.queryTimeoutMs} -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  // A checked-out client losing its connection: its query rejects with the cause; the event itself says no more.
  pool.on('connect', (client) => client.on('error', () => {}));
  return {
    connect: async () => {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        if (!(error instanceof pg.DatabaseError)) onUnreachable(error);
        throw error;
      }
      return new GuardedClient(pg, client, onUnreachable);
    },
    end: () => pool.end(),
  };
}

/** A pooled client that is destroyed on release once a query failed without a server error. */
class GuardedClient implements PostgresPoolClient {
  private broken = false;
  constructor(
    private readonly pg: Pg,
    private readonly client: PoolClient,
    private readonly onUnreachable: UnreachableListener,
  ) {}

  query<R>(sqlText: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    what: string | PostgresCursor<R>,
    parameters: readonly unknown[] = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Streaming needs the dialect's `cursor` option, which this store does not set (Kysely refuses first).
    if (typeof what !== 'string') throw new Error('cursors are not supported by this store');
    return this.client.query(what, [...parameters]).then(
      (result) => result as unknown as PostgresQueryResult<R>,
      (error: unknown) => {
        if (!(error instanceof this.pg.DatabaseError)) {
          this.broken = true;
          this.onUnreachable(error);
        }
        throw error;
      },
    );
  }

  release(destroy?: boolean): void {
    this.client.release(destroy === true || this.broken);
  }
}

/**
 * Opens the history/settings database and applies pending migrations: Postgres when `databaseUrl`
 * is set (shared by replicas; every call bounded, see {@link PostgresBounds}), else the embedded SQLite file
 * (WAL, so the CLI and a running bot can use it at the same time).
 */
export async function openDatabase(opts: {
  databaseUrl: string | null;
  sqlitePath: string;
  /** Postgres only; {@link DEFAULT_POSTGRES_BOUNDS} for what is left out. */
  postgres?: PostgresBounds;
  /**
   * Where SQLite runs: `worker` (default), a thread of its own, so nothing waits on the event loop; or
   * `inline` on this thread, for one-shot CLIs with no event loop to protect (a thread costs their start-up).
   */
  sqliteMode?: 'worker' | 'inline';
  /** Postgres only: told each time the server could not be reached (see {@link UnreachableListener}). */
  onUnreachable?: UnreachableListener;
}): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl !== null) {
    const url = new URL(opts.databaseUrl);
    const bounds = {
      connectTimeoutMs: positiveMs(
        'connectTimeoutMs',
        opts.postgres?.connectTimeoutMs ?? DEFAULT_POSTGRES_BOUNDS.connectTimeoutMs,
      ),
      queryTimeoutMs: positiveMs(
        'queryTimeoutMs',
        opts.postgres?.queryTimeoutMs ?? DEFAULT_POSTGRES_BOUNDS.queryTimeoutMs,
      ),
    };
    // pg is loaded only for a Postgres store: a bot on the embedded store never pays its ~16 MB (RSS).
    const pg = (await import('pg')).default;
    db = {
      kysely: new Kysely<Database>({
        dialect: new PostgresDialect({
          pool: boundedPool(pg, opts.databaseUrl, bounds, opts.onUnreachable ?? (() => undefined)),
        }),
      }),
      dialect: 'postgres',
      describe: `postgres ${url.hostname}:${url.port || '5432'}${url.pathname}`,
      close: async () => {
        await db.kysely.destroy();
      },
    };
  } else {
    mkdirSync(dirname(opts.sqlitePath), { recursive: true });
    const options = { path: opts.sqlitePath, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS };
    // In a worker thread, better-sqlite3's waits for another process's lock (up to the busy timeout) do
    // not stop this thread's event loop; both modes set WAL, synchronous=NORMAL and the timeout.
    const dialect =
      opts.sqliteMode === 'inline'
        ? new SqliteDialect({ database: async () => openSqliteInline(options) })
        : new SqliteThreadDialect(options);
    db = {
      kysely: new Kysely<Database>({ dialect }),
      dialect: 'sqlite',
      describe: `sqlite ${opts.sqlitePath}`,
      close: async () => {
        await db.kysely.destroy();
      },
    };
  }
  try {
    if (!(await upToDate(db))) {
      const migrator = new Migrator({ db: db.kysely, provider: new StaticMigrations(db.dialect) });
      const { error } = await migrator.migrateToLatest();
      if (error) throw error;
    }
  } catch (err) {
    await db.close().catch(() => {});
    throw new Error(`cannot prepare the database (${db.describe}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return db;
}
