import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import Keyv from 'keyv';
import type { ClaudeDbConfig } from '../adapters/providers/claude.js';
import { BalanceLog } from '../adapters/storage/balance-log.js';
import { openDatabase } from '../adapters/storage/db.js';
import { DeferredDb, describeStore } from '../adapters/storage/deferred-db.js';
import { HistoryStore } from '../adapters/storage/history.js';
import { SqlKeyvStore } from '../adapters/storage/keyv-store.js';
import { SlotClaims } from '../adapters/storage/slots.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { DEFAULT_STORE_RETRY, type RetryBackoff } from '../core/pending-writes.js';
import { BalanceService } from '../core/service.js';
import { ThresholdStore } from '../core/thresholds.js';
import type { BalanceProvider } from '../core/types.js';

/** Everything every entry point shares: built once, closed once. */
export interface Core {
  readonly config: Config;
  readonly logger: Logger;
  /** The store; it may not be open yet (see `DeferredDb`): callers treat that as a store failure. */
  readonly db: DeferredDb;
  /**
   * Why the store could not be opened, when `createCore` was asked to try once (the CLI) and it
   * failed; `null` otherwise.
   */
  readonly storeProblem: string | null;
  readonly service: BalanceService;
  readonly thresholds: ThresholdStore;
  readonly history: HistoryStore;
  readonly slots: SlotClaims;
  /** keyv over the same database, namespaced per use (`thresholds`, `alerts`). */
  keyv(namespace: string): Keyv<string>;
  close(): Promise<void>;
}

/**
 * The accounts the configuration enables (`config.providers`), in summary order, each built by its
 * provider's module.
 */
export async function createProviders(config: Config, now?: () => Date): Promise<BalanceProvider[]> {
  return config.accounts
    .filter((account) => config.providers.includes(account.id))
    .map((account) =>
      account.module.create(account.settings, {
        accountId: account.id,
        timeoutMs: config.providerTimeoutMs,
        ...(now ? { now } : {}),
      }),
    );
}

/** pg connection settings for the Claude table from the configuration. */
export function claudeConnection(db: NonNullable<Config['claudeDb']>): ClaudeDbConfig {
  const { describe: _describe, ssl, ...rest } = db;
  // 'require' is libpq's sslmode=require: encrypted, certificate not checked (Supabase's CA is not a public one).
  return {
    ...rest,
    ssl: ssl === 'verify' ? true : ssl === 'require' ? { rejectUnauthorized: false } : false,
  };
}

export interface CoreOptions {
  providers?: BalanceProvider[];
  now?: () => Date;
  /**
   * `keep-trying` (default, the bot): a store that can't be opened at start is retried with backoff
   * while everything else runs (history buffered, thresholds at their defaults). `try-once` (the CLI):
   * one attempt; when it fails, `storeProblem` says why and the core runs without a store (default
   * thresholds, nothing recorded, the balance-log files still written).
   */
  store?: 'keep-trying' | 'try-once';
  /**
   * Where embedded SQLite runs: `worker` (default), its own thread, so lock waits never stop the event
   * loop; `inline` for one-shot CLIs (see `openDatabase`).
   */
  sqliteMode?: 'worker' | 'inline';
  /** Backoff for reopening the store and for writes waiting for it (default `DEFAULT_STORE_RETRY`). */
  storeRetry?: RetryBackoff;
}

/**
 * Builds the shared balance service over the history/settings store. The first attempt to open the
 * store (running migrations) is awaited; when it fails the core is built all the same (see
 * `CoreOptions.store`), so a store outage never stops a check.
 */
export async function createCore(config: Config, logger: Logger, options: CoreOptions = {}): Promise<Core> {
  const retry = options.storeRetry ?? DEFAULT_STORE_RETRY;
  const keepTrying = (options.store ?? 'keep-trying') === 'keep-trying';
  const where = { databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath };
  const sqliteMode = options.sqliteMode ? { sqliteMode: options.sqliteMode } : {};
  const db = new DeferredDb({
    open: (onUnreachable) => openDatabase({ ...where, ...sqliteMode, onUnreachable }),
    dialect: config.databaseUrl === null ? 'sqlite' : 'postgres',
    describe: describeStore(where),
    retry,
    // The CLI reports its one attempt itself, in one line.
    logger: keepTrying
      ? logger.child({ module: 'store' })
      : logger.child({ module: 'store' }, { level: 'silent' }),
  });
  const opened = await db.tryOpen();
  const storeProblem = opened || keepTrying ? null : db.lastProblem;
  if (!opened && keepTrying) db.keepOpening();
  // keyv sets `namespace` on its store, so each namespace gets its own adapter over the shared table.
  const keyv = (namespace: string): Keyv<string> =>
    new Keyv<string>({ store: new SqlKeyvStore(db), namespace, emitErrors: false, throwOnErrors: true });
  const thresholds = new ThresholdStore(
    // Without a store (the CLI's failed attempt) every threshold is the default, as its warning says.
    storeProblem === null ? keyv('thresholds') : new Keyv<string>({ namespace: 'thresholds' }),
    db,
    config.defaultThreshold,
    logger.child({ module: 'thresholds' }),
    new Map(config.accounts.flatMap((a) => (a.threshold === undefined ? [] : [[a.id, a.threshold]]))),
  );
  const history = new HistoryStore(db, { rawDays: config.historyRawDays });
  const providers = options.providers ?? (await createProviders(config, options.now));
  const service = new BalanceService({
    providers,
    history,
    thresholds,
    balanceLog: new BalanceLog(config.balanceLogDir, {
      logger: logger.child({ module: 'balance-log' }),
      retry,
    }),
    logger,
    // Accounts whose readings carry an as-of time that can age (Claude's table) say when they go stale.
    staleAfterMs: Object.fromEntries(
      providers.flatMap((p) =>
        p.staleAfterMs !== undefined
          ? [[p.id, p.staleAfterMs]]
          : p.id === 'claude'
            ? [[p.id, config.claudeStaleAfterMs]]
            : [],
      ),
    ),
    timeoutMs: config.providerTimeoutMs,
    record: storeProblem === null,
    storeRetry: retry,
    ...(options.now ? { now: options.now } : {}),
  });
  // Readings that waited for the store go in as soon as it opens, not at the next retry tick.
  db.onOpen(() => void service.flushPending());
  let closed = false;
  return {
    config,
    logger,
    db,
    storeProblem,
    service,
    thresholds,
    history,
    slots: new SlotClaims(db, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`),
    keyv,
    async close() {
      if (closed) return;
      closed = true;
      await service.close();
      await Promise.allSettled(providers.map((p) => p.close()));
      await db.close();
    },
  };
}
