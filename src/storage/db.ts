import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  DEFAULT_MIGRATION_TABLE,
  type Generated,
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';

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
}

export interface Database {
  readings: ReadingsTable;
  kv: KvTable;
  threshold_changes: ThresholdChangesTable;
  schedule_slots: ScheduleSlotsTable;
}

export type Dialect = 'postgres' | 'sqlite';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where it is, for logs: the SQLite path or the Postgres host/db (never credentials). */
  readonly describe: string;
  close(): Promise<void>;
}

function migrations(dialect: Dialect): Record<string, Migration> {
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
 * Opens the history/settings database and applies pending migrations: Postgres when `databaseUrl`
 * is set (shared by replicas), else the embedded SQLite file (WAL, so the CLI and a running bot can
 * use it at the same time).
 */
export async function openDatabase(opts: { databaseUrl: string | null; sqlitePath: string }): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl !== null) {
    const url = new URL(opts.databaseUrl);
    // int8 (epoch ms) as a JS number: safe until the year 287396.
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text'),
    };
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 5,
      types,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    db = {
      kysely: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      dialect: 'postgres',
      describe: `postgres ${url.hostname}:${url.port || '5432'}${url.pathname}`,
      close: async () => {
        await db.kysely.destroy();
      },
    };
  } else {
    mkdirSync(dirname(opts.sqlitePath), { recursive: true });
    const sqlite = new SQLite(opts.sqlitePath, { timeout: 5000 });
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    db = {
      kysely: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
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
