import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * The test server: local PostgreSQL, trust auth for 127.0.0.1 (see scripts/ci-postgres.sh). Tests that
 * need a password check use test/support/pg-auth-server.ts instead of a password role on this server.
 */
export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
export const PG_ADMIN_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/test`;

const START_HINT =
  'Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start ' +
  '(or run scripts/ci-postgres.sh, which also creates the database test).';

/**
 * Fails (never skips) when the test PostgreSQL is unreachable, so a missing database can't turn into a
 * green run — in CI (`CI=true`) or anywhere else. Call it from `beforeAll`.
 */
export async function requirePostgres(): Promise<void> {
  const client = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const where = process.env.CI === 'true' ? ' (CI)' : '';
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `PostgreSQL is required at ${PG_HOST}:${PG_PORT} (user postgres, database test)${where} ` +
        'but is not reachable: ' +
        `${detail}. ${START_HINT}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` with a connected client on `connectionString`, always closing it. */
export async function withClient<T>(
  connectionString: string,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A throwaway database on the test server. */
export interface TestDatabase {
  readonly name: string;
  /** `postgres://postgres@127.0.0.1:5432/<name>` */
  readonly connectionString: string;
  /** Drops the database, disconnecting anyone still on it. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh, uniquely named database (`<prefix>_<pid>_<random>`), so test files running in parallel
 * never share tables. Fails with the start-Postgres hint when the server is down.
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  await requirePostgres();
  const safePrefix =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 30) || 'cw';
  const name = `${safePrefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(PG_ADMIN_URL, (client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    connectionString: `postgres://postgres@${PG_HOST}:${PG_PORT}/${name}`,
    async drop() {
      await withClient(PG_ADMIN_URL, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
    },
  };
}

/** A login role on the test server (trust auth, so no password), for "no privilege" cases. */
export interface TestRole {
  readonly name: string;
  /** Drops the role; close its connections first. */
  drop(): Promise<void>;
}

/** Creates a uniquely named login role with no privileges beyond PUBLIC's. Roles are server-wide: drop it. */
export async function createTestRole(prefix: string): Promise<TestRole> {
  await requirePostgres();
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30)}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(PG_ADMIN_URL, (client) => client.query(`CREATE ROLE "${name}" LOGIN`));
  return {
    name,
    async drop() {
      await withClient(PG_ADMIN_URL, (client) => client.query(`DROP ROLE IF EXISTS "${name}"`));
    },
  };
}
