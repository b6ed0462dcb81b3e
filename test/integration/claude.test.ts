import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLAUDE_BALANCE_QUERY,
  CLAUDE_FUTURE_ROWS_QUERY,
  ClaudeDbError,
  type ClaudeProvider,
  type ClaudeProviderOptions,
  createClaudeProvider,
  isStale,
  parseTimestampAsUtc,
  recordClaudeBalance,
} from '../../src/adapters/providers/claude.js';
import { loadConfig } from '../../src/core/config.js';
import { amountToText, formatMoney, parseAmount } from '../../src/core/money.js';
import type { CheckResult } from '../../src/core/types.js';
import { createCore } from '../../src/entry/app.js';
import { getClosedPort } from '../support/fake-moonshot.js';
import { captureLogs } from '../support/log-capture.js';
import { type PgAuthServer, startPgAuthServer } from '../support/pg-auth-server.js';
import {
  createTestDatabase,
  createTestRole,
  PG_HOST,
  PG_PORT,
  requirePostgres,
  type TestDatabase,
  withClient,
} from '../support/postgres.js';

const NOW = new Date('2026-01-29T10:00:00.000Z');
const HOUR = 3_600_000;
const WRONG_PASSWORD = 'wrong-SECRET-pw-456';
const RIGHT_PASSWORD = 'right-SECRET-pw-123';
// A user only the fake auth server hears of; the test PostgreSQL has no password role.
const PASSWORD_USER = 'cw_scram_user';

let db: TestDatabase;
// Checks passwords the way Postgres does (SCRAM-SHA-256) and refuses them: see pg-auth-server.ts.
let auth: PgAuthServer;
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
  for (const secret of [WRONG_PASSWORD, RIGHT_PASSWORD, ...secrets]) {
    expect(result.reason).not.toContain(secret);
  }
  return result.reason;
}

beforeAll(async () => {
  await requirePostgres();
  db = await createTestDatabase('claude_it');
  auth = await startPgAuthServer(RIGHT_PASSWORD);
});

