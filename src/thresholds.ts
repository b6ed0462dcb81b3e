import type Keyv from 'keyv';
import type { Logger } from './logger.js';
import { type Amount, amountToText, parseAmount } from './money.js';
import type { Db } from './storage/db.js';
import type { ProviderId } from './types.js';

/** One change made with `/threshold`, as recorded in the audit table. */
export interface ThresholdChange {
  readonly provider: ProviderId;
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
  ) {}

  get default(): Amount {
    return this.defaultThreshold;
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
      this.logger.error({ err, provider }, 'threshold store unreachable; using the last known threshold');
      return fallback;
    }
  }

  /** The threshold in force for `provider`. */
  async get(provider: ProviderId): Promise<Amount> {
    return (await this.override(provider)) ?? this.defaultThreshold;
  }

  /** Sets an override; returns the value it replaced (`null` = the default was in force). */
  async set(
    provider: ProviderId,
    value: Amount,
    changedBy: string,
    now = new Date(),
  ): Promise<ThresholdChange> {
    const old = await this.override(provider);
    await this.keyv.set(provider, amountToText(value));
    this.lastKnown.set(provider, value);
    return this.audit({ provider, oldValue: old, newValue: value, changedBy, changedAt: now });
  }

  /** Removes the override so the default applies again. */
  async reset(provider: ProviderId, changedBy: string, now = new Date()): Promise<ThresholdChange> {
    const old = await this.override(provider);
    await this.keyv.delete(provider);
    this.lastKnown.set(provider, null);
    return this.audit({ provider, oldValue: old, newValue: null, changedBy, changedAt: now });
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
      provider: r.provider as ProviderId,
      oldValue: r.old_value === null ? null : parseAmount(r.old_value),
      newValue: r.new_value === null ? null : parseAmount(r.new_value),
      changedBy: r.changed_by,
      changedAt: new Date(Number(r.changed_at)),
    }));
  }

  private async audit(change: ThresholdChange): Promise<ThresholdChange> {
    await this.db.kysely
      .insertInto('threshold_changes')
      .values({
        provider: change.provider,
        old_value: change.oldValue === null ? null : amountToText(change.oldValue),
        new_value: change.newValue === null ? null : amountToText(change.newValue),
        changed_by: change.changedBy,
        changed_at: change.changedAt.getTime(),
      })
      .execute();
    this.logger.info(
      {
        provider: change.provider,
        old: change.oldValue?.toFixed(2) ?? 'default',
        new: change.newValue?.toFixed(2) ?? 'default',
        by: change.changedBy,
      },
      'threshold changed',
    );
    return change;
  }
}
