import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../scripts/bench/support.js';
import { PG_ADMIN_URL, requirePostgres, withClient } from '../support/postgres.js';

const exists = (name: string) =>
  withClient(PG_ADMIN_URL, async (c) => {
    const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rows.length === 1;
  });

describe('npm run bench: scratch databases', () => {
  it('GIVEN two runs on one server asking for the same database THEN each gets its own, and drop() removes only its own', async () => {
    await requirePostgres();
    const setup = 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)';
    const first = await scratchDatabase('cw_bench', setup);
    try {
      const second = await scratchDatabase('cw_bench', setup);
      try {
        expect(first.name).not.toBe(second.name);
        expect(first.name).toMatch(new RegExp(`^cw_bench_${process.pid}_[0-9a-f]{8}$`));
        // The second run did not drop the first one's database from under it.
        const rows = await withClient(first.url, (c) => c.query('SELECT x FROM t'));
        expect(rows.rows).toEqual([{ x: 1 }]);
      } finally {
        await second.drop();
      }
      expect(await exists(second.name)).toBe(false);
      expect(await exists(first.name)).toBe(true);
    } finally {
      await first.drop();
    }
    expect(await exists(first.name)).toBe(false);
  });

  it('GIVEN setup SQL that fails THEN the database is dropped, not left behind', async () => {
    const prefix = `cw_bench_bad_${randomBytes(3).toString('hex')}`;
    await expect(scratchDatabase(prefix, 'SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
    const left = await withClient(PG_ADMIN_URL, (c) =>
      c.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]),
    );
    expect(left.rows).toEqual([]);
  });
});
