import { sql } from 'kysely';
import { accountDisplay } from '../../core/accounts.js';
import type { AlertState } from '../../core/alerts/engine.js';
import type { Forecast } from '../../core/forecast.js';
import { summaryToJson } from '../../core/format.js';
import { forecastToJson, type Insight } from '../../core/insight.js';
import type { Currency } from '../../core/money.js';
import type { Summary } from '../../core/service.js';
import type { ProviderId } from '../../core/types.js';
import type { Core } from '../../entry/app.js';
import type { Alerts } from '../../entry/jobs/alerts.js';
import type { Telemetry } from './telemetry.js';

/** How long forecasts and charts computed for one round of checks are reused (they move with `now`). */
export const DERIVED_TTL_MS = 60_000;
/** The period of the status page's charts. */
export const CHART_DAYS = 30;
/** A readiness probe waits at most this long for the store. */
const STORE_PROBE_MS = 2000;

export interface StatusDeps {
  readonly core: Core;
  readonly insight: Insight;
  readonly telemetry: Telemetry;
  /** `null` until the alert job has started. */
  readonly alerts: () => Alerts | null;
  /** Whether the Discord gateway session is ready; `null` when the bot runs without Discord (dry run). */
  readonly discordConnected: () => boolean | null;
  readonly now: () => Date;
}

/** One account as the page and `/api/status` show it. */
export interface AccountStatus {
  /** The account id (today the provider id; issue 12 makes it `provider:account`). */
  readonly account: ProviderId;
  readonly provider: ProviderId;
  readonly label: string;
  readonly currency: Currency;
  /** `unchecked` before this process's first check. */
  readonly state: 'ok' | 'low' | 'failed' | 'unchecked';
  /** The entry of `check --json` for this account, plus the forecast; `null` before the first check. */
  readonly check: Record<string, unknown> | null;
  readonly forecast: Forecast | null;
  readonly lastSuccessAt: Date | null;
  readonly lastFailure: { readonly at: Date; readonly reason: string } | null;
  readonly alert: AlertState | null;
}

export interface StatusData {
  readonly generatedAt: Date;
  readonly summary: Summary | null;
  readonly accounts: readonly AccountStatus[];
  /** Currencies with a chart, in account order. */
  readonly currencies: readonly Currency[];
  readonly thresholdChanges: Awaited<ReturnType<Core['thresholds']['changes']>> | null;
  readonly nextCheckAt: Date | null;
}

export interface Readiness {
  readonly ready: boolean;
  /** name → `null` when fine, else what is wrong (no figures, no secrets). */
  readonly checks: Readonly<Record<string, string | null>>;
}

/**
 * The data behind the status page, `/api/status`, the charts and `/metrics`, read through the shared service,
 * insight, history, thresholds and alert state; it never calls a provider. It shows the last round of checks
 * the bot made (the alert job's, every `ALERT_CRON`), so a page view costs no provider request. Forecasts and
 * charts are computed once per round and reused for up to a minute.
 */
export class StatusSource {
  private derived: {
    summary: Summary;
    at: number;
    forecasts: Promise<Partial<Record<ProviderId, Forecast>>>;
    charts: Map<Currency, Promise<Buffer>>;
  } | null = null;

  constructor(private readonly deps: StatusDeps) {}

  /** The last round of checks, or `null` before the first. */
  get summary(): Summary | null {
    return this.deps.telemetry.lastSummary ?? this.deps.core.service.peek(Number.POSITIVE_INFINITY);
  }

  private current(summary: Summary) {
    const now = this.deps.now().getTime();
    const d = this.derived;
    if (d && d.summary === summary && now - d.at < DERIVED_TTL_MS) return d;
    const forecasts = this.deps.insight.forecasts(summary, new Date(now));
    // A failure is not cached: the next request tries again.
    forecasts.catch(() => {
      if (this.derived?.forecasts === forecasts) this.derived = null;
    });
    this.derived = { summary, at: now, forecasts, charts: new Map() };
    return this.derived;
  }

  /** Each account's forecast for the last round (cached); empty before the first round. */
  async forecasts(): Promise<Partial<Record<ProviderId, Forecast>>> {
    const summary = this.summary;
    if (!summary) return {};
    return this.current(summary).forecasts.catch(() => ({}));
  }

