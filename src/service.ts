import type { BalanceLog } from './balance-log.js';
import type { Logger } from './logger.js';
import type { Amount, Currency } from './money.js';
import type { HistoryStore } from './storage/history.js';
import type { ThresholdStore } from './thresholds.js';
import { type BalanceProvider, type CheckResult, isStale, PROVIDER_INFO, type ProviderId } from './types.js';

/** Where a provider stands after one check. */
export type ProviderState = 'ok' | 'low' | 'failed';

/** One provider's line in a summary: the raw result, judged against its threshold. */
export interface ProviderStatus {
  readonly provider: ProviderId;
  readonly label: string;
  readonly emoji: string;
  readonly result: CheckResult;
  readonly threshold: Amount;
  readonly state: ProviderState;
  /** Age of the provider's figure (now − asOf), `null` for a failed check. */
  readonly ageMs: number | null;
  /** The figure is older than the provider's stale limit (Claude: `CLAUDE_STALE_AFTER`). */
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

/** Low means strictly below: the seed documents "OK (balance >= $5)". */
export function isLow(available: Amount, threshold: Amount): boolean {
  return available.lt(threshold);
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

  constructor(private readonly deps: BalanceServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.logger.child({ module: 'balance-service' });
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
    const results = await Promise.all(this.deps.providers.map((p) => this.checkOne(p)));
    const summary = await this.judge(results, started);
    // History and log files are best effort: an outage there must not stop the post or the CLI.
    const [recorded, logged] = await Promise.allSettled([
      this.deps.history.record(results),
      this.deps.balanceLog.append(results),
    ]);
    if (recorded.status === 'rejected')
      this.log.error({ err: recorded.reason }, 'could not record readings in history');
    if (logged.status === 'rejected')
      this.log.error({ err: logged.reason }, 'could not append to balance-log files');
    for (const s of summary.statuses) {
      this.log.info(
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
    }
    this.cached = summary;
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
    const guard = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve(failure(`no answer within ${this.deps.timeoutMs} ms`)),
        this.deps.timeoutMs + 1000,
      );
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
        const staleAfterMs = this.deps.staleAfterMs[result.provider] ?? null;
        const ageMs = result.ok ? Math.max(0, now - result.asOf.getTime()) : null;
        return {
          provider: result.provider,
          ...PROVIDER_INFO[result.provider],
          result,
          threshold,
          state: !result.ok ? 'failed' : isLow(result.available, threshold) ? 'low' : 'ok',
          ageMs,
          stale: result.ok && staleAfterMs !== null && isStale(result, staleAfterMs, new Date(now)),
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
