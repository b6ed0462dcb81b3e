import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/adapters/storage/db.js';
import { holdSqliteWriteLock, type SqliteLockHolder } from '../support/sqlite-lock.js';

/** The longest the event loop was held up while `work` ran, in ms. */
async function maxLoopDelay<T>(work: () => Promise<T>): Promise<{ result: T; maxMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // The histogram records from its second tick on: a block before that would go unseen...
  await new Promise((r) => setTimeout(r, 50));
  try {
    const result = await work();
    // ...and records a block on the tick after it.
    await new Promise((r) => setTimeout(r, 50));
    return { result, maxMs: h.max / 1e6 };
  } finally {
    h.disable();
  }
}

const kvRow = (key: string) => ({ key, value: `v-${key}`, expires_at: null });

describe('embedded SQLite in its own thread', () => {
  let dir: string;
  let file: string;
  let db: Db;
  let holder: SqliteLockHolder | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-sqlite-lock-'));
    file = join(dir, 'data', 'creditwatch.sqlite');
    db = await openDatabase({ databaseUrl: null, sqlitePath: file });
  });

  afterEach(async () => {
    await holder?.stop();
    holder = null;
  });

  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN another process holding the write lock THEN writes wait for it without holding up the event loop, and land', async () => {
    holder = await holdSqliteWriteLock(file, 2500);
    // A timer that must keep ticking while the writes wait: the bot's heartbeats and replies are such timers.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const { result, maxMs } = await maxLoopDelay(() =>
      Promise.all([
        db.kysely.insertInto('kv').values(kvRow('a')).execute(),
        db.kysely.insertInto('kv').values(kvRow('b')).execute(),
        db.kysely.selectFrom('kv').select('key').where('key', '=', 'a').execute(),
      ]),
    );
    clearInterval(ticker);
    const waited = Date.now() - holder.lockedAt;
    // The writes really waited for the lock (≥ 2.5 s); the old synchronous driver held the loop that long.
    expect(waited).toBeGreaterThanOrEqual(2400);
    expect(maxMs).toBeLessThan(1000);
    expect(ticks).toBeGreaterThan(20);
    // The read was queued behind the first write on the one connection, so it sees it.
    expect(result[2]).toEqual([{ key: 'a' }]);
    const keys = await db.kysely.selectFrom('kv').select('key').where('key', 'in', ['a', 'b']).execute();
    expect(keys.map((k) => k.key).sort()).toEqual(['a', 'b']);
  });

  it('GIVEN the lock held past the busy timeout THEN the write fails with SQLITE_BUSY, still without holding up the event loop', async () => {
    holder = await holdSqliteWriteLock(file, 8000);
    const { result, maxMs } = await maxLoopDelay(() =>
      db.kysely
        .insertInto('kv')
        .values(kvRow('busy'))
        .execute()
        .then(
          () => null,
          (err: unknown) => err,
        ),
    );
    expect(result).toBeInstanceOf(Error);
    expect((result as { code?: string }).code).toBe('SQLITE_BUSY');
    expect((result as Error).message).toBe('database is locked');
    // The caller's stack, not the thread's message handler, so a log shows who asked.
    expect((result as Error).stack).toContain('sqlite-lock.test.ts');
    expect(maxMs).toBeLessThan(1000);
    await holder.stop();
    holder = null;
    const row = await db.kysely.selectFrom('kv').select('key').where('key', '=', 'busy').executeTakeFirst();
    expect(row).toBeUndefined();
  }, 20_000);

  it("GIVEN SQLite errors THEN message and code come through as better-sqlite3's (no such table, constraints)", async () => {
    const missing = await sql`select * from nowhere`.execute(db.kysely).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/^no such table: nowhere/);
    expect((missing as { code?: string }).code).toBe('SQLITE_ERROR');
    await db.kysely.insertInto('kv').values(kvRow('dup')).execute();
    const dup = await db.kysely
      .insertInto('kv')
      .values(kvRow('dup'))
      .execute()
      .catch((e: unknown) => e);
    expect((dup as { code?: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    // A value SQLite cannot bind is refused as better-sqlite3 refuses it.
    const bad = await sql`select ${true as unknown as number} as x`
      .execute(db.kysely)
      .catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/can only bind numbers, strings, bigints, buffers, and null/);
  });

  it('GIVEN numbers, bigints, text, NULL and BLOBs THEN they round-trip as with better-sqlite3 on the main thread', async () => {
    const blob = Buffer.from([0, 1, 2, 250, 255]);
    const big = 2n ** 40n;
    const { rows } = await sql<{
      i: number;
      f: number;
      t: string;
      n: null;
      b: Buffer;
      big: number;
      echo: Buffer;
    }>`select 42 as i, 1.5 as f, 'é€' as t, null as n, x'0102' as b, ${big} + 1 as big, ${blob} as echo`.execute(
      db.kysely,
    );
    const row = rows[0]!;
    expect(row.i).toBe(42);
    expect(row.f).toBe(1.5);
    expect(row.t).toBe('é€');
    expect(row.n).toBeNull();
    expect(Buffer.isBuffer(row.b)).toBe(true);
    expect([...row.b]).toEqual([1, 2]);
    expect(row.big).toBe(Number(big) + 1);
    expect(Buffer.isBuffer(row.echo) && row.echo.equals(blob)).toBe(true);
    const inserted = await db.kysely
      .insertInto('threshold_changes')
      .values({ provider: 'kimi', old_value: null, new_value: '5', changed_by: 't', changed_at: 1 })
      .executeTakeFirstOrThrow();
    expect(typeof inserted.insertId).toBe('bigint');
    expect(inserted.insertId).toBeGreaterThan(0n);
    const updated = await db.kysely
      .updateTable('threshold_changes')
      .set({ changed_by: 'u' })
      .where('provider', '=', 'kimi')
      .executeTakeFirstOrThrow();
    expect(updated.numUpdatedRows).toBe(1n);
  });

  it('GIVEN a result bigger than one message from the thread THEN every row arrives, in order, BLOBs as Buffers', async () => {
    const { rows } = await sql<{ n: number; b: Buffer }>`
      with recursive seq(n) as (select 1 union all select n + 1 from seq where n < 1234)
      select n, zeroblob(2) as b from seq order by n`.execute(db.kysely);
    expect(rows).toHaveLength(1234);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 1234 }, (_, i) => i + 1));
    expect(rows.every((r) => Buffer.isBuffer(r.b) && r.b.length === 2)).toBe(true);
    // The connection is free again afterwards.
    expect((await sql<{ one: number }>`select 1 as one`.execute(db.kysely)).rows).toEqual([{ one: 1 }]);
  });

  it('GIVEN transactions THEN a commit keeps, a rollback undoes, and concurrent ones do not interleave', async () => {
    await db.kysely.transaction().execute(async (tx) => {
      await tx.insertInto('kv').values(kvRow('tx-commit')).execute();
    });
    await db.kysely
      .transaction()
      .execute(async (tx) => {
        await tx.insertInto('kv').values(kvRow('tx-rollback')).execute();
        throw new Error('undo');
      })
      .catch(() => {});
    const order: string[] = [];
    await Promise.all(
      ['x', 'y'].map((name) =>
        db.kysely.transaction().execute(async (tx) => {
          order.push(`${name} begin`);
          await tx
            .insertInto('kv')
            .values(kvRow(`tx-${name}`))
            .execute();
          await new Promise((r) => setTimeout(r, 20));
          order.push(`${name} end`);
        }),
      ),
    );
    expect(order).toEqual(['x begin', 'x end', 'y begin', 'y end']);
    const keys = await db.kysely.selectFrom('kv').select('key').where('key', 'like', 'tx-%').execute();
    expect(keys.map((k) => k.key).sort()).toEqual(['tx-commit', 'tx-x', 'tx-y']);
    // Savepoints (nested transactions in Kysely) work too.
    const tx = await db.kysely.startTransaction().execute();
    const sp = await tx.savepoint('inner').execute();
    await sp.insertInto('kv').values(kvRow('sp')).execute();
    await sp.rollbackToSavepoint('inner').execute();
    await tx.insertInto('kv').values(kvRow('after-sp')).execute();
    await tx.commit().execute();
    expect(
      await db.kysely.selectFrom('kv').where('key', '=', 'after-sp').select('key').execute(),
    ).toHaveLength(1);
    expect(await db.kysely.selectFrom('kv').where('key', '=', 'sp').selectAll().execute()).toEqual([]);
  });

  it('GIVEN a closed database THEN its thread is gone: queries fail, and reopening the file finds the data', async () => {
    const other = await openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'second', 'db.sqlite') });
    await other.kysely.insertInto('kv').values(kvRow('kept')).execute();
    await other.close();
    await expect(other.kysely.selectFrom('kv').selectAll().execute()).rejects.toThrow();
    const again = await openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'second', 'db.sqlite') });
    try {
      expect(await again.kysely.selectFrom('kv').select('key').execute()).toEqual([{ key: 'kept' }]);
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(again.kysely);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
      const timeout = await sql<{ timeout: number }>`pragma busy_timeout`.execute(again.kysely);
      expect(timeout.rows[0]?.timeout).toBe(5000);
    } finally {
      await again.close();
    }
  });

  it('GIVEN a file that is not a database THEN opening fails with the reason', async () => {
    const bogus = join(dir, 'bogus.sqlite');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bogus, 'this is not an SQLite database, just text long enough to have a header'.repeat(20));
    await expect(openDatabase({ databaseUrl: null, sqlitePath: bogus })).rejects.toThrow(
      /cannot prepare the database \(sqlite .*bogus\.sqlite\): file is not a database/,
    );
  });
});
