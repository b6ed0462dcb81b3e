import { expect } from 'vitest';
import { createClaudeProvider } from '../../src/adapters/providers/claude.js';
import { getClosedPort } from '../support/fake-api.js';
import { type PgAuthServer, startPgAuthServer } from '../support/pg-auth-server.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { type Arranged, providerContract } from '../support/provider-contract.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// Claude is a Postgres table reader: the contract's situations that exist for it (a refused password, an
// empty or wrongly typed table, a black-holed or refused server) run against a real Postgres; the HTTP-only
// ones (HTML error pages, bodies over 1 MiB, redirects) have no counterpart and are left out.
const PASSWORD = 'claude-contract-SECRET-pw';
const USER = 'cw_contract_user';
const TIMEOUT_MS = 1_000;
let db: TestDatabase;
let auth: PgAuthServer;
let proxy: TcpProxy;

const claude = (connectionString: string): Arranged => ({
  provider: createClaudeProvider({
    connectionString,
    currency: 'USD',
    timeoutMs: TIMEOUT_MS,
    staleAfterMs: 3_600_000,
  }),
});
const table = async (balanceType: string, rows: Array<string | null>): Promise<Arranged> => {
  await withClient(db.connectionString, async (client) => {
    await client.query('DROP TABLE IF EXISTS claude_api_usage');
    await client.query(
      `CREATE TABLE claude_api_usage (id serial, available_balance ${balanceType}, updated_at timestamptz)`,
    );
    for (const balance of rows) {
      await client.query('INSERT INTO claude_api_usage (available_balance, updated_at) VALUES ($1, now())', [
        balance,
      ]);
    }
  });
  return claude(db.connectionString);
};
const wrongPassword = () =>
  Promise.resolve(claude(`postgres://${USER}:${PASSWORD}@${auth.host}:${auth.port}/claude`));

providerContract({
  id: 'claude',
  secret: PASSWORD,
  timeoutMs: TIMEOUT_MS,
  async setup() {
    db = await createTestDatabase('claude_contract');
    auth = await startPgAuthServer('the-right-one');
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
  },
  async teardown() {
    await proxy.close();
    await auth.close();
    await db.drop();
  },
  async documented() {
    return {
      ...(await table('numeric(12,4)', ['8.0700'])),
      expect(reading) {
        expect([reading.currency, reading.available.toFixed(2), reading.asOf instanceof Date]).toEqual([
          'USD',
          '8.07',
          true,
        ]);
      },
    };
  },
  situations: {
    unauthorized: {
      arrange: wrongPassword,
      reason: new RegExp(`^database rejected the credentials for user "${USER}"`),
    },
    'empty-body': { arrange: () => table('numeric', []), reason: /^claude_api_usage has no rows$/ },
    hang: {
      async arrange() {
        proxy.blackhole();
        const url = new URL(db.connectionString);
        url.host = `${proxy.host}:${proxy.port}`;
        return { ...claude(url.toString()), verify: () => void proxy.restore() };
      },
      reason: new RegExp(`${TIMEOUT_MS} ms`),
    },
    refused: {
      async arrange() {
        const port = await getClosedPort();
        return claude(`postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/claude`);
      },
      reason: /^cannot connect to database 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
    },
  },
  wrongTypes: [
    {
      name: 'a NULL balance',
      arrange: () => table('numeric', [null]),
      reason: /^latest claude_api_usage row has no available_balance \(NULL\)$/,
    },
    {
      name: 'text where a number is expected',
      arrange: () => table('text', ['eight dollars']),
      reason: /^latest claude_api_usage row has an available_balance that is not a number/,
    },
    {
      name: 'no table at all',
      arrange: async () => {
        await withClient(db.connectionString, (c) => c.query('DROP TABLE IF EXISTS claude_api_usage'));
        return claude(db.connectionString);
      },
      reason: /^table claude_api_usage does not exist$/,
    },
  ],
  echoesSecret: wrongPassword,
});
