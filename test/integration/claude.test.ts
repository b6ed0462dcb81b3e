import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { amountToText, formatMoney, parseAmount } from '../../src/money.js';
import {
  CLAUDE_BALANCE_QUERY,
  ClaudeDbError,
  type ClaudeProvider,
  type ClaudeProviderOptions,
  createClaudeProvider,
  hasUnknownAge,
  isStale,
  recordClaudeBalance,
} from '../../src/providers/claude.js';
import type { CheckResult } from '../../src/types.js';
import { getClosedPort } from '../support/fake-moonshot.js';
import {
  createTestDatabase,
  PASSWORD_ROLE,
  PASSWORD_ROLE_PASSWORD,
  PG_HOST,
  PG_PORT,
  requirePostgres,
  type TestDatabase,
  withClient,
} from '../support/postgres.js';

const NOW = new Date('2026-01-29T10:00:00.000Z');
const HOUR = 3_600_000;
const WRONG_PASSWORD = 'wrong-SECRET-pw-456';

let db: TestDatabase;
const open: ClaudeProvider[] = [];

/** A provider on the test database, unless `overrides` names its own connection string or host. */
function provider(overrides: Partial<ClaudeProviderOptions> = {}): ClaudeProvider {
  const ownTarget = overrides.connectionString !== undefined || overrides.host !== undefined;
  const created = createClaudeProvider({
    ...(ownTarget ? {} : { connectionString: db.connectionString }),
    currency: 'USD',
    timeoutMs: 3_000,
    staleAfterMs: 2 * HOUR,
    now: () => NOW,
    ...overrides,
  });
  open.push(created);
  return created;
}

const sql = (text: string, values: unknown[] = []) =>
  withClient(db.connectionString, (client) => client.query(text, values));

/** The table as the seed's Supabase job has it. */
async function seedTable(rows: Array<[string | null, Date | null]>, balanceType = 'numeric'): Promise<void> {
  await sql('DROP TABLE IF EXISTS claude_api_usage');
  await sql(
    `CREATE TABLE claude_api_usage (id serial, available_balance ${balanceType}, updated_at timestamptz)`,
  );
  for (const [balance, at] of rows) {
    await sql('INSERT INTO claude_api_usage (available_balance, updated_at) VALUES ($1, $2)', [balance, at]);
  }
}

function expectReading(result: CheckResult) {
  if (!result.ok) throw new Error(`expected a reading, got failure: ${result.reason}`);
  expect(result.provider).toBe('claude');
  expect(result.currency).toBe('USD');
  expect(result.checkedAt).toEqual(NOW);
  return result;
}

function expectFailure(result: CheckResult, reason: string | RegExp, secrets: string[] = []): string {
  if (result.ok) throw new Error(`expected a failure, got ${amountToText(result.available)}`);
  if (typeof reason === 'string') expect(result.reason).toBe(reason);
  else expect(result.reason).toMatch(reason);
  expect(result).not.toHaveProperty('available');
  expect(result.provider).toBe('claude');
  expect(result.checkedAt).toEqual(NOW);
  expect(result.reason).not.toMatch(/[\r\n]/);
  for (const secret of [WRONG_PASSWORD, PASSWORD_ROLE_PASSWORD, ...secrets]) {
    expect(result.reason).not.toContain(secret);
  }
  return result.reason;
}

beforeAll(async () => {
  await requirePostgres();
  db = await createTestDatabase('claude_it');
});

beforeEach(async () => {
  await sql('DROP TABLE IF EXISTS claude_api_usage');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await db?.drop();
});

