import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/adapters/storage/db.js';
import { HistoryStore } from '../../src/adapters/storage/history.js';
import { SqlKeyvStore } from '../../src/adapters/storage/keyv-store.js';
import { SlotClaims } from '../../src/adapters/storage/slots.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { ThresholdStore } from '../../src/core/thresholds.js';
import type { CheckResult } from '../../src/core/types.js';
import { createTestDatabase } from '../support/postgres.js';

interface Backend {
  name: string;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  // Made when the suite opens it, not when the file is collected: a suite a `-t` filter skips runs no
  // afterAll, and its directory would stay behind.
  let dir: string | undefined;
  return {
    name: 'embedded SQLite (worker thread, as the bot runs it)',
    open: () => {
      dir ??= mkdtempSync(join(tmpdir(), 'cw-contract-'));
      return openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'db.sqlite') });
    },
    cleanup: async () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

function sqliteInlineBackend(): Backend {
  // Made when the suite opens it, not when the file is collected: a suite a `-t` filter skips runs no
  // afterAll, and its directory would stay behind.
  let dir: string | undefined;
  return {
    name: 'embedded SQLite (inline, as `npm run check` runs it)',
    open: () => {
      dir ??= mkdtempSync(join(tmpdir(), 'cw-contract-'));
      return openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'db.sqlite'), sqliteMode: 'inline' });
    },
    cleanup: async () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

function postgresBackend(): Backend {
  let handle: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  return {
    name: 'PostgreSQL',
    open: async () => {
      handle ??= await createTestDatabase('cw_contract');
      return openDatabase({ databaseUrl: handle.connectionString, sqlitePath: '' });
    },
    cleanup: async () => {
      await handle?.drop();
      handle = undefined;
    },
  };
}

const logger = createLogger('silent');
const at = (iso: string) => new Date(iso);

const ok = (
  provider: 'claude' | 'kimi',
  available: string,
  iso: string,
  extra: Partial<CheckResult> = {},
): CheckResult =>
  ({
    ok: true,
    provider,
    currency: 'USD',
    available: parseAmount(available),
    ...(provider === 'kimi' ? { voucher: parseAmount('3.45'), cash: parseAmount('-0.5') } : {}),
    asOf: at(iso),
    checkedAt: at(iso),
    latencyMs: 12.4,
    ...extra,
  }) as CheckResult;

