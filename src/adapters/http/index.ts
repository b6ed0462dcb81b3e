import type { Insight } from '../../core/insight.js';
import type { Logger } from '../../core/logger.js';
import type { Currency } from '../../core/money.js';
import type { Core } from '../../entry/app.js';
import type { Alerts } from '../../entry/jobs/alerts.js';
import { PAGE_CSP, renderPage } from './page.js';
import { type HttpServer, type Route, startHttpServer } from './server.js';
import { type StatusData, StatusSource } from './status.js';
import type { Telemetry } from './telemetry.js';

export type { HttpServer } from './server.js';
export { Telemetry } from './telemetry.js';

export interface WebDeps {
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly core: Core;
  readonly insight: Insight;
  readonly telemetry: Telemetry;
  readonly alerts: () => Alerts | null;
  readonly discordConnected: () => boolean | null;
  readonly logger: Logger;
  readonly now: () => Date;
}

const chartPath = (currency: string) => `/chart/${currency.toLowerCase()}.png`;

/** `/api/status`: `check --json`'s shape (per account: state, amounts, age, forecast), plus alerts and posts. */
export function statusToJson(data: StatusData, telemetry: Telemetry): unknown {
  return {
    generatedAt: data.generatedAt.toISOString(),
    checkedAt: data.summary?.checkedAt.toISOString() ?? null,
    anyLow: data.summary?.anyLow ?? null,
    anyFailed: data.summary?.anyFailed ?? null,
    providers: data.accounts.map((a) => ({
      account: a.account,
      ...(a.check ?? { provider: a.provider, state: a.state, currency: a.currency }),
      lastSuccessAt: a.lastSuccessAt?.toISOString() ?? null,
      lastFailure: a.lastFailure
        ? { at: a.lastFailure.at.toISOString(), reason: a.lastFailure.reason }
        : null,
      alertState: a.alert ? { state: a.alert.state, since: a.alert.since } : null,
    })),
    charts: Object.fromEntries(data.currencies.map((c) => [c, chartPath(c)])),
    alerts: {
      open: data.accounts
        .filter((a) => a.alert && a.alert.state !== 'ok' && a.alert.state !== 'unknown')
        .map((a) => ({ account: a.account, state: a.alert!.state, since: a.alert!.since })),
      recent: telemetry.alerts.map((e) => ({
        at: e.at.toISOString(),
        account: e.provider,
        kind: e.kind,
        delivered: e.delivered,
        failed: e.failed,
      })),
    },
    thresholdChanges:
      data.thresholdChanges?.map((c) => ({
        account: c.provider,
        old: c.oldValue?.toFixed(2) ?? null,
        new: c.newValue?.toFixed(2) ?? null,
        at: c.changedAt.toISOString(),
      })) ?? null,
    posts: {
      summary: telemetry.posts.map((p) => ({
        ok: p.ok,
        slot: p.slot.toISOString(),
        at: p.at.toISOString(),
        reason: p.reason,
      })),
    },
    nextCheckAt: data.nextCheckAt?.toISOString() ?? null,
  };
}

/** Starts the bot's HTTP server: health, the status page, its JSON and charts, and /metrics. */
export async function startWeb(deps: WebDeps): Promise<HttpServer> {
  const status = new StatusSource(deps);
  // prom-client is loaded on the first scrape (~13 MB the idle bot does not carry until someone asks); the
  // telemetry replays what happened before it.
  let metrics: ReturnType<typeof import('./metrics.js').createMetrics> | null = null;
  const page: Route = async () => ({
    status: 200,
    type: 'text/html; charset=utf-8',
    body: renderPage(await status.status(), deps.telemetry, chartPath),
    headers: { 'content-security-policy': PAGE_CSP },
  });
  const api: Route = async () => ({
    status: 200,
    type: 'application/json; charset=utf-8',
    body: `${JSON.stringify(statusToJson(await status.status(), deps.telemetry), null, 2)}\n`,
  });
  const scrape: Route = async () => {
    metrics ??= (await import('./metrics.js')).createMetrics({ ...deps, status });
    return { status: 200, type: metrics.registry.contentType, body: await metrics.scrape() };
  };
  const chart: Route = async (url) => {
    const m = /^\/chart\/([a-z]{3})\.png$/.exec(url.pathname);
    const png = m?.[1] ? status.chart(m[1].toUpperCase() as Currency) : null;
    if (!png) return { status: 404, type: 'text/plain; charset=utf-8', body: 'no such chart\n' };
    return { status: 200, type: 'image/png', body: await png };
  };
  return startHttpServer({
    host: deps.host,
    port: deps.port,
    token: deps.token,
    status,
    logger: deps.logger,
    routes: { '/': page, '/api/status': api, '/metrics': scrape, '/chart/': chart },
  });
}
