/**
 * `BalanceService.checkAll()` with 1, 2 and 4 kimi providers, each against its own Moonshot stand-in
 * that answers after a fixed delay (the first 80 ms, the others 50 ms). The checks run in parallel, so a
 * run should cost the slowest provider's latency plus the service's own work (judging, recording the
 * history, the balance-log lines): that remainder is the overhead measured here. Embedded SQLite store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKimiProvider } from '../../src/adapters/providers/kimi.js';
import { PROVIDER_MODULES } from '../../src/adapters/providers/registry.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import type { BalanceProvider } from '../../src/core/types.js';
import { createCore } from '../../src/entry/app.js';
import { ms, startJsonStub, startMoonshotStub, stats } from './support.js';
import type { BenchRow } from './types.js';

const DELAYS_MS = [80, 50, 50, 50];
const PROVIDER_COUNTS = [1, 2, 4];
const RUNS = 20;
const WARMUP = 3;
const TARGET_MS = 5;

/** Each HTTP provider's documented reply, at the path it reads (issue 12's table). */
const DOCUMENTED: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  kimi: {
    '/v1/users/me/balance': {
      code: 0,
      data: { available_balance: 49.58894, voucher_balance: 46.58893, cash_balance: 3.00001 },
    },
  },
  deepseek: {
    '/user/balance': {
      is_available: true,
      balance_infos: [
        { currency: 'CNY', total_balance: '110.07', granted_balance: '10', topped_up_balance: '100.07' },
      ],
    },
  },
  openrouter: { '/v1/credits': { data: { total_credits: 100.1, total_usage: 25.3 } } },
  siliconflow: {
    '/v1/user/info': {
      code: 20000,
      status: true,
      data: { balance: '0.88', chargeBalance: '88.00', totalBalance: '88.88' },
    },
  },
  novita: {
    '/openapi/v1/billing/balance/detail': {
      availableBalance: '1234500',
      cashBalance: '1000000',
      creditLimit: '0',
      pendingCharges: '0',
      outstandingInvoices: '0',
    },
  },
  stepfun: {
    '/v1/accounts': {
      object: 'account',
      balance: 100.3,
      total_cash_balance: 80.1,
      total_voucher_balance: 20.2,
    },
  },
};
const ACCOUNTS = 30;
const ACCOUNTS_TARGET_MS = 10;

/**
 * 30 accounts over the six HTTP providers (five accounts each), each against its own stand-in replaying the
 * provider's documented reply: the slowest after 80 ms, the rest after 50 ms. Overhead = wall − slowest.
 */
async function measureAccounts(): Promise<BenchRow[]> {
  const modules = PROVIDER_MODULES.filter((m) => DOCUMENTED[m.id] !== undefined);
  const delays = Array.from({ length: ACCOUNTS }, (_, i) => (i === 0 ? 80 : 50));
  const stubs = await Promise.all(
    delays.map((d, i) => startJsonStub(d, DOCUMENTED[modules[i % modules.length]!.id]!)),
  );
  const providers: BalanceProvider[] = stubs.map((stub, i) => {
    const module = modules[i % modules.length]!;
    const settings = module.settings({
      account: `a${i}`,
      name: (s) => s,
      get: (s) => (s === 'API_KEY' ? 'sk-bench-key' : s === 'BASE_URL' ? stub.url : undefined),
      exact: () => undefined,
      problem: (text) => {
        throw new Error(text);
      },
      because: 'bench',
    });
    return module.create(settings, { timeoutMs: 5000, accountId: `${module.id}:a${i}` });
  });
  return runRounds(
    providers,
    stubs,
    `${ACCOUNTS} accounts over 6 providers (80/50 ms)`,
    ACCOUNTS_TARGET_MS,
    'one after another ≥ 1530 ms',
  );
}

async function measure(count: number): Promise<BenchRow[]> {
  const delays = DELAYS_MS.slice(0, count);
  const stubs = await Promise.all(delays.map((d) => startMoonshotStub(d)));
  const providers = stubs.map((s) =>
    createKimiProvider({ baseUrl: s.url, apiKey: 'sk-bench-key', currency: 'USD', timeoutMs: 5000 }),
  );
  const label = `${count} provider${count === 1 ? '' : 's'} (${delays.join('/')} ms)`;
  const serial = delays.reduce((a, b) => a + b, 0);
  return runRounds(providers, stubs, label, TARGET_MS, `one after another ≥ ${serial} ms`);
}

async function runRounds(
  providers: BalanceProvider[],
  stubs: ReadonlyArray<{ url: string; close(): Promise<void> }>,
  label: string,
  targetMs: number,
  serialNote: string,
): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'cw-bench-parallel-'));
  try {
    const config = loadConfig({
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-bench-key',
      MOONSHOT_BASE_URL: stubs[0]?.url ?? 'http://127.0.0.1:1',
      HOME: dir,
      DATA_DIR: join(dir, 'data'),
      BALANCE_LOG_DIR: join(dir, 'logs'),
    });
    const core = await createCore(config, createLogger('silent'), { providers });
    try {
      const walls: number[] = [];
      const overheads: number[] = [];
      for (let i = 0; i < WARMUP + RUNS; i++) {
        const started = performance.now();
        const summary = await core.service.checkAll();
        const wall = performance.now() - started;
        if (summary.anyFailed)
          throw new Error(`a check failed: ${JSON.stringify(summary.statuses.map((s) => s.result))}`);
        if (i < WARMUP) continue;
        walls.push(wall);
        overheads.push(wall - Math.max(...summary.statuses.map((s) => s.result.latencyMs)));
      }
      const wall = stats(walls);
      const overhead = stats(overheads);
      return [
        {
          metric: `\`checkAll()\` wall time, ${label}, median of ${RUNS}`,
          value: `${ms(wall.median)} (p90 ${ms(wall.p90)}; ${serialNote})`,
          target: '—',
          pass: true,
        },
        {
          metric: `\`checkAll()\` overhead over the slowest provider, ${label}`,
          value: `${ms(overhead.median)} (p90 ${ms(overhead.p90)})`,
          target: `< ${targetMs} ms (median)`,
          pass: overhead.median < targetMs,
        },
      ];
    } finally {
      await core.close();
    }
  } finally {
    await Promise.all(stubs.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const count of PROVIDER_COUNTS) rows.push(...(await measure(count)));
  rows.push(...(await measureAccounts()));
  return rows;
}