describe('claude provider: readings', () => {
  it('reads the latest row: exact amount text, asOf = updated_at', async () => {
    const at = new Date('2026-01-29T09:00:00.123Z');
    await seedTable([
      ['8.05', new Date('2026-01-29T08:00:00Z')],
      ['12345.678901', at],
    ]);
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('12345.678901');
    expect(reading.asOf).toEqual(at);
    expect(reading.voucher).toBeUndefined();
    expect(reading.latencyMs).toBeGreaterThanOrEqual(0);
    expect(isStale(reading, 2 * HOUR, NOW)).toBe(false);
  });

  it('keeps numeric scale as Postgres sends it (8.0700 → $8.07)', async () => {
    await seedTable([['8.07', NOW]], 'numeric(12,4)');
    const reading = expectReading(await provider().check());
    expect(reading.available.eq(parseAmount('8.07'))).toBe(true);
    expect(formatMoney(reading.available, 'USD')).toBe('$8.07');
  });

  it('a float column is read as its text, not through a JS float', async () => {
    await seedTable([['0.1', NOW]], 'double precision');
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('0.1');
  });

  it('a stale row: isStale true, and the reading is still reported', async () => {
    const old = new Date(NOW.getTime() - 3 * 24 * HOUR);
    await seedTable([['8.07', old]]);
    const p = provider();
    const reading = expectReading(await p.check());
    expect(reading.asOf).toEqual(old);
    expect(isStale(reading, 2 * HOUR, NOW)).toBe(true);
    expect(p.isStale(reading)).toBe(true);
    expect(p.isStale(reading, new Date(old.getTime() + HOUR))).toBe(false);
    expect(p.staleAfterMs).toBe(2 * HOUR);
  });

  it('isStale: exactly staleAfterMs old is not yet stale', () => {
    const asOf = new Date(NOW.getTime() - HOUR);
    expect(isStale({ asOf }, HOUR, NOW)).toBe(false);
    expect(isStale({ asOf }, HOUR - 1, NOW)).toBe(true);
  });

  it('latest row wins; a NULL updated_at sorts last (NULLS LAST)', async () => {
    await seedTable([
      ['5.00', new Date('2026-01-29T07:00:00Z')],
      ['99.00', null],
      ['6.25', new Date('2026-01-29T09:30:00Z')],
      ['5.50', new Date('2026-01-29T08:00:00Z')],
    ]);
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('6.25');
    expect(reading.asOf).toEqual(new Date('2026-01-29T09:30:00Z'));
  });

  it('only a NULL updated_at row: a reading of unknown age, always stale', async () => {
    await seedTable([['7.5', null]]);
    const p = provider();
    const reading = expectReading(await p.check());
    expect(amountToText(reading.available)).toBe('7.5');
    expect(hasUnknownAge(reading)).toBe(true);
    expect(isStale(reading, Number.MAX_SAFE_INTEGER, NOW)).toBe(true);
    expect(p.isStale(reading)).toBe(true);
  });

  it('runs exactly the documented query', () => {
    expect(CLAUDE_BALANCE_QUERY).toBe(
      'SELECT available_balance, updated_at FROM claude_api_usage ' +
        'ORDER BY updated_at DESC NULLS LAST LIMIT 1',
    );
  });

  it('works with separate host/port/user/database fields', async () => {
    await seedTable([['3.21', NOW]]);
    const reading = expectReading(
      await provider({
        host: PG_HOST,
        port: PG_PORT,
        user: 'postgres',
        database: db.name,
        ssl: false,
      }).check(),
    );
    expect(amountToText(reading.available)).toBe('3.21');
  });
});

