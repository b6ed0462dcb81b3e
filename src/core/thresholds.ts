import type Keyv from 'keyv';
import { sql } from 'kysely';
import type { Db } from '../adapters/storage/db.js';
import type { Logger } from './logger.js';
import { type Amount, amountToText, parseAmount } from './money.js';
import type { ProviderId } from './types.js';

/** `low`: the threshold; `critical`: the account's critical level (default half the threshold). */
export type ThresholdLevel = 'low' | 'critical';

/**
 * The critical level's key and audit name: `critical:<account>` in the thresholds namespace, and
 * `<account>#critical` in `threshold_changes.provider` (no schema change; `changes()` splits it again).
 */
const CRITICAL_KEY = (provider: ProviderId) => `critical:${provider}`;
const CRITICAL_AUDIT_SUFFIX = '#critical';

/** One change made with `/threshold`, as recorded in the audit table. */
export interface ThresholdChange {
  readonly provider: ProviderId;
  readonly level: ThresholdLevel;
  readonly oldValue: Amount | null;
  readonly newValue: Amount | null;
  readonly changedBy: string;
  readonly changedAt: Date;
}

/**
 * Per-provider thresholds: an override stored through keyv (so it survives restarts and is shared
 * by replicas) or the configured default. Every change is also written to `threshold_changes`.
 */
export class ThresholdStore {
  /** Last values read, used when the store is unreachable so a database outage doesn't change alerts. */
  private readonly lastKnown = new Map<ProviderId, Amount | null>();

  constructor(
    private readonly keyv: Keyv<string>,
    private readonly db: Db,
    private readonly defaultThreshold: Amount,
    private readonly logger: Logger,
    /** Accounts with a default of their own (`P_THRESHOLD`, `P_X_THRESHOLD`), in their currency. */
    private readonly accountDefaults: ReadonlyMap<ProviderId, Amount> = new Map(),
  ) {}

  /** `DEFAULT_THRESHOLD`: the default of every account without one of its own. */
  get default(): Amount {
    return this.defaultThreshold;
  }

  /** The default in force for `provider`: its own (`P_THRESHOLD`), else `DEFAULT_THRESHOLD`. */
  defaultFor(provider: ProviderId): Amount {
    return this.accountDefaults.get(provider) ?? this.defaultThreshold;
  }

  /** The override for `provider`, or `null` when it uses the default. */
  async override(provider: ProviderId): Promise<Amount | null> {
    try {
      const raw = await this.keyv.get(provider);
      const value = raw === undefined ? null : parseAmount(raw);
      this.lastKnown.set(provider, value);
      return value;
    } catch (err) {
      const fallback = this.lastKnown.get(provider) ?? null;
      // Degraded, not failed: the check goes on with the last threshold read (or the default).
      this.logger.warn({ err, provider }, 'threshold store unreachable; using the last known threshold');
      return fallback;
    }
  }

  /** The threshold in force for `provider`. */
  async get(provider: ProviderId): Promise<Amount> {
    return (await this.override(provider)) ?? this.defaultFor(provider);
  }

  /** The critical level set for `provider`, or `null` when it is the default (half the threshold). */
  async criticalOverride(provider: ProviderId): Promise<Amount | null> {
    return this.override(CRITICAL_KEY(provider) as ProviderId);
  }

  /**
   * The critical level in force for `provider`: the one set, else half of `threshold` (the threshold in force,
   * read when not given); never above the threshold.
   */
  async critical(provider: ProviderId, threshold?: Amount): Promise<Amount> {
    const low = threshold ?? (await this.get(provider));
    const set = await this.criticalOverride(provider);
    const level = set ?? low.div(2);
    return level.gt(low) ? low : level;
  }

  /** Sets the critical level; returns the value it replaced (`null` = the default was in force). */
  async setCritical(
    provider: ProviderId,
    value: Amount,
    changedBy: string,
    now = new Date(),
  ): Promise<ThresholdChange> {
    return this.change(provider, value, changedBy, now, 'critical');
  }

  /** Removes the critical level so the default (half the threshold) applies again. */
  async resetCritical(provider: ProviderId, changedBy: string, now = new Date()): Promise<ThresholdChange> {
    return this.change(provider, null, changedBy, now, 'critical');
  }

