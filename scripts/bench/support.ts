/** What benchmark sections share: a Moonshot stand-in, a scratch Postgres database, timing, statistics. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { KIMI_BALANCE_PATH } from '../../src/adapters/providers/kimi.js';

/** Moonshot's documented success reply. */
export const MOONSHOT_OK = JSON.stringify({
  code: 0,
  data: { available_balance: 12.34, voucher_balance: 3.45, cash_balance: 8.89 },
  scode: '0x0',
  status: true,
});

export interface MoonshotStub {
  /** Origin for `MOONSHOT_BASE_URL` or the provider's `baseUrl`. */
  readonly url: string;
  readonly requests: number;
  close(): Promise<void>;
}

/** Moonshot's balance endpoint on 127.0.0.1 (ephemeral port), answering after `delayMs`. */
export function startMoonshotStub(delayMs = 0): Promise<MoonshotStub> {
  return startJsonStub(delayMs, { [KIMI_BALANCE_PATH]: JSON.parse(MOONSHOT_OK) });
}

/**
 * A provider API stand-in answering each path in `routes` with its JSON after `delayMs` (404 otherwise), for
 * benches over every provider's documented reply.
 */
export async function startJsonStub(
  delayMs: number,
  routes: Readonly<Record<string, unknown>>,
): Promise<MoonshotStub> {
  let requests = 0;
  const bodies = new Map(Object.entries(routes).map(([path, json]) => [path, JSON.stringify(json)]));
  const server = createServer((req, res) => {
    requests++;
    const body = bodies.get((req.url ?? '').split('?')[0] ?? '');
    const reply = () =>
      body === undefined
        ? res.writeHead(404).end()
        : res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    async close() {
      server.close();
      server.closeAllConnections();
      await once(server, 'close');
    },
  };
}

/** The local test server: 127.0.0.1:5432, user postgres, trust auth (see scripts/ci-postgres.sh). */
export const PG_HOST = '127.0.0.1';
const pgUrl = (database: string) => `postgres://postgres@${PG_HOST}:5432/${database}`;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

// Scratch databases not dropped yet; an interrupted run (Ctrl-C, SIGTERM) drops them on its way out.
const scratch = new Map<string, () => Promise<void>>();
let dropOnSignal = false;

function dropScratchOnSignal(): void {
  if (dropOnSignal) return;
  dropOnSignal = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...scratch.values()].map((drop) => drop())).then(() =>
        process.exit(signal === 'SIGINT' ? 130 : 143),
      );
    });
  }
}

/**
 * Creates a database named `<prefix>_<pid>_<random>` and runs `setupSql` in it. Unique per run, so two
 * benchmarks on one server never drop each other's database; `drop()` it in a `finally` (an interrupted
 * run drops it too).
 */
export async function scratchDatabase(prefix: string, setupSql: string): Promise<ScratchDatabase> {
  if (!/^[a-z_][a-z0-9_]{0,30}$/.test(prefix)) throw new Error(`not a plain database name: ${prefix}`);
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const drop = async () => {
    scratch.delete(name);
    await withClient(pgUrl('postgres'), (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  dropScratchOnSignal();
  await withClient(pgUrl('postgres'), (c) => c.query(`CREATE DATABASE ${name}`));
  scratch.set(name, drop);
  const url = pgUrl(name);
  try {
    if (setupSql !== '') await withClient(url, (c) => c.query(setupSql));
  } catch (err) {
    await drop();
    throw err;
  }
  return { name, url, drop };
}

export interface Timed {
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, timed from spawn to exit; asynchronous, so stand-ins here keep answering. */
export function timeProcess(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentiles. */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
  return { n: sorted.length, median: rank(0.5), p90: rank(0.9), min: sorted[0] as number, max: rank(1) };
}

export const ms = (value: number): string => `${value.toFixed(1)} ms`;