describe('claude provider: failures', () => {
  it('empty table', async () => {
    await seedTable([]);
    expectFailure(await provider().check(), 'claude_api_usage has no rows');
  });

  it('NULL balance on the latest row (no $0)', async () => {
    await seedTable([
      ['8.00', new Date('2026-01-28T09:00:00Z')],
      [null, new Date('2026-01-29T09:00:00Z')],
    ]);
    expectFailure(await provider().check(), 'latest claude_api_usage row has no available_balance (NULL)');
  });

  it('a balance that is not a number', async () => {
    await seedTable([['about eight dollars', NOW]], 'text');
    expectFailure(
      await provider().check(),
      'latest claude_api_usage row has an available_balance that is not a number (about eight dollars)',
    );
    await seedTable([['NaN', NOW]]);
    expectFailure(
      await provider().check(),
      'latest claude_api_usage row has an available_balance that is not a number (NaN)',
    );
  });

  it('missing table', async () => {
    expectFailure(await provider().check(), 'table claude_api_usage does not exist');
  });

  it('wrong password (scram role), with fields and with a connection string', async () => {
    const viaFields = await provider({
      host: PG_HOST,
      port: PG_PORT,
      user: PASSWORD_ROLE,
      password: WRONG_PASSWORD,
      database: db.name,
    }).check();
    expectFailure(viaFields, `database rejected the credentials for user "${PASSWORD_ROLE}"`);

    const url = `postgres://${PASSWORD_ROLE}:${WRONG_PASSWORD}@${PG_HOST}:${PG_PORT}/${db.name}`;
    const viaUrl = await provider({ connectionString: url }).check();
    expectFailure(viaUrl, `database rejected the credentials for user "${PASSWORD_ROLE}"`, [url]);
  });

  it('right password but no privilege on the table', async () => {
    await seedTable([['8.07', NOW]]);
    const url = `postgres://${PASSWORD_ROLE}:${PASSWORD_ROLE_PASSWORD}@${PG_HOST}:${PG_PORT}/${db.name}`;
    expectFailure(
      await provider({ connectionString: url }).check(),
      `database user "${PASSWORD_ROLE}" may not read claude_api_usage: ` +
        'permission denied for table claude_api_usage',
      [url],
    );
  });

  it('unreachable host (closed port)', async () => {
    const port = await getClosedPort();
    expectFailure(
      await provider({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` }).check(),
      `cannot connect to database 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expectFailure(
      await provider({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }).check(),
      'cannot connect to database 127.0.0.1:1 (ECONNREFUSED)',
    );
  });

  it('a server that accepts but never speaks: times out connecting within timeoutMs', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;
    try {
      const started = performance.now();
      const result = await provider({
        connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
        timeoutMs: 300,
      }).check();
      const elapsed = performance.now() - started;
      expectFailure(result, `no connection to database 127.0.0.1:${port} within 300 ms`);
      expect(elapsed).toBeLessThan(1_100);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a query blocked by a lock: times out within timeoutMs', async () => {
    await seedTable([['8.07', NOW]]);
    await withClient(db.connectionString, async (locker) => {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE claude_api_usage IN ACCESS EXCLUSIVE MODE');
      try {
        const p = provider({ timeoutMs: 300 });
        const started = performance.now();
        const result = await p.check();
        expect(performance.now() - started).toBeLessThan(1_100);
        expectFailure(result, `database ${PG_HOST}:${PG_PORT} did not answer the query within 300 ms`);
      } finally {
        await locker.query('ROLLBACK');
      }
    });
  });

  it('a closed provider fails instead of throwing', async () => {
    const p = provider();
    await p.close();
    await p.close();
    expectFailure(await p.check(), 'claude provider is closed');
  });
});

describe('recordClaudeBalance', () => {
  it('creates the table and the provider reads the recorded amount', async () => {
    const at = new Date('2026-01-29T09:59:00.000Z');
    const recorded = await recordClaudeBalance(
      { connectionString: db.connectionString },
      parseAmount('8.07'),
      at,
    );
    expect(amountToText(recorded.available)).toBe('8.07');
    expect(recorded.updatedAt).toEqual(at);

    const reading = expectReading(await provider().check());
    expect(formatMoney(reading.available, 'USD')).toBe('$8.07');
    expect(reading.asOf).toEqual(at);

    const { rows } = await sql(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_name = 'claude_api_usage' ORDER BY ordinal_position`,
    );
    expect(rows).toEqual([
      { column_name: 'id', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'available_balance', data_type: 'numeric', is_nullable: 'NO' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
    ]);
  });

  it('defaults the time to the database’s now() and appends to an existing table', async () => {
    await seedTable([['1.00', new Date('2020-01-01T00:00:00Z')]]);
    const before = Date.now();
    const recorded = await recordClaudeBalance({ connectionString: db.connectionString }, parseAmount('9.5'));
    expect(Math.abs(recorded.updatedAt.getTime() - before)).toBeLessThan(5_000);
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('9.5');
    const { rows } = await sql('SELECT count(*)::int AS n FROM claude_api_usage');
    expect(rows[0]).toEqual({ n: 2 });
  });

  it('refuses amounts the column would round or overflow', async () => {
    await expect(
      recordClaudeBalance({ connectionString: db.connectionString }, parseAmount('8.00001')),
    ).rejects.toThrow(/more than 4 decimals/);
    await expect(
      recordClaudeBalance({ connectionString: db.connectionString }, parseAmount('100000000')),
    ).rejects.toThrow(/too large/);
  });

  it('throws a ClaudeDbError without the password when the credentials are wrong', async () => {
    const error = await recordClaudeBalance(
      { host: PG_HOST, port: PG_PORT, user: PASSWORD_ROLE, password: WRONG_PASSWORD, database: db.name },
      parseAmount('8.07'),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClaudeDbError);
    const dbError = error as ClaudeDbError;
    expect(dbError.message).toBe(`database rejected the credentials for user "${PASSWORD_ROLE}"`);
    expect(dbError.code).toBe('28P01');
    expect(dbError.target).toBe(`${PG_HOST}:${PG_PORT}`);
    expect(String(dbError.stack)).not.toContain(WRONG_PASSWORD);
  });
});