for (const make of [sqliteBackend, sqliteInlineBackend, postgresBackend]) {
  const backend = make();
  describe(`storage contract: ${backend.name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db?.close();
      await backend.cleanup();
    });

    it('GIVEN an up-to-date database WHEN it is opened again THEN the migrator is skipped and data stays', async () => {
      // A database of its own: this test removes a table the others' database keeps.
      const own = make();
      const tables = async (d: Db) =>
        (await d.kysely.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name);
      try {
        const first = await own.open();
        await new HistoryStore(first).record([ok('claude', '1.00', '2026-01-01T00:00:00Z')]);
        // The Migrator creates its lock table on every run; the fast path only reads the list of migrations.
        expect(await tables(first)).toContain('kysely_migration_lock');
        await sql`drop table kysely_migration_lock`.execute(first.kysely);
        await first.close();
        const again = await own.open();
        try {
          expect(await tables(again)).not.toContain('kysely_migration_lock');
          expect(await new HistoryStore(again).count()).toBe(1);
        } finally {
          await again.close();
        }
      } finally {
        await own.cleanup();
      }
    });

    it('GIVEN ok and failed readings THEN range returns them oldest first with exact amounts', async () => {
      const h = new HistoryStore(db);
      await h.record([
        ok('kimi', '12.30', '2026-02-01T10:00:00Z'),
        {
          ok: false,
          provider: 'kimi',
          currency: 'USD',
          reason: 'HTTP 502',
          checkedAt: at('2026-02-01T11:00:00Z'),
          latencyMs: 3,
        },
        ok('kimi', '0.0000001', '2026-02-01T12:00:00Z'),
      ]);
      const rows = await h.range('kimi', at('2026-02-01T00:00:00Z'), at('2026-02-02T00:00:00Z'));
      expect(rows.map((r) => r.checkedAt.toISOString())).toEqual([
        '2026-02-01T10:00:00.000Z',
        '2026-02-01T11:00:00.000Z',
        '2026-02-01T12:00:00.000Z',
      ]);
      const [first, failed, tiny] = rows;
      expect(first?.ok && first.available.toFixed(2)).toBe('12.30');
      expect(first?.ok && first.cash?.toFixed(2)).toBe('-0.50');
      expect(first?.ok && first.voucher?.toFixed(2)).toBe('3.45');
      expect(failed?.ok === false && failed.reason).toBe('HTTP 502');
      expect(tiny?.ok && tiny.available.eq(parseAmount('1e-7'))).toBe(true);
      expect(first?.latencyMs).toBe(12);
    });

    it('GIVEN a reading of unknown age (and one an earlier version dated at epoch 0) THEN both read back with asOf null', async () => {
      const h = new HistoryStore(db);
      await h.record([ok('claude', '8.07', '2026-03-01T10:00:00Z', { asOf: null })]);
      // What versions before the fix wrote for a NULL updated_at.
      await db.kysely
        .insertInto('readings')
        .values({
          provider: 'claude',
          checked_at: at('2026-03-01T11:00:00Z').getTime(),
          as_of: 0,
          ok: 1,
          currency: 'USD',
          available: '8.07',
          voucher: null,
          cash: null,
          latency_ms: 1,
          error: null,
          source: 'check',
          dedupe_key: null,
        })
        .execute();
      await h.record([ok('claude', '7.00', '2026-03-01T12:00:00Z')]);
      const rows = await h.range('claude', at('2026-03-01T00:00:00Z'), at('2026-03-02T00:00:00Z'));
      expect(rows.map((r) => (r.ok ? (r.asOf?.toISOString() ?? null) : 'failed'))).toEqual([
        null,
        null,
        '2026-03-01T12:00:00.000Z',
      ]);
    });

    it('GIVEN the same imported readings twice THEN the second import adds nothing', async () => {
      const h = new HistoryStore(db);
      const readings = [
        {
          provider: 'claude' as const,
          currency: 'USD' as const,
          at: at('2026-01-29T09:00:00Z'),
          available: parseAmount('8.07'),
        },
        {
          provider: 'claude' as const,
          currency: 'USD' as const,
          at: at('2026-01-29T10:00:00Z'),
          available: parseAmount('8.05'),
        },
      ];
      expect(await h.import(readings)).toEqual({ inserted: 2, existing: 0 });
      expect(await h.import(readings)).toEqual({ inserted: 0, existing: 2 });
      const rows = await h.range('claude', at('2026-01-29T00:00:00Z'), at('2026-01-30T00:00:00Z'));
      expect(rows.map((r) => r.ok && r.available.toFixed(2))).toEqual(['8.07', '8.05']);
      expect(rows.every((r) => r.source === 'import')).toBe(true);
    });

    it('GIVEN keyv over the SQL store THEN values persist, namespaces stay apart and TTLs expire', async () => {
      let now = 1_000_000;
      const a = new Keyv<string>({ store: new SqlKeyvStore(db, () => now), namespace: 'a' });
      const b = new Keyv<string>({ store: new SqlKeyvStore(db, () => now), namespace: 'b' });
      await a.set('k', 'one');
      await b.set('k', 'two');
      await a.set('short', 'lived', 1000);
      expect(await a.get('k')).toBe('one');
      expect(await b.get('k')).toBe('two');
      expect(await a.get('short')).toBe('lived');
      now += 1001;
      expect(await a.get('short')).toBeUndefined();
      await a.clear();
      expect(await a.get('k')).toBeUndefined();
      expect(await b.get('k')).toBe('two');
      expect(await b.delete('k')).toBe(true);
      expect(await b.get('k')).toBeUndefined();
    });

    it('GIVEN threshold changes THEN the value, the reset and the audit trail are stored', async () => {
      const keyv = () => new Keyv<string>({ store: new SqlKeyvStore(db), namespace: 'thresholds' });
      const t = new ThresholdStore(keyv(), db, parseAmount('5'), logger);
      expect((await t.get('kimi')).toFixed(2)).toBe('5.00');
      await t.set('kimi', parseAmount('7.5'), 'alice (1)', at('2026-03-01T00:00:00Z'));
      // A second store on the same database (a restart, or another replica) sees the change.
      const other = new ThresholdStore(keyv(), db, parseAmount('5'), logger);
      expect((await other.get('kimi')).toFixed(2)).toBe('7.50');
      const reset = await other.reset('kimi', 'bob (2)', at('2026-03-02T00:00:00Z'));
      expect(reset.oldValue?.toFixed(2)).toBe('7.50');
      expect((await t.get('kimi')).toFixed(2)).toBe('5.00');
      const changes = await t.changes();
      expect(
        changes
          .slice(0, 2)
          .map((c) => [c.changedBy, c.oldValue?.toFixed(2) ?? null, c.newValue?.toFixed(2) ?? null]),
      ).toEqual([
        ['bob (2)', '7.50', null],
        ['alice (1)', null, '7.50'],
      ]);
    });

    it('GIVEN a history range query THEN the database plans it through the provider+time index', async () => {
      const plan = await db.kysely.connection().execute(async (conn) => {
        const query = sql`select * from readings where provider = ${'kimi'} and checked_at >= ${0} and checked_at <= ${1} order by checked_at`;
        if (db.dialect === 'sqlite') {
          const r = await sql<{ detail: string }>`explain query plan ${query}`.execute(conn);
          return r.rows.map((x) => x.detail).join('\n');
        }
        // A tiny test table would be read sequentially; forbid that to see whether the index can serve it.
        await sql`set enable_seqscan = off`.execute(conn);
        try {
          const r = await sql<{ 'QUERY PLAN': string }>`explain ${query}`.execute(conn);
          return r.rows.map((x) => x['QUERY PLAN']).join('\n');
        } finally {
          await sql`reset enable_seqscan`.execute(conn);
        }
      });
      expect(plan).toContain('readings_provider_checked_at');
    });

    it('GIVEN two owners claiming one slot THEN exactly one wins', async () => {
      const a = new SlotClaims(db, 'a');
      const b = new SlotClaims(db, 'b');
      const results = await Promise.all([
        a.claim('summary', '2026-01-01T10:00Z'),
        b.claim('summary', '2026-01-01T10:00Z'),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await a.claim('summary', '2026-01-01T11:00Z')).toBe(true);
      await a.prune(new Date(Date.now() + 1000));
      expect(await b.claim('summary', '2026-01-01T11:00Z')).toBe(true);
    });
  });
}
