import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClaudeProvider } from '../../src/adapters/providers/claude.js';
import { type Db, openDatabase } from '../../src/adapters/storage/db.js';
import { DeferredDb, StoreUnreachableError } from '../../src/adapters/storage/deferred-db.js';
import { HistoryStore } from '../../src/adapters/storage/history.js';
import { SlotClaims } from '../../src/adapters/storage/slots.js';
import { parseAmount } from '../../src/core/money.js';
import type { CheckResult } from '../../src/core/types.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase, PG_HOST, PG_PORT, type TestDatabase, withClient } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// Faults between creditwatch and PostgreSQL — the history/settings store and the Claude table alike: a
// connection killed mid-query (pg_terminate_backend, a TCP reset) must fail that one call, never the process;
// every call is bounded on both sides; a black-holed server must not hang a caller.

/** Errors that reached the process unhandled while a test ran; each must be empty at its end. */
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

let pgdb: TestDatabase;
const cleanups: Array<() => Promise<unknown>> = [];

const admin = (text: string, values: unknown[] = []) =>
  withClient(pgdb.connectionString, (client) => client.query(text, values));

/** How a promise settled, or `pending` when it had not within `limitMs`. */
async function settle<T>(
  promise: Promise<T>,
  limitMs: number,
): Promise<
  | { outcome: 'fulfilled'; value: T; ms: number }
  | { outcome: 'rejected' | 'pending'; error?: unknown; ms: number }
> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), limitMs);
  });
  try {
    const value = await Promise.race([promise, limit]);
    const ms = performance.now() - started;
    return value === 'pending' ? { outcome: 'pending', ms } : { outcome: 'fulfilled', value: value as T, ms };
  } catch (error) {
    return { outcome: 'rejected', error, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `query` (run on the admin connection) returns a row, and returns it. */
async function waitForRow<T>(text: string, values: unknown[], what: string, limitMs = 5_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const { rows } = await admin(text, values);
    if (rows[0] !== undefined) return rows[0] as T;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The backend of our database running `like` (other than the admin connection asking). */
const backendRunning = (like: string) =>
  waitForRow<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
     WHERE datname = $1 AND state = 'active' AND query LIKE $2 AND pid <> pg_backend_pid()`,
    [pgdb.name, like],
    `a backend running ${like}`,
  );

/**
 * After a TCP reset the server does not notice until it next writes, so the backend keeps running its query;
 * the test that left it ends it (and waits until it is gone) at cleanup, so no later test finds it.
 */
const endLeftoverBackend = (pid: number) =>
  cleanups.push(async () => {
    await admin('SELECT pg_terminate_backend($1)', [pid]);
    const until = Date.now() + 5_000;
    while ((await admin('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rows.length > 0) {
      if (Date.now() > until) throw new Error(`backend ${pid} left running`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });

async function openStore(
  url: string,
  postgres?: { connectTimeoutMs: number; queryTimeoutMs: number },
): Promise<Db> {
  const db = await openDatabase({ databaseUrl: url, sqlitePath: '', ...(postgres ? { postgres } : {}) });
  cleanups.push(() => db.close());
  return db;
}

async function proxy(): Promise<TcpProxy> {
  const started = await startTcpProxy({ host: PG_HOST, port: PG_PORT });
  cleanups.push(() => started.close());
  return started;
}

/** Holds `LOCK TABLE … ACCESS EXCLUSIVE` on `table` until the returned function is called. */
async function lockTable(table: string): Promise<() => Promise<void>> {
  const { Client } = await import('pg');
  const locker = new Client({ connectionString: pgdb.connectionString });
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end().catch(() => undefined);
  };
  cleanups.push(release);
  return release;
}

const failed = (reading: CheckResult): reading is Extract<CheckResult, { ok: false }> => {
  if (reading.ok) throw new Error(`expected a failure, got a reading of ${reading.available.toString()}`);
  return true;
};

beforeAll(async () => {
  pgdb = await createTestDatabase('faults_pg');
  process.on('uncaughtException', onUncaught);
});

beforeEach(() => {
  uncaught.length = 0;
});

afterEach(async () => {
  // Give a late 'error' event (emitted after the socket's end) the chance to surface before judging.
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  expect(uncaught.map(String)).toEqual([]);
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await pgdb?.drop();
});

describe('store (Kysely over pg.Pool): a connection dropped during a query', () => {
  it('GIVEN pg_terminate_backend mid-query THEN that query rejects, the process lives on and the store answers again', async () => {
    const db = await openStore(pgdb.connectionString);
    // Inside a transaction the client is still checked out (rolling back) when the socket closes.
    // Named after this test: a sleep another test left running is not the one terminated here.
    const sleeping = settle(
      db.kysely.transaction().execute((trx) => sql`SELECT pg_sleep(5) AS terminated`.execute(trx)),
      10_000,
    );
    const { pid } = await backendRunning('SELECT pg_sleep(5) AS terminated');
    await admin('SELECT pg_terminate_backend($1)', [pid]);

    const result = await sleeping;
    expect(result.outcome).toBe('rejected');
    expect(String((result as { error: unknown }).error)).toMatch(/terminat/i);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught.map(String)).toEqual([]);
    // The broken client left the pool: the next call gets a healthy one.
    expect(await new SlotClaims(db, 'test').claim('summary', 'after-terminate')).toBe(true);
  });

  it('GIVEN a TCP reset mid-query (through the proxy) THEN that query rejects and the store answers after restore', async () => {
    const net = await proxy();
    const db = await openStore(net.url(pgdb.connectionString));
    const sleeping = settle(sql`SELECT pg_sleep(5) AS reset`.execute(db.kysely), 10_000);
    const { pid } = await backendRunning('SELECT pg_sleep(5) AS reset');
    endLeftoverBackend(pid);
    net.reset();

    const result = await sleeping;
    expect(result.outcome).toBe('rejected');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught.map(String)).toEqual([]);
    await net.restore();
    expect(await new SlotClaims(db, 'test').claim('summary', 'after-reset')).toBe(true);
  });
});

describe('store: every call is bounded', () => {
  const bounds = { connectTimeoutMs: 500, queryTimeoutMs: 500 };
  /** The most a store call may take with `bounds`: connecting plus the client's query bound, twice over. */
  const limit = 2 * (bounds.connectTimeoutMs + 2 * bounds.queryTimeoutMs);

  it('GIVEN a query running past the bound THEN the server cancels it (statement_timeout) and no backend keeps running it', async () => {
    const db = await openStore(pgdb.connectionString, bounds);
    const { rows } = await sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(db.kysely);
    expect(rows[0]?.statement_timeout).toBe('500ms');

    const result = await settle(sql`SELECT pg_sleep(30)`.execute(db.kysely), limit);
    expect(result.outcome).toBe('rejected');
    expect((result as { error: { code?: string } }).error.code).toBe('57014');
    const { rows: still } = await admin(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'`,
      [pgdb.name],
    );
    expect(still).toEqual([]);
  });

  it('GIVEN a black-holed store (packets dropped, no reset) THEN store calls reject within their bound instead of hanging, and work after restore', async () => {
    const net = await proxy();
    const db = await openStore(net.url(pgdb.connectionString), bounds);
    const slots = new SlotClaims(db, 'test');
    const history = new HistoryStore(db);
    expect(await slots.claim('summary', 'before')).toBe(true); // a pooled connection, idle and healthy
    net.blackhole();

    // On the pooled connection: the query goes out and nothing comes back.
    const claim = await settle(slots.claim('summary', 'during'), limit);
    expect(claim.outcome).toBe('rejected');
    // Both calls at once: at least one needs a new connection, which is accepted and then never answered.
    const both = await Promise.all([
      settle(history.record([reading('1.00')]), limit),
      settle(slots.claim('summary', 'during-2'), limit),
    ]);
    expect(both.map((b) => b.outcome)).toEqual(['rejected', 'rejected']);

    await net.restore();
    expect(await slots.claim('summary', 'after')).toBe(true);
  });

  it('GIVEN the store found unreachable THEN later calls fail at once instead of each waiting out its bound, until a probe finds it answering again', async () => {
    const net = await proxy();
    const logs = captureLogs();
    const db = new DeferredDb({
      open: (onUnreachable) =>
        openDatabase({
          databaseUrl: net.url(pgdb.connectionString),
          sqlitePath: '',
          postgres: bounds,
          onUnreachable,
        }),
      dialect: 'postgres',
      describe: 'test store',
      retry: { initialMs: 100, maxMs: 1_000 },
      logger: logs.logger,
    });
    cleanups.push(() => db.close());
    expect(await db.tryOpen()).toBe(true);
    let answering = 0;
    db.onOpen(() => answering++);
    expect(answering).toBe(1);
    const slots = new SlotClaims(db, 'test');
    net.blackhole();

    // The first call finds out, at its bound; from then on calls fail at once (no new connection, no wait).
    const first = await settle(slots.claim('summary', 'probe-first'), limit);
    expect(first.outcome).toBe('rejected');
    expect(db.isUnreachable).toBe(true);
    const later = await Promise.all([
      settle(slots.claim('summary', 'probe-later'), limit),
      settle(new HistoryStore(db).record([reading('2.00')]), limit),
    ]);
    for (const call of later) {
      expect(call.outcome).toBe('rejected');
      expect('error' in call ? call.error : null).toBeInstanceOf(StoreUnreachableError);
      // Thrown before any I/O: far below the 500 ms connection bound a call would otherwise wait.
      expect(call.ms).toBeLessThan(bounds.connectTimeoutMs / 2);
    }
    expect(logs.text()).toContain('store unreachable');

    await net.restore();
    const until = Date.now() + 15_000;
    while (db.isUnreachable && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(db.isUnreachable).toBe(false);
    expect(answering).toBe(2); // told again, so what waited is written now
    expect(logs.text()).toContain('store reachable again');
    expect(await slots.claim('summary', 'probe-after')).toBe(true);
  });
});

