import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { parseAmount } from '../../src/core/money.js';
import type { BalanceProvider, CheckResult, ProviderId } from '../../src/core/types.js';
import { type Core, createCore } from '../../src/entry/app.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase } from '../support/postgres.js';

/** A provider under the test's control: answers `value`, or never answers at all. */
function scripted(id: ProviderId, behaviour: { value?: string; hang?: boolean; throws?: boolean }) {
  let calls = 0;
  const provider: BalanceProvider = {
    id,
    currency: 'USD',
    async check(): Promise<CheckResult> {
      calls++;
      if (behaviour.throws) throw new Error('provider bug');
      if (behaviour.hang) return new Promise<CheckResult>(() => {});
      const now = new Date();
      return {
        ok: true,
        provider: id,
        currency: 'USD',
        available: parseAmount(behaviour.value ?? '10'),
        asOf: now,
        checkedAt: now,
        latencyMs: 1,
      };
    },
    close: async () => {},
  };
  return { provider, calls: () => calls };
}

describe('BalanceService', () => {
  let dir: string;
  let core: Core | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cw-service-'));
  });
  afterEach(async () => {
    await core?.close();
    core = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (extra: Record<string, string> = {}) => {
    return loadConfig(
      {
        HOME: dir,
        DATA_DIR: join(dir, 'data'),
        BALANCE_LOG_DIR: join(dir, 'logs'),
        PROVIDERS: 'claude,kimi',
        PROVIDER_TIMEOUT_MS: '200',
        ...extra,
      },
      { providerSettings: 'optional' },
    );
  };

  it('GIVEN a provider that never answers and one that throws THEN both are failures with reasons and the run still completes', async () => {
    const { logger } = captureLogs();
    const hang = scripted('claude', { hang: true });
    const bug = scripted('kimi', { throws: true });
    core = await createCore(config(), logger, { providers: [hang.provider, bug.provider] });
    const summary = await core.service.checkAll();
    // PROVIDER_TIMEOUT_MS is 200; a provider that ignores it is given up a second later, and the reason says when.
    expect(summary.statuses.map((s) => [s.provider, s.state, s.result.ok ? null : s.result.reason])).toEqual([
      ['claude', 'failed', 'no answer within 1200 ms'],
      ['kimi', 'failed', 'internal error while checking (see the bot log)'],
    ]);
    // The number in the reason is the wait that happened (timers may fire a fraction of a millisecond early).
    expect(summary.statuses[0]?.result.latencyMs).toBeGreaterThanOrEqual(1199);
    expect(summary.anyFailed).toBe(true);
  });

  it('GIVEN two callers at once THEN they share one round of provider calls', async () => {
    const { logger } = captureLogs();
    const a = scripted('claude', { value: '8.07' });
    const b = scripted('kimi', { value: '12.34' });
    core = await createCore(config(), logger, { providers: [a.provider, b.provider] });
    const [x, y] = await Promise.all([core.service.checkAll(), core.service.checkAll()]);
    expect(x).toBe(y);
    expect([a.calls(), b.calls()]).toEqual([1, 1]);
    expect(core.service.peek(60_000)).toBe(x);
    expect([a.calls(), b.calls()]).toEqual([1, 1]);
  });

  it('GIVEN the history database goes away THEN checks still return their readings, the log files still get their lines, and the outage is logged', async () => {
    const pg = await createTestDatabase('cw_outage');
    // Dropped below mid-test; dropped again (IF EXISTS) should the test fail before that.
    cleanups.push(() => pg.drop());
    const { logger, lines } = captureLogs();
    const a = scripted('claude', { value: '8.07' });
    const b = scripted('kimi', { value: '4.20' });
    core = await createCore(config({ DATABASE_URL: pg.connectionString }), logger, {
      providers: [a.provider, b.provider],
    });
    await core.thresholds.set('kimi', parseAmount('4'), 'test');
    expect((await core.service.checkAll()).statuses[1]?.state).toBe('ok');
    // The outage: the database disappears under the running service.
    await pg.drop();
    const summary = await core.service.checkAll();
    expect(summary.statuses.map((s) => (s.result.ok ? s.result.available.toFixed(2) : null))).toEqual([
      '8.07',
      '4.20',
    ]);
    // The threshold last read (4.00) still applies, not the default: an outage doesn't turn 4.20 into "low".
    expect(summary.statuses[1]?.state).toBe('ok');
    const log = readFileSync(join(dir, 'logs/moonshot/balance-log.txt'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(/\| Available: \$4\.20 \|/);
    const text = lines.join('');
    expect(text).toContain('could not write readings; 2 waiting in memory');
    expect(text).toContain('threshold store unreachable');
  });
});