  /** Sets an override; returns the value it replaced (`null` = the default was in force). */
  async set(
    provider: ProviderId,
    value: Amount,
    changedBy: string,
    now = new Date(),
  ): Promise<ThresholdChange> {
    return this.change(provider, value, changedBy, now);
  }

  /** Removes the override so the default applies again. */
  async reset(provider: ProviderId, changedBy: string, now = new Date()): Promise<ThresholdChange> {
    return this.change(provider, null, changedBy, now);
  }

  /**
   * Reads the old value, writes the new one and appends the audit row in one transaction that holds the
   * provider's lock from the first statement on, so concurrent changes (here or on another replica) queue
   * up and each audit row's old value is the previous row's new value. The row is written in keyv's own
   * format under keyv's key, so `override()` (through keyv) reads it as before.
   */
  private async change(
    provider: ProviderId,
    value: Amount | null,
    changedBy: string,
    changedAt: Date,
    level: ThresholdLevel = 'low',
  ): Promise<ThresholdChange> {
    const name = level === 'critical' ? CRITICAL_KEY(provider) : provider;
    const key = `${this.keyv.namespace ?? 'thresholds'}:${name}`;
    const dialect = this.db.dialect;
    const change = await this.db.kysely.transaction().execute(async (trx) => {
      if (dialect === 'postgres') {
        // A row lock cannot cover a row that does not exist yet (the first override): an advisory lock on
        // the key can, and it is released with the transaction.
        await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
      } else {
        // SQLite's BEGIN is deferred: make the first statement a write, so the write lock is taken (or waited
        // for) before the read. A read first could be overtaken by another connection's write.
        await sql`update kv set value = value where key = ${key}`.execute(trx);
      }
      const row = await trx.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst();
      const oldValue = row === undefined ? null : parseAmount(decodeKeyvValue(row.value));
      if (value === null) {
        await trx.deleteFrom('kv').where('key', '=', key).execute();
      } else {
        const stored = encodeKeyvValue(amountToText(value));
        await trx
          .insertInto('kv')
          .values({ key, value: stored, expires_at: null })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: stored, expires_at: null }))
          .execute();
      }
      const done: ThresholdChange = { provider, level, oldValue, newValue: value, changedBy, changedAt };
      await trx
        .insertInto('threshold_changes')
        .values({
          provider: level === 'critical' ? `${provider}${CRITICAL_AUDIT_SUFFIX}` : provider,
          old_value: oldValue === null ? null : amountToText(oldValue),
          new_value: value === null ? null : amountToText(value),
          changed_by: changedBy,
          changed_at: changedAt.getTime(),
        })
        .execute();
      return done;
    });
    this.lastKnown.set(name as ProviderId, value);
    this.logger.info(
      {
        provider,
        level,
        old: change.oldValue?.toFixed(2) ?? 'default',
        new: change.newValue?.toFixed(2) ?? 'default',
        by: changedBy,
      },
      'threshold changed',
    );
    return change;
  }

  /** The most recent changes, newest first. */
  async changes(limit = 20): Promise<ThresholdChange[]> {
    const rows = await this.db.kysely
      .selectFrom('threshold_changes')
      .selectAll()
      .orderBy('changed_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      provider: (r.provider.endsWith(CRITICAL_AUDIT_SUFFIX)
        ? r.provider.slice(0, -CRITICAL_AUDIT_SUFFIX.length)
        : r.provider) as ProviderId,
      level: r.provider.endsWith(CRITICAL_AUDIT_SUFFIX) ? ('critical' as const) : ('low' as const),
      oldValue: r.old_value === null ? null : parseAmount(r.old_value),
      newValue: r.new_value === null ? null : parseAmount(r.new_value),
      changedBy: r.changed_by,
      changedAt: new Date(Number(r.changed_at)),
    }));
  }
}

/** keyv's stored form of a value (`{"value":"7.5"}`), so rows written here and by keyv read the same. */
function encodeKeyvValue(text: string): string {
  return JSON.stringify({ value: text });
}

/** The value inside keyv's stored form; a bare string (a hand-edited row) is taken as is. */
function decodeKeyvValue(stored: string): string {
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed === 'string') return parsed;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { value?: unknown }).value === 'string'
    ) {
      return (parsed as { value: string }).value;
    }
  } catch {
    // Not JSON: fall through to the text itself.
  }
  return stored;
}
