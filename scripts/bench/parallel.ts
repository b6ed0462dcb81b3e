/**
 * `BalanceService.checkAll()` with 1, 2 and 4 kimi providers, each against its own Moonshot stand-in
 * that answers after a fixed delay (the first 80 ms, the others 50 ms). The checks run in parallel, so a
 * run should cost the slowest provider's latency plus the service's own work (judging, recording the
 * history, the balance-log lines): that remainder is the overhead measured here. Embedded SQLite store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createKimiProvider } from '../../src/providers/kimi.js';
import { ms, startMoonshotStub, stats } from './support.js';
import type { BenchRow } from './types.js';

const DELAYS_MS = [80, 50, 50, 50];
const PROVIDER_COUNTS = [1, 2, 4];
const RUNS = 20;
const WARMUP = 3;
const TARGET_MS = 5;

async function measure(count: number): Promise<BenchRow[]> {
  const delays = DELAYS_MS.slice(0, count);
  const stubs = await Promise.all(delays.map((d) => startMoonshotStub(d)));
  const dir = await mkdtemp(join(tmpdir(), 'cw-bench-parallel-'));
  try {
    const config = loadConfig({
      PROVIDERS: 'kimi',
      MOONSHOT_API_KEY: 'sk-bench-key',
      MOONSHOT_BASE_URL: stubs[0]!.url,
      HOME: dir,
      DATA_DIR: join(dir, 'data'),
      BALANCE_LOG_DIR: join(dir, 'logs'),
    });
    const providers = stubs.map((s) =>
      createKimiProvider({ baseUrl: s.url, apiKey: 'sk-bench-key', currency: 'USD', timeoutMs: 5000 }),
    );
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
      const label = `${count} provider${count === 1 ? '' : 's'} (${delays.join('/')} ms)`;
      const serial = delays.reduce((a, b) => a + b, 0);
      return [
        {
          metric: `\`checkAll()\` wall time, ${label}, median of ${RUNS}`,
          value: `${ms(wall.median)} (p90 ${ms(wall.p90)}; one after another ≥ ${serial} ms)`,
          target: '—',
          pass: true,
        },
        {
          metric: `\`checkAll()\` overhead over the slowest provider, ${label}`,
          value: `${ms(overhead.median)} (p90 ${ms(overhead.p90)})`,
          target: `< ${TARGET_MS} ms (median)`,
          pass: overhead.median < TARGET_MS,
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
  return rows;
}
