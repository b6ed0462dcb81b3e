import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import type { Db } from './db.js';

/**
 * A keyv storage adapter over the `kv` table of our own database, so settings and alert state live
 * where the history does: one file for the embedded store, shared by every replica on Postgres.
 */
export class SqlKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  opts: Record<string, unknown> = {};
  namespace?: string;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const row = await this.db.kysely.selectFrom('kv').selectAll().where('key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at !== null && Number(row.expires_at) <= this.now()) {
      await this.delete(key);
      return undefined;
    }
    return row.value as StoredData<Value>;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const expires = typeof ttl === 'number' && ttl > 0 ? this.now() + ttl : null;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    await this.db.kysely
      .insertInto('kv')
      .values({ key, value: text, expires_at: expires })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: text, expires_at: expires }))
      .execute();
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const r = await this.db.kysely.deleteFrom('kv').where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async clear(): Promise<void> {
    const q = this.db.kysely.deleteFrom('kv');
    await (this.namespace ? q.where('key', 'like', `${this.namespace}:%`) : q).execute();
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async disconnect(): Promise<void> {
    // The database is owned and closed by the composition root.
  }
}
