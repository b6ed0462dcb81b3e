import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/adapters/storage/db.js';
import { SqlKeyvStore } from '../../src/adapters/storage/keyv-store.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { ThresholdStore } from '../../src/core/thresholds.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const logger = createLogger('silent');

interface Backend {
  readonly name: string;
  /** A fresh database, two handles on it: two pools on Postgres (two replicas); one connection on SQLite. */
  open(): Promise<[Db, Db]>;
  /** Removes the database `open` made. */
  cleanup(): Promise<void>;
}

const backends: Backend[] = [
  (() => {
    let dir: string | undefined;
    return {
      name: 'embedded SQLite',
      async open() {
        dir = mkdtempSync(join(tmpdir(), 'cw-audit-'));
        const db = await openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'db.sqlite') });
        return [db, db] as [Db, Db];
      },
      cleanup: async () => {
        if (dir) rmSync(dir, { recursive: true, force: true });
        dir = undefined;
      },
    };
  })(),
  (() => {
    let handle: TestDatabase | undefined;
    return {
      name: 'PostgreSQL',
      async open() {
        handle = await createTestDatabase('cw_audit');
        const a = await openDatabase({ databaseUrl: handle.connectionString, sqlitePath: '' });
        const b = await openDatabase({ databaseUrl: handle.connectionString, sqlitePath: '' });
        return [a, b] as [Db, Db];
      },
      cleanup: async () => {
        await handle?.drop();
        handle = undefined;
      },
    };
  })(),
];

for (const backend of backends) {
  // Each test gets a database of its own: the audit trail holds only the changes that test made.
  describe(`threshold audit trail: ${backend.name}`, () => {
    let dbs: [Db, Db] | undefined;
    let stores: ThresholdStore[];
    beforeEach(async () => {
      dbs = await backend.open();
      stores = dbs.map(
        (db) =>
          new ThresholdStore(
            new Keyv<string>({ store: new SqlKeyvStore(db), namespace: 'thresholds', throwOnErrors: true }),
            db,
            parseAmount('5'),
            logger,
          ),
      );
    });
    afterEach(async () => {
      await dbs?.[0].close();
      if (dbs?.[1] !== dbs?.[0]) await dbs?.[1].close();
      dbs = undefined;
      await backend.cleanup();
    });

    it('GIVEN 8 concurrent /threshold set (and a reset) from two stores THEN every audit row starts where the previous one ended', async () => {
      const at = new Date('2026-11-01T00:00:00Z');
      const values = ['6', '7', '8', '9', '10', '11', '12', '13'];
      const results = await Promise.all([
        ...values.map((v, i) => stores[i % 2]!.set('kimi', parseAmount(v), `user ${i}`, at)),
        stores[1]!.reset('kimi', 'user reset', at),
      ]);
      // Same timestamp for all: the trail's order is the order the changes took effect (the row id).
      const trail = (await stores[0]!.changes(50)).reverse();
      expect(trail).toHaveLength(values.length + 1);
      const text = (a: { toFixed(): string } | null) => (a === null ? 'default' : a.toFixed());
      const steps = trail.map((c) => `${text(c.oldValue)} → ${text(c.newValue)}`);
      expect(trail[0]!.oldValue, steps.join(', ')).toBeNull();
      for (let i = 1; i < trail.length; i++) {
        expect(text(trail[i]!.oldValue), steps.join(', ')).toBe(text(trail[i - 1]!.newValue));
      }
      // Each caller was told the value it really replaced, and the last change is the value in force.
      expect(results.map((r) => `${text(r.oldValue)} → ${text(r.newValue)}`).sort()).toEqual(
        [...steps].sort(),
      );
      const last = trail[trail.length - 1]!.newValue;
      expect((await stores[0]!.override('kimi'))?.toFixed() ?? null).toBe(last?.toFixed() ?? null);
      expect((await stores[1]!.get('kimi')).toFixed()).toBe(last?.toFixed() ?? '5');
    });

    it('GIVEN an override written by the transaction THEN keyv reads it, and one keyv wrote is read by the next change', async () => {
      const keyv = new Keyv<string>({ store: new SqlKeyvStore(dbs![0]), namespace: 'thresholds' });
      await stores[0]!.set('claude', parseAmount('4.25'), 'alice (1)');
      expect(await keyv.get('claude')).toBe('4.25');
      await keyv.set('claude', '3.5');
      const change = await stores[1]!.set('claude', parseAmount('2'), 'bob (2)');
      expect(change.oldValue?.toFixed(2)).toBe('3.50');
    });
  });
}
