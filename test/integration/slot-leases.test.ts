import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/adapters/storage/db.js';
import { SlotClaims } from '../../src/adapters/storage/slots.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

interface Backend {
  readonly name: string;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

const backends: Backend[] = [
  (() => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-leases-'));
    return {
      name: 'embedded SQLite',
      open: () => openDatabase({ databaseUrl: null, sqlitePath: join(dir, 'db.sqlite') }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  })(),
  (() => {
    let handle: TestDatabase | undefined;
    return {
      name: 'PostgreSQL',
      open: async () => {
        handle ??= await createTestDatabase('cw_leases');
        return openDatabase({ databaseUrl: handle.connectionString, sqlitePath: '' });
      },
      cleanup: async () => {
        await handle?.drop();
      },
    };
  })(),
];

const T = Date.parse('2026-12-01T10:00:00Z');
const at = (ms: number) => new Date(T + ms);

for (const backend of backends) {
  describe(`slot leases (${backend.name})`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db?.close();
      await backend.cleanup();
    });

    it('GIVEN two processes leasing one slot at once THEN exactly one holds it and the other sees it held', async () => {
      const a = new SlotClaims(db, 'a');
      const b = new SlotClaims(db, 'b');
      const [ra, rb] = await Promise.all([
        a.lease('summary', 's1', at(0), 5000),
        b.lease('summary', 's1', at(0), 5000),
      ]);
      const kinds = [ra.kind, rb.kind].sort();
      expect(kinds).toEqual(['acquired', 'held']);
      const held = ra.kind === 'held' ? ra : rb;
      expect(held).toMatchObject({ kind: 'held', until: T + 5000 });
    });

    it('GIVEN a holder that stops renewing (killed) THEN its lease runs out and another takes the slot over, once', async () => {
      const dead = new SlotClaims(db, 'dead');
      const a = new SlotClaims(db, 'a');
      const b = new SlotClaims(db, 'b');
      expect((await dead.lease('summary', 's2', at(0), 5000)).kind).toBe('acquired');
      expect((await a.lease('summary', 's2', at(4999), 5000)).kind).toBe('held');
      const [ra, rb] = await Promise.all([
        a.lease('summary', 's2', at(5000), 5000),
        b.lease('summary', 's2', at(5000), 5000),
      ]);
      const taken = [ra, rb].filter((r) => r.kind === 'acquired');
      expect(taken).toHaveLength(1);
      expect(taken[0]).toEqual({ kind: 'acquired', takenOver: { failure: null } });
      // The old holder has lost it: renewing fails, so it knows another may post.
      expect(await dead.renew('summary', 's2', at(5001), 5000)).toBe(false);
    });

    it('GIVEN a holder that renews THEN nobody takes the slot over; once done it stays done', async () => {
      const a = new SlotClaims(db, 'a');
      const b = new SlotClaims(db, 'b');
      await a.lease('summary', 's3', at(0), 5000);
      expect(await a.renew('summary', 's3', at(4000), 5000)).toBe(true);
      expect((await b.lease('summary', 's3', at(8000), 5000)).kind).toBe('held');
      await a.complete('summary', 's3', at(8500));
      expect(await b.lease('summary', 's3', at(60_000), 5000)).toEqual({
        kind: 'done',
        by: 'a',
        at: T + 8500,
      });
      expect((await b.get('summary', 's3'))?.done_at).toBe(T + 8500);
    });

    it('GIVEN a holder that gives up with a reason THEN the next one takes over at once and learns why', async () => {
      const a = new SlotClaims(db, 'a');
      const b = new SlotClaims(db, 'b');
      await a.lease('summary', 's4', at(0), 5000);
      await a.release('summary', 's4', 'Discord was unavailable');
      expect(await b.lease('summary', 's4', at(1), 5000)).toEqual({
        kind: 'acquired',
        takenOver: { failure: 'Discord was unavailable' },
      });
    });

    it('GIVEN a final claim (alerts) THEN it never expires and a lease on it finds it done', async () => {
      const a = new SlotClaims(db, 'a');
      const b = new SlotClaims(db, 'b');
      expect(await a.claim('alerts', 'k1', at(0))).toBe(true);
      expect(await b.claim('alerts', 'k1', at(DAY))).toBe(false);
      expect((await b.lease('alerts', 'k1', at(DAY), 5000)).kind).toBe('done');
      expect(await b.hasAny('alerts')).toBe(true);
      expect(await b.hasAny('never-ran')).toBe(false);
    });
  });
}

const DAY = 86_400_000;
