import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import Keyv from 'keyv';
import { BalanceLog } from './balance-log.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { ClaudeDbConfig } from './providers/claude.js';
import { BalanceService } from './service.js';
import { type Db, openDatabase } from './storage/db.js';
import { HistoryStore } from './storage/history.js';
import { SqlKeyvStore } from './storage/keyv-store.js';
import { SlotClaims } from './storage/slots.js';
import { ThresholdStore } from './thresholds.js';
import type { BalanceProvider } from './types.js';

/** Everything every entry point shares: built once, closed once. */
export interface Core {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Db;
  readonly service: BalanceService;
  readonly thresholds: ThresholdStore;
  readonly history: HistoryStore;
  readonly slots: SlotClaims;
  /** keyv over the same database, namespaced per use (`thresholds`, `alerts`). */
  keyv(namespace: string): Keyv<string>;
  close(): Promise<void>;
}

/**
 * The providers the configuration enables, in summary order. A provider's module is loaded only when
 * it is enabled, so a CLI run without kimi never loads undici.
 */
export async function createProviders(config: Config, now?: () => Date): Promise<BalanceProvider[]> {
  const clock = now ? { now } : {};
  return Promise.all(
    config.providers.map(async (id) => {
      if (id === 'kimi') {
        const { createKimiProvider } = await import('./providers/kimi.js');
        const m = config.moonshot!;
        return createKimiProvider({
          baseUrl: m.baseUrl,
          apiKey: m.apiKey,
          currency: m.currency,
          timeoutMs: config.providerTimeoutMs,
          ...clock,
        });
      }
      const { createClaudeProvider } = await import('./providers/claude.js');
      return createClaudeProvider({
        ...claudeConnection(config.claudeDb!),
        currency: 'USD',
        timeoutMs: config.providerTimeoutMs,
        staleAfterMs: config.claudeStaleAfterMs,
        ...clock,
      });
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

/** Opens the database (running migrations) and builds the shared balance service. */
export async function createCore(
  config: Config,
  logger: Logger,
  options: { providers?: BalanceProvider[]; now?: () => Date } = {},
): Promise<Core> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  // keyv sets `namespace` on its store, so each namespace gets its own adapter over the shared table.
  const keyv = (namespace: string): Keyv<string> =>
    new Keyv<string>({ store: new SqlKeyvStore(db), namespace, emitErrors: false, throwOnErrors: true });
  const thresholds = new ThresholdStore(
    keyv('thresholds'),
    db,
    config.defaultThreshold,
    logger.child({ module: 'thresholds' }),
  );
  const history = new HistoryStore(db);
  const providers = options.providers ?? (await createProviders(config, options.now));
  const service = new BalanceService({
    providers,
    history,
    thresholds,
    balanceLog: new BalanceLog(config.balanceLogDir),
    logger,
    staleAfterMs: { claude: config.claudeStaleAfterMs },
    timeoutMs: config.providerTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
  });
  let closed = false;
  return {
    config,
    logger,
    db,
    service,
    thresholds,
    history,
    slots: new SlotClaims(db, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`),
    keyv,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(providers.map((p) => p.close()));
      await db.close();
    },
  };
}
