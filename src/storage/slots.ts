import type { Db } from './db.js';

/**
 * Claims scheduled slots so that, across every replica sharing the database, each slot's work is
 * done once: the first replica to insert `(job, slot)` owns it.
 */
export class SlotClaims {
  constructor(
    private readonly db: Db,
    private readonly owner: string,
  ) {}

  /** `true` when this process now owns the slot; `false` when another already did. */
  async claim(job: string, slot: string, now: Date = new Date()): Promise<boolean> {
    const result = await this.db.kysely
      .insertInto('schedule_slots')
      .values({ job, slot, claimed_by: this.owner, claimed_at: now.getTime() })
      .onConflict((oc) => oc.columns(['job', 'slot']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Deletes claims older than `before`; they only matter while their slot is current. */
  async prune(before: Date): Promise<void> {
    await this.db.kysely.deleteFrom('schedule_slots').where('claimed_at', '<', before.getTime()).execute();
  }
}
