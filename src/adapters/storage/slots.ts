import type { Db } from './db.js';

/** What {@link SlotClaims.lease} found. */
export type LeaseOutcome =
  /** This process holds the slot now. `takenOver` is set when an earlier holder's lease had run out or
   * been given up, with why that holder did not finish (`null`: it stopped answering — died or hung). */
  | { readonly kind: 'acquired'; readonly takenOver: { readonly failure: string | null } | null }
  /** Another process holds a live lease on the slot until `until` (epoch ms). */
  | { readonly kind: 'held'; readonly by: string; readonly until: number }
  /** The slot's work is done. */
  | { readonly kind: 'done'; readonly by: string; readonly at: number };

/**
 * Claims scheduled slots so that, across every replica sharing the database, each slot's work is done
 * once. Two kinds of claim:
 * - {@link claim}: final at once — the first replica to insert `(job, slot)` owns it for good (alert
 *   runs and alert notifications, where a lost run is made good by the next one);
 * - {@link lease}: held for a limited time and renewed while the work goes on, then marked {@link complete}.
 *   A lease its holder stops renewing (killed, hung) runs out, and another process takes the slot over;
 *   one given up with {@link release} can be taken over at once.
 */
export class SlotClaims {
  constructor(
    private readonly db: Db,
    readonly owner: string,
  ) {}

  /** `true` when this process now owns the slot for good; `false` when another already did. */
  async claim(job: string, slot: string, now: Date = new Date()): Promise<boolean> {
    const at = now.getTime();
    const result = await this.db.kysely
      .insertInto('schedule_slots')
      .values({
        job,
        slot,
        claimed_by: this.owner,
        claimed_at: at,
        lease_until: null,
        done_at: at,
        failure: null,
      })
      .onConflict((oc) => oc.columns(['job', 'slot']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /**
   * Tries to hold `(job, slot)` for `leaseMs` from `now`: a new slot, or one whose lease ran out or was
   * released and which is not done, becomes this process's. Atomic on both backends (one insert, then
   * one conditional update), so two processes never both acquire the same live slot.
   */
  async lease(job: string, slot: string, now: Date, leaseMs: number): Promise<LeaseOutcome> {
    const at = now.getTime();
    const inserted = await this.db.kysely
      .insertInto('schedule_slots')
      .values({
        job,
        slot,
        claimed_by: this.owner,
        claimed_at: at,
        lease_until: at + leaseMs,
        done_at: null,
        failure: null,
      })
      .onConflict((oc) => oc.columns(['job', 'slot']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { kind: 'acquired', takenOver: null };

    const taken = await this.db.kysely
      .updateTable('schedule_slots')
      .set({ claimed_by: this.owner, claimed_at: at, lease_until: at + leaseMs })
      .where('job', '=', job)
      .where('slot', '=', slot)
      .where('done_at', 'is', null)
      .where('lease_until', 'is not', null)
      .where('lease_until', '<=', at)
      .returning(['failure'])
      .executeTakeFirst();
    if (taken) return { kind: 'acquired', takenOver: { failure: taken.failure } };

    const row = await this.get(job, slot);
    if (!row) return this.lease(job, slot, now, leaseMs); // pruned in between: start over
    if (row.done_at !== null) return { kind: 'done', by: row.claimed_by, at: row.done_at };
    return { kind: 'held', by: row.claimed_by, until: row.lease_until ?? Number.POSITIVE_INFINITY };
  }

  /** Extends this process's lease; `false` when it no longer holds it (it ran out and was taken over). */
  async renew(job: string, slot: string, now: Date, leaseMs: number): Promise<boolean> {
    const result = await this.db.kysely
      .updateTable('schedule_slots')
      .set({ lease_until: now.getTime() + leaseMs })
      .where('job', '=', job)
      .where('slot', '=', slot)
      .where('claimed_by', '=', this.owner)
      .where('done_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Marks the slot's work done (whoever holds the lease: the work happened). */
  async complete(job: string, slot: string, now: Date): Promise<void> {
    await this.db.kysely
      .updateTable('schedule_slots')
      .set({ done_at: now.getTime(), lease_until: null })
      .where('job', '=', job)
      .where('slot', '=', slot)
      .where('done_at', 'is', null)
      .execute();
  }

  /** Gives the lease up with the reason the work failed, so the next attempt can take it over at once. */
  async release(job: string, slot: string, failure: string): Promise<void> {
    await this.db.kysely
      .updateTable('schedule_slots')
      .set({ lease_until: 0, failure })
      .where('job', '=', job)
      .where('slot', '=', slot)
      .where('claimed_by', '=', this.owner)
      .where('done_at', 'is', null)
      .execute();
  }

  /** The claim on `(job, slot)`, if any. */
  async get(job: string, slot: string) {
    return this.db.kysely
      .selectFrom('schedule_slots')
      .select(['claimed_by', 'claimed_at', 'lease_until', 'done_at', 'failure'])
      .where('job', '=', job)
      .where('slot', '=', slot)
      .executeTakeFirst();
  }

  /** Whether `job` has any claim at all: it has run here before (so a missed slot is a gap, not a first start). */
  async hasAny(job: string): Promise<boolean> {
    const row = await this.db.kysely
      .selectFrom('schedule_slots')
      .select('slot')
      .where('job', '=', job)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes claims older than `before`; they only matter while their slot is current. */
  async prune(before: Date): Promise<void> {
    await this.db.kysely.deleteFrom('schedule_slots').where('claimed_at', '<', before.getTime()).execute();
  }
}
