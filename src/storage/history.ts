import {
  type Amount,
  amountToText,
  type Currency,
  implausibleReason,
  isImplausible,
  parseAmount,
} from '../money.js';
import type { CheckResult, ProviderId } from '../types.js';
import type { Db } from './db.js';

/** A reading as stored: the same facts as a `CheckResult`, with its row id and source. */
export type StoredReading =
  | {
      readonly ok: true;
      readonly id: number;
      readonly provider: ProviderId;
      readonly currency: Currency;
      readonly checkedAt: Date;
      /** `null`: the reading's as-of time is unknown (a Claude row with a NULL `updated_at`). */
      readonly asOf: Date | null;
      readonly available: Amount;
      readonly voucher: Amount | null;
      readonly cash: Amount | null;
      readonly latencyMs: number;
      readonly source: 'check' | 'import';
    }
  | {
      readonly ok: false;
      readonly id: number;
      readonly provider: ProviderId;
      readonly currency: Currency;
      readonly checkedAt: Date;
      readonly reason: string;
      readonly latencyMs: number;
      readonly source: 'check' | 'import';
    };

/** A reading from a balance-log file, keyed so that importing it twice adds nothing. */
export interface ImportedReading {
  readonly provider: ProviderId;
  readonly currency: Currency;
  readonly at: Date;
  readonly available: Amount;
  readonly voucher?: Amount;
  readonly cash?: Amount;
}

/** Every balance check, ok or failed, in the SQL store. */
export class HistoryStore {
  constructor(private readonly db: Db) {}

  /** Records the results of one check run in one statement. */
  async record(results: readonly CheckResult[]): Promise<void> {
    if (results.length === 0) return;
    await this.db.kysely
      .insertInto('readings')
      .values(
        results.map((r) => ({
          provider: r.provider,
          checked_at: r.checkedAt.getTime(),
          as_of: r.ok && r.asOf !== null ? r.asOf.getTime() : null,
          ok: r.ok ? 1 : 0,
          currency: r.currency,
          available: r.ok ? amountToText(r.available) : null,
          voucher: r.ok && r.voucher ? amountToText(r.voucher) : null,
          cash: r.ok && r.cash ? amountToText(r.cash) : null,
          latency_ms: Math.round(r.latencyMs),
          error: r.ok ? null : r.reason,
          source: 'check',
          dedupe_key: null,
        })),
      )
      .execute();
  }

  /** Inserts imported readings, skipping those already present. Returns how many were new. */
  async import(readings: readonly ImportedReading[]): Promise<{ inserted: number; existing: number }> {
    let inserted = 0;
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for (let i = 0; i < readings.length; i += 500) {
      const chunk = readings.slice(i, i + 500);
      const result = await this.db.kysely
        .insertInto('readings')
        .values(
          chunk.map((r) => ({
            provider: r.provider,
            checked_at: r.at.getTime(),
            as_of: r.at.getTime(),
            ok: 1,
            currency: r.currency,
            available: amountToText(r.available),
            voucher: r.voucher ? amountToText(r.voucher) : null,
            cash: r.cash ? amountToText(r.cash) : null,
            latency_ms: 0,
            error: null,
            source: 'import',
            dedupe_key: `import:${r.provider}:${r.at.getTime()}:${amountToText(r.available)}`,
          })),
        )
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return { inserted, existing: readings.length - inserted };
  }

  /** Readings of `provider` checked in `[from, to]`, oldest first (uses the provider+time index). */
  async range(provider: ProviderId, from: Date, to: Date): Promise<StoredReading[]> {
    const rows = await this.db.kysely
      .selectFrom('readings')
      .selectAll()
      .where('provider', '=', provider)
      .where('checked_at', '>=', from.getTime())
      .where('checked_at', '<=', to.getTime())
      .orderBy('checked_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toStored);
  }

  async count(): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('readings')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toStored(row: {
  id: number;
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
  source: string;
}): StoredReading {
  const base = {
    id: Number(row.id),
    provider: row.provider as ProviderId,
    currency: row.currency as Currency,
    checkedAt: new Date(Number(row.checked_at)),
    latencyMs: row.latency_ms,
    source: row.source === 'import' ? ('import' as const) : ('check' as const),
  };
  // Readings stored before the implausible-amount rule existed are read as the failures they are.
  const figures = { available: row.available, voucher: row.voucher, cash: row.cash };
  const implausible = Object.entries(figures).find(([, v]) => v !== null && isImplausible(parseAmount(v)));
  if (row.ok && implausible) {
    return { ...base, ok: false, reason: implausibleReason(implausible[0], parseAmount(implausible[1]!)) };
  }
  if (row.ok && row.available !== null) {
    return {
      ...base,
      ok: true,
      // Unknown stays unknown; earlier versions stored it as epoch 0 (no real reading is from 1970).
      asOf: row.as_of === null || Number(row.as_of) === 0 ? null : new Date(Number(row.as_of)),
      available: parseAmount(row.available),
      voucher: row.voucher === null ? null : parseAmount(row.voucher),
      cash: row.cash === null ? null : parseAmount(row.cash),
    };
  }
  return { ...base, ok: false, reason: row.error ?? 'unknown failure' };
}