function reading(available: string): CheckResult {
  const at = new Date('2026-01-29T10:00:00Z');
  return {
    ok: true,
    provider: 'claude',
    currency: 'USD',
    available: parseAmount(available),
    asOf: at,
    checkedAt: at,
    latencyMs: 1,
  };
}

describe('claude provider: a connection dropped during the query', () => {
  const provider = (connectionString: string, timeoutMs = 5_000) => {
    const created = createClaudeProvider({
      connectionString,
      currency: 'USD',
      timeoutMs,
      staleAfterMs: 3_600_000,
    });
    cleanups.push(() => created.close());
    return created;
  };

  beforeEach(async () => {
    await admin('DROP TABLE IF EXISTS claude_api_usage');
    await admin(
      'CREATE TABLE claude_api_usage (id serial, available_balance numeric, updated_at timestamptz)',
    );
    await admin(
      "INSERT INTO claude_api_usage (available_balance, updated_at) VALUES (8.07, now() - interval '1 hour')",
    );
  });

  it('GIVEN pg_terminate_backend while the query waits on a lock THEN check() reports a failure and the process lives on', async () => {
    const release = await lockTable('claude_api_usage');
    const claude = provider(pgdb.connectionString);
    const checking = claude.check();
    const { pid } = await backendRunning('%claude_api_usage%');
    await admin('SELECT pg_terminate_backend($1)', [pid]);

    const result = await checking;
    if (failed(result)) expect(result.reason).toMatch(/terminat|closed the connection/);
    await release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught.map(String)).toEqual([]);
    expect((await claude.check()).ok).toBe(true);
  });

  it('GIVEN a TCP reset while the query waits on a lock THEN check() reports a failure and the process lives on', async () => {
    const release = await lockTable('claude_api_usage');
    const net = await proxy();
    const claude = provider(net.url(pgdb.connectionString));
    const checking = claude.check();
    const { pid } = await backendRunning('%claude_api_usage%');
    endLeftoverBackend(pid);
    net.reset();

    const result = await checking;
    if (failed(result)) expect(result.reason).toMatch(/closed the connection|ECONNRESET/);
    await release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uncaught.map(String)).toEqual([]);
    await net.restore();
    expect((await claude.check()).ok).toBe(true);
  });

  it('GIVEN a query that times out client side on a lock THEN no creditwatch backend is left waiting on the server', async () => {
    const release = await lockTable('claude_api_usage');
    const claude = provider(pgdb.connectionString, 400);
    for (let i = 0; i < 3; i += 1) {
      const result = await claude.check();
      if (failed(result)) expect(result.reason).toMatch(/within 400 ms/);
    }
    // The lock is still held: a backend still waiting now would wait for as long as the lock lasts.
    const until = Date.now() + 3_000;
    let waiting: unknown[] = [];
    do {
      ({ rows: waiting } = await admin(
        `SELECT pid, state, wait_event_type FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'creditwatch' AND state <> 'idle'`,
        [pgdb.name],
      ));
      if (waiting.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < until);
    expect(waiting).toEqual([]);
    await release();
  });
});