beforeEach(async () => {
  await sql('DROP TABLE IF EXISTS claude_api_usage');
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await auth?.close();
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
    expect(reading.asOf).toBeNull();
    expect(isStale(reading, Number.MAX_SAFE_INTEGER, NOW)).toBe(true);
    expect(p.isStale(reading)).toBe(true);
  });

  it('runs exactly the documented queries (README quotes them)', () => {
    expect(CLAUDE_BALANCE_QUERY).toBe(
      'SELECT available_balance, updated_at FROM claude_api_usage ' +
        "WHERE updated_at IS NULL OR updated_at <= now() + interval '5 minutes' " +
        'ORDER BY updated_at DESC NULLS LAST LIMIT 1',
    );
    expect(CLAUDE_FUTURE_ROWS_QUERY).toBe(
      'SELECT count(*) AS future_rows, max(updated_at) AS latest FROM claude_api_usage ' +
        "WHERE updated_at > now() + interval '5 minutes'",
    );
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(readme.includes(CLAUDE_BALANCE_QUERY), 'README quotes CLAUDE_BALANCE_QUERY').toBe(true);
    expect(readme.includes(CLAUDE_FUTURE_ROWS_QUERY), 'README quotes CLAUDE_FUTURE_ROWS_QUERY').toBe(true);
  });

  describe('an updated_at of type timestamp (no time zone) is UTC, whatever the process zone', () => {
    const zone = process.env.TZ;
    beforeEach(() => {
      // Node applies a TZ change at once; Los Angeles is 8 hours behind UTC in January.
      process.env.TZ = 'America/Los_Angeles';
    });
    afterEach(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });

    it('GIVEN TZ=America/Los_Angeles and a timestamp column THEN asOf is the stored wall time read as UTC', async () => {
      expect(new Date('2026-01-29T00:00:00Z').getTimezoneOffset()).toBe(480); // the zone really is in force
      await sql('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamp)');
      await sql("INSERT INTO claude_api_usage VALUES (8.07, '2026-01-29 02:00:00.123456')");
      const reading = expectReading(await provider().check());
      expect(reading.asOf).toEqual(new Date('2026-01-29T02:00:00.123Z'));
      // 8 hours old at NOW: stale after 2 hours. Read in the local zone it would have looked 8 hours younger.
      expect(isStale(reading, 2 * HOUR, NOW)).toBe(true);
    });

    it('GIVEN a timestamp column THEN the future-row rule compares it as UTC too', async () => {
      await sql('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamp)');
      // Two minutes ahead in UTC: inside the tolerance, so it is the reading.
      await sql(
        "INSERT INTO claude_api_usage VALUES (4.5, (now() AT TIME ZONE 'UTC') + interval '2 minutes')",
      );
      await sql("INSERT INTO claude_api_usage VALUES (3.5, (now() AT TIME ZONE 'UTC') - interval '1 hour')");
      const reading = expectReading(await provider().check());
      expect(amountToText(reading.available)).toBe('4.5');
      expect(reading.warnings).toBeUndefined();
    });

    it('parseTimestampAsUtc: fractions, and values a Date cannot hold', () => {
      expect(parseTimestampAsUtc('2026-01-29 09:00:00')).toEqual(new Date('2026-01-29T09:00:00Z'));
      expect(parseTimestampAsUtc('2026-01-29 09:00:00.5')).toEqual(new Date('2026-01-29T09:00:00.500Z'));
      expect(parseTimestampAsUtc('2026-01-29 09:00:00.999999')).toEqual(new Date('2026-01-29T09:00:00.999Z'));
      for (const odd of ['infinity', '-infinity', '0044-03-15 12:00:00 BC', '12026-01-01 00:00:00']) {
        expect(Number.isNaN(parseTimestampAsUtc(odd).getTime())).toBe(true);
      }
    });
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

describe('claude provider: rows dated in the future', () => {
  // The database's clock decides what "the future" is; the provider's test clock (NOW, in January) does not.
  const dbNow = async () => (await sql('SELECT now() AS now')).rows[0].now as Date;

  it('GIVEN a row dated 2099 THEN it is ignored with a warning and the latest real row is the reading', async () => {
    const now = await dbNow();
    await seedTable([
      ['8.07', new Date(now.getTime() - HOUR)],
      ['999.00', new Date('2099-01-01T00:00:00Z')],
      ['1.00', new Date(now.getTime() - 2 * HOUR)],
    ]);
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('8.07');
    expect(reading.warnings).toEqual([
      'ignored 1 claude_api_usage row dated more than 5 minutes in the future (latest 2099-01-01 00:00 UTC)',
    ]);
  });

  it('GIVEN a row a little ahead of the database clock (under 5 minutes) THEN it counts, without a warning', async () => {
    const now = await dbNow();
    await seedTable([
      ['8.07', new Date(now.getTime() - HOUR)],
      ['7.00', new Date(now.getTime() + 2 * 60_000)],
    ]);
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('7');
    expect(reading.warnings).toBeUndefined();
  });

  it('GIVEN only future rows (and a NULL-dated one) THEN the NULL-dated row is read, with the warning', async () => {
    await seedTable([
      ['5.00', null],
      ['999.00', new Date('2099-01-01T00:00:00Z')],
      ['998.00', new Date('2098-06-01T00:00:00Z')],
    ]);
    const reading = expectReading(await provider().check());
    expect(amountToText(reading.available)).toBe('5');
    expect(reading.asOf).toBeNull();
    expect(reading.warnings).toEqual([
      'ignored 2 claude_api_usage rows dated more than 5 minutes in the future (latest 2099-01-01 00:00 UTC)',
    ]);
  });

  it('GIVEN nothing but future rows THEN the failure says why', async () => {
    await seedTable([['999.00', new Date('2099-01-01T00:00:00Z')]]);
    expectFailure(
      await provider().check(),
      'claude_api_usage has no rows dated up to now; ' +
        'ignored 1 claude_api_usage row dated more than 5 minutes in the future (latest 2099-01-01 00:00 UTC)',
    );
  });

  it('GIVEN the service checks such a table THEN it logs the warning at warn', async () => {
    const now = await dbNow();
    await seedTable([
      ['8.07', new Date(now.getTime() - HOUR)],
      ['999.00', new Date('2099-01-01T00:00:00Z')],
    ]);
    const logs = captureLogs('warn');
    const dir = mkdtempSync(join(tmpdir(), 'cw-claude-warn-'));
    const config = loadConfig({
      HOME: dir,
      DATA_DIR: join(dir, 'data'),
      BALANCE_LOG_DIR: join(dir, 'logs'),
      PROVIDERS: 'claude',
      CLAUDE_DB_URL: db.connectionString,
    });
    const core = await createCore(config, logs.logger);
    try {
      await core.service.checkAll();
    } finally {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(logs.lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'provider warning',
        provider: 'claude',
        warning: expect.stringContaining(
          'ignored 1 claude_api_usage row dated more than 5 minutes in the future',
        ),
      }),
    );
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

  it('wrong password (SCRAM exchange refused with 28P01), with fields and with a connection string', async () => {
    const before = auth.attempts.length;
    const viaFields = await provider({
      host: auth.host,
      port: auth.port,
      user: PASSWORD_USER,
      password: WRONG_PASSWORD,
      database: 'claude',
    }).check();
    expectFailure(viaFields, `database rejected the credentials for user "${PASSWORD_USER}"`);

    const url = `postgres://${PASSWORD_USER}:${WRONG_PASSWORD}@${auth.host}:${auth.port}/claude`;
    const viaUrl = await provider({ connectionString: url }).check();
    expectFailure(viaUrl, `database rejected the credentials for user "${PASSWORD_USER}"`, [url]);
    // Both went through the whole exchange with the wrong password, not around it.
    expect(auth.attempts.slice(before)).toEqual([
      { user: PASSWORD_USER, database: 'claude', askedForTls: false, passwordMatched: false },
      { user: PASSWORD_USER, database: 'claude', askedForTls: false, passwordMatched: false },
    ]);
  });

  it('the password check is real: the right password passes the SCRAM proof (and is still refused)', async () => {
    const url = `postgres://${PASSWORD_USER}:${RIGHT_PASSWORD}@${auth.host}:${auth.port}/claude`;
    expectFailure(
      await provider({ connectionString: url }).check(),
      `database rejected the credentials for user "${PASSWORD_USER}"`,
      [url],
    );
    expect(auth.attempts.at(-1)?.passwordMatched).toBe(true);
  });

  it('a user without privilege on the table', async () => {
    await seedTable([['8.07', NOW]]);
    const role = await createTestRole('cw_noread');
    try {
      const url = `postgres://${role.name}@${PG_HOST}:${PG_PORT}/${db.name}`;
      const p = provider({ connectionString: url });
      expectFailure(
        await p.check(),
        `database user "${role.name}" may not read claude_api_usage: ` +
          'permission denied for table claude_api_usage',
        [url],
      );
      await p.close();
    } finally {
      await role.drop();
    }
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
      { host: auth.host, port: auth.port, user: PASSWORD_USER, password: WRONG_PASSWORD, database: 'claude' },
      parseAmount('8.07'),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClaudeDbError);
    const dbError = error as ClaudeDbError;
    expect(dbError.message).toBe(`database rejected the credentials for user "${PASSWORD_USER}"`);
    expect(dbError.code).toBe('28P01');
    expect(dbError.target).toBe(`${auth.host}:${auth.port}`);
    expect(auth.attempts.at(-1)?.passwordMatched).toBe(false);
    expect(String(dbError.stack)).not.toContain(WRONG_PASSWORD);
  });
});
