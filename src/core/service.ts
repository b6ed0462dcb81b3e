import type { BalanceLog } from '../adapters/storage/balance-log.js';
import type { HistoryStore } from '../adapters/storage/history.js';
import { type AccountInfo, accountDisplay } from './accounts.js';
import type { Logger } from './logger.js';
import { type Amount, type Currency, isLow } from './money.js';
import { DEFAULT_STORE_RETRY, PendingWrites, type RetryBackoff } from './pending-writes.js';
import type { ThresholdStore } from './thresholds.js';
import { type BalanceProvider, type CheckResult, isStale, type ProviderId, readingAgeMs } from './types.js';

/** Where a provider stands after one check. */
export type ProviderState = 'ok' | 'low' | 'failed';

/** One provider's line in a summary: the raw result, judged against its threshold. */
export interface ProviderStatus {
  readonly provider: ProviderId;
  readonly label: string;
  readonly emoji: string;
  /** How the account's provider names the reading's voucher and cash parts (absent or none: not shown). */
  readonly parts?: AccountInfo['parts'];
  readonly result: CheckResult;
  readonly threshold: Amount;
  /** The critical level in force (`/threshold set … critical:`, default half the threshold); absent: the default. */
  readonly critical?: Amount;
  readonly state: ProviderState;
  /**
   * Age of the provider's figure (now − asOf); `null` for a failed check and for a reading whose as-of time is
   * unknown (`result.asOf === null`, which is always stale).
   */
  readonly ageMs: number | null;
  /** The figure is older than the provider's stale limit (Claude: `CLAUDE_STALE_AFTER`), or of unknown age. */
  readonly stale: boolean;
  readonly staleAfterMs: number | null;
}

/** The result of checking every enabled provider once. */
export interface Summary {
  readonly checkedAt: Date;
  readonly statuses: readonly ProviderStatus[];
  readonly anyLow: boolean;
  readonly anyFailed: boolean;
}

/** CLI exit code for a summary: 1 when any check failed, else 2 when any balance is low, else 0. */
export function exitCodeFor(summary: Summary): 0 | 1 | 2 {
  if (summary.anyFailed) return 1;
  return summary.anyLow ? 2 : 0;
}

export interface BalanceServiceDeps {
  readonly providers: readonly BalanceProvider[];
  readonly history: HistoryStore;
  readonly thresholds: ThresholdStore;
  readonly balanceLog: BalanceLog;
  readonly logger: Logger;
  /** Stale limit per provider; absent = never stale. */
  readonly staleAfterMs: Partial<Record<ProviderId, number>>;
  /** Outer bound on one provider's check, a guard in case a provider breaks its own timeout. */
  readonly timeoutMs: number;
  readonly now?: () => Date;
  /**
   * `false` when there is no store to record into (the CLI with its store unusable, which says so
   * once itself); readings are then neither recorded nor buffered. Default `true`.
   */
  readonly record?: boolean;
  /** Backoff for readings waiting for the store (default `DEFAULT_STORE_RETRY`). */
  readonly storeRetry?: RetryBackoff;
}

/** Readings held in memory while the store refuses writes: about 17 days of two providers checked every 5 minutes. */
export const READINGS_BUFFER_SIZE = 10_000;

/** `true` when every reading of `batch` is in the history already (an insert that committed but whose answer was lost). */
async function batchLanded(history: HistoryStore, batch: readonly CheckResult[]): Promise<boolean> {
  for (const r of batch) {
    const rows = await history.range(r.provider, r.checkedAt, r.checkedAt);
    if (!rows.some((row) => row.source === 'check' && row.checkedAt.getTime() === r.checkedAt.getTime()))
      return false;
  }
  return true;
}

/**
 * The one way creditwatch learns balances: the scheduled jobs, the slash commands and the CLI all
 * call this. It checks every enabled provider in parallel, judges each against its threshold,
 * records every result in the history, appends the balance-log lines and returns one summary.
 */
export class BalanceService {
  private cached: Summary | null = null;
  private inFlight: Promise<Summary> | null = null;
  private readonly now: () => Date;
  private readonly log: Logger;
  /** Each check's readings, written to the history in order; what the store refuses waits here. */
  private readonly pendingReadings: PendingWrites<readonly CheckResult[]> | null;
  private readonly checkedListeners: ((summary: Summary, durationMs: number) => void)[] = [];

  constructor(private readonly deps: BalanceServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.logger.child({ module: 'balance-service' });
    this.pendingReadings =
      deps.record === false
        ? null
        : new PendingWrites({
            name: 'readings',
            write: (batch) => deps.history.record(batch),
            landed: (batch) => batchLanded(deps.history, batch),
            size: (batch) => batch.length,
            capacity: READINGS_BUFFER_SIZE,
            retry: deps.storeRetry ?? DEFAULT_STORE_RETRY,
            logger: this.log,
          });
  }

  /** Readings waiting in memory for the store. */
  get pendingReadingCount(): number {
    return this.pendingReadings?.pending ?? 0;
  }

  /** Calls `listener` after every round of checks (the status page and metrics watch them); it must not throw. */
  onChecked(listener: (summary: Summary, durationMs: number) => void): void {
    this.checkedListeners.push(listener);
  }

  /** Writes what waits for the store now (called when the store opens). Never rejects. */
  flushPending(): Promise<boolean> {
    return this.pendingReadings?.flush() ?? Promise.resolve(true);
  }