describe('the TCP proxy itself (test/support/tcp-proxy.ts)', () => {
  /** A connected pg client through `net`; closed by the test's cleanup. */
  async function clientVia(net: TcpProxy) {
    const { Client } = await import('pg');
    const client = new Client({
      connectionString: net.url(pgdb.connectionString),
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', () => undefined);
    cleanups.push(() => client.end());
    await client.connect();
    return client;
  }

  it('delay(ms) holds every chunk that long, in order; restore() ends the delay', async () => {
    const net = await proxy();
    const client = await clientVia(net);
    net.delay(300);
    const started = performance.now();
    const { rows } = await client.query("SELECT 'a' AS x UNION ALL SELECT 'b'");
    // Request and answer are each held 300 ms: never faster than the delay (only a lower bound is asserted).
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(rows).toEqual([{ x: 'a' }, { x: 'b' }]);
    await net.restore();
    expect(net.mode).toBe('pass');
    expect((await client.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
  });

  it('refuse() closes the listener (ECONNREFUSED) and restore() listens again on the same port', async () => {
    const net = await proxy();
    const open = await clientVia(net);
    await net.refuse();
    await expect(clientVia(net)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // Open connections are left as they are.
    expect((await open.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    await net.restore();
    const again = await clientVia(net);
    expect((await again.query('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
  });

  it('blackhole() holds new and open connections without closing them; restore() delivers what was held', async () => {
    const net = await proxy();
    const open = await clientVia(net);
    net.blackhole();
    const held = settle(open.query('SELECT 4 AS n'), 10_000);
    const connecting = settle(clientVia(net), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(net.openConnections).toBe(2);
    await net.restore();
    const [query, connected] = await Promise.all([held, connecting]);
    expect(query.outcome).toBe('fulfilled');
    expect((query as { value: { rows: unknown[] } }).value.rows).toEqual([{ n: 4 }]);
    expect(connected.outcome).toBe('fulfilled');
  });

  it('reset() resets open connections and every new one until restore()', async () => {
    const net = await proxy();
    const open = await clientVia(net);
    net.reset();
    await expect(open.query('SELECT 1')).rejects.toThrow();
    await expect(clientVia(net)).rejects.toThrow();
    expect(net.openConnections).toBe(0);
    await net.restore();
    expect((await (await clientVia(net)).query('SELECT 5 AS n')).rows).toEqual([{ n: 5 }]);
  });
});