  async status(): Promise<StatusData> {
    const { core, telemetry } = this.deps;
    const summary = this.summary;
    const alerts = this.deps.alerts();
    const [forecasts, changes, states] = await Promise.all([
      this.forecasts(),
      core.thresholds.changes(10).catch(() => null),
      Promise.all(core.service.providerIds.map((p) => alerts?.state(p).catch(() => null) ?? null)),
    ]);
    const json = summary
      ? (summaryToJson(summary) as { providers: ({ id: ProviderId } & Record<string, unknown>)[] })
      : null;
    const accounts = core.service.providerIds.map((provider, i): AccountStatus => {
      const status = summary?.statuses.find((s) => s.provider === provider);
      const entry = json?.providers.find((p) => p.id === provider) ?? null;
      const forecast = forecasts[provider] ?? null;
      return {
        account: provider,
        provider,
        label: accountDisplay(provider).label,
        currency: core.service.currencyOf(provider),
        state: status?.state ?? 'unchecked',
        check:
          entry === null ? null : { ...entry, ...(forecast ? { forecast: forecastToJson(forecast) } : {}) },
        forecast,
        lastSuccessAt: telemetry.lastSuccessAt.get(provider) ?? null,
        lastFailure: telemetry.lastFailure.get(provider) ?? null,
        alert: states[i] ?? null,
      };
    });
    return {
      generatedAt: this.deps.now(),
      summary,
      accounts,
      currencies: [...new Set(accounts.map((a) => a.currency))],
      thresholdChanges: changes,
      nextCheckAt: alerts?.job.nextRun() ?? null,
    };
  }

  /**
   * The 30-day chart of every account billed in `currency` (PNG, the `/balance-history` renderer), or `null`
   * when no account bills in it. Cached per round of checks.
   */
  chart(currency: Currency): Promise<Buffer> | null {
    const { core, insight } = this.deps;
    const providers = core.service.providerIds.filter((p) => core.service.currencyOf(p) === currency);
    if (providers.length === 0) return null;
    const summary = this.summary;
    const cache = summary ? this.current(summary).charts : null;
    const hit = cache?.get(currency);
    if (hit) return hit;
    const render = (async () => {
      const now = this.deps.now();
      const { chartSeries, chartWindow } = await import('../chart/series.js');
      const { renderBalanceChart } = await import('../chart/balance-chart.js');
      const reports = await Promise.all(
        providers.map(async (p) => {
          const status = summary?.statuses.find((s) => s.provider === p);
          const threshold = status?.threshold ?? (await core.thresholds.get(p));
          // A budget account's projection is the card's budget forecast (issue 13).
          return insight.report(p, CHART_DAYS * 86_400_000, threshold, currency, now, 'text', status?.result);
        }),
      );
      const series = reports.filter((r) => r.stats.enough).map(chartSeries);
      return renderBalanceChart(series, {
        title: `Balance, last ${CHART_DAYS} days (${currency})`,
        currency,
        ...chartWindow(series, '30d', now),
      });
    })();
    render.catch(() => cache?.delete(currency));
    cache?.set(currency, render);
    return render;
  }

  /** `/readyz`: the gateway connected, the store answering, a round of checks finished. */
  async readiness(): Promise<Readiness> {
    const checks: Record<string, string | null> = {};
    const connected = this.deps.discordConnected();
    if (connected !== null) checks.discord = connected ? null : 'gateway not connected';
    checks.store = await this.probeStore();
    checks.checks = this.summary ? null : 'no round of checks has finished yet';
    return { ready: Object.values(checks).every((v) => v === null), checks };
  }

  private async probeStore(): Promise<string | null> {
    const { db } = this.deps.core;
    if (!db.isOpen) return 'store not open';
    if (db.isUnreachable) return 'store unreachable';
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`store did not answer within ${STORE_PROBE_MS} ms`), STORE_PROBE_MS);
    });
    try {
      return await Promise.race([
        sql`select 1`.execute(db.kysely).then(
          () => null,
          () => 'store query failed',
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