  /** Last attempt to write what waits (history and balance-log lines); what remains is logged as lost. */
  async close(): Promise<void> {
    await Promise.all([this.pendingReadings?.close(), this.deps.balanceLog.close()]);
  }

  get providerIds(): ProviderId[] {
    return this.deps.providers.map((p) => p.id);
  }

  /** The currency a provider bills in (its thresholds are in it too). */
  currencyOf(provider: ProviderId): Currency {
    const p = this.deps.providers.find((x) => x.id === provider);
    if (!p) throw new Error(`provider ${provider} is not enabled`);
    return p.currency;
  }

  get thresholds(): ThresholdStore {
    return this.deps.thresholds;
  }

  get history(): HistoryStore {
    return this.deps.history;
  }

  /**
   * Checks every provider now. Concurrent callers share one run, so an hourly post and a
   * `/balance fresh:true` arriving together cost one round of provider calls.
   */
  checkAll(): Promise<Summary> {
    if (this.inFlight) return this.inFlight;
    const run = this.runCheck().finally(() => {
      this.inFlight = null;
    });
    this.inFlight = run;
    return run;
  }

  /** The cached summary when it is no older than `maxAgeMs`, without checking. */
  peek(maxAgeMs: number): Summary | null {
    const c = this.cached;
    return c && this.now().getTime() - c.checkedAt.getTime() <= maxAgeMs ? c : null;
  }

  /** Re-judges a summary against the thresholds in force now, without calling providers. */
  async rejudge(summary: Summary): Promise<Summary> {
    return this.judge(
      summary.statuses.map((s) => s.result),
      summary.checkedAt,
    );
  }

  /**
   * Re-judges the cached summary against the thresholds in force now (after `/threshold`), so the
   * next `/balance` shows the new threshold without calling the providers again.
   */
  async rejudgeCached(): Promise<void> {
    if (this.cached) this.cached = await this.rejudge(this.cached);
  }

  private async runCheck(): Promise<Summary> {
    const started = this.now();
    const t0 = performance.now();
    const results = await Promise.all(this.deps.providers.map((p) => this.checkOne(p)));
    // The provider round alone: what the check-duration histogram measures.
    const durationMs = performance.now() - t0;
    const summary = await this.judge(results, started);
    // An outage of the store or the disk must not stop the post or the CLI: what can't be written
    // waits in memory and is written when they answer again (both buffers log their failures).
    await Promise.all([this.pendingReadings?.add([results]), this.deps.balanceLog.append(results)]);
    for (const s of summary.statuses) {
      // A failed check is logged at warn, so LOG_LEVEL=warn still shows it.
      this.log[s.result.ok ? 'info' : 'warn'](
        {
          provider: s.provider,
          state: s.state,
          available: s.result.ok ? s.result.available.toFixed(2) : undefined,
          reason: s.result.ok ? undefined : s.result.reason,
          latencyMs: Math.round(s.result.latencyMs),
          stale: s.stale || undefined,
        },
        'balance checked',
      );
      if (s.result.ok && s.result.warnings)
        for (const warning of s.result.warnings)
          this.log.warn({ provider: s.provider, warning }, 'provider warning');
    }
    this.cached = summary;
    for (const listener of this.checkedListeners) listener(summary, durationMs);
    return summary;
  }

  private async checkOne(provider: BalanceProvider): Promise<CheckResult> {
    const checkedAt = this.now();
    const t0 = performance.now();
    const failure = (reason: string): CheckResult => ({
      ok: false,
      provider: provider.id,
      currency: provider.currency,
      reason,
      checkedAt,
      latencyMs: performance.now() - t0,
    });
    let timer: NodeJS.Timeout | undefined;
    // A backstop for a provider that overruns its own timeout (timeoutMs): a second later, and said as such.
    const limitMs = this.deps.timeoutMs + 1000;
    const guard = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve(failure(`no answer within ${limitMs} ms`)), limitMs);
      timer.unref();
    });
    try {
      return await Promise.race([provider.check(), guard]);
    } catch (err) {
      // Providers promise not to throw; if one does anyway, it is one failed line, not a failed run.
      this.log.error({ err, provider: provider.id }, 'provider threw instead of returning a failure');
      return failure('internal error while checking (see the bot log)');
    } finally {
      clearTimeout(timer);
    }
  }

  private async judge(results: readonly CheckResult[], checkedAt: Date): Promise<Summary> {
    const now = this.now().getTime();
    const statuses = await Promise.all(
      results.map(async (result): Promise<ProviderStatus> => {
        const threshold = await this.deps.thresholds.get(result.provider);
        const critical = await this.deps.thresholds.critical(result.provider, threshold);
        const staleAfterMs = this.deps.staleAfterMs[result.provider] ?? null;
        const ageMs = result.ok ? readingAgeMs(result, new Date(now)) : null;
        return {
          provider: result.provider,
          ...accountDisplay(result.provider),
          result,
          threshold,
          critical,
          state: !result.ok ? 'failed' : isLow(result.available, threshold) ? 'low' : 'ok',
          ageMs,
          // An undated figure is stale even without a limit: nothing says it is recent.
          stale:
            result.ok &&
            (ageMs === null || (staleAfterMs !== null && isStale(result, staleAfterMs, new Date(now)))),
          staleAfterMs,
        };
      }),
    );
    return {
      checkedAt,
      statuses,
      anyLow: statuses.some((s) => s.state === 'low'),
      anyFailed: statuses.some((s) => s.state === 'failed'),
    };
  }
}
