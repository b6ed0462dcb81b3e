import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StatusSource } from './status.js';
import type { Telemetry } from './telemetry.js';

const ACCOUNT = ['account', 'provider', 'currency'] as const;

/**
 * `/metrics`: one prom-client registry per bot. Per-account gauges are filled at scrape time from the last
 * round of checks and its forecasts (reset first, so an account without a value is absent — never 0);
 * counters and the check-duration histogram are fed by the telemetry hooks. Labels hold account and
 * provider ids, currencies, alert kinds and channel names (`discord`, `webhook`, `email`): never a key, an
 * address or a user id.
 */
export function createMetrics(opts: {
  readonly status: StatusSource;
  readonly telemetry: Telemetry;
  readonly discordConnected: () => boolean | null;
  readonly now: () => Date;
}): { readonly registry: Registry; scrape(): Promise<string> } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client's gauges named `_total` (counts of handles, requests and resources now) break Prometheus's
  // naming rule, which promtool checks; the same counts remain as `nodejs_active_handles` etc.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: readonly string[] = ACCOUNT) =>
    new Gauge({ name, help, labelNames, registers });

  const balance = gauge(
    'creditwatch_balance',
    'Available balance of the last successful check, in its currency',
  );
  const threshold = gauge('creditwatch_threshold', 'Low-balance threshold in force, in the account currency');
  const low = gauge('creditwatch_low', '1 when the last reading is below its threshold, else 0');
  const success = gauge('creditwatch_check_success', '1 when the last check succeeded, else 0');
  const lastSuccess = gauge(
    'creditwatch_last_success_timestamp_seconds',
    'Unix time of the last successful check in this process',
  );
  const runway = gauge(
    'creditwatch_runway_seconds',
    'Forecast time until the balance reaches the line named by "to"',
    [...ACCOUNT, 'to'],
  );
  const spend = gauge(
    'creditwatch_spend_per_day',
    'Measured spend per day over the forecast window, in the account currency',
  );
  const connected = gauge(
    'creditwatch_discord_connected',
    '1 while the Discord gateway session is ready',
    [],
  );
  const duration = new Histogram({
    name: 'creditwatch_check_duration_seconds',
    help: 'Time of one round of provider checks (all accounts in parallel)',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const alertsSent = new Counter({
    name: 'creditwatch_alerts_sent_total',
    help: 'Alerts delivered, per alert kind and channel',
    labelNames: ['kind', 'channel'],
    registers,
  });
  const alertFailures = new Counter({
    name: 'creditwatch_alert_delivery_failures_total',
    help: 'Alert deliveries that failed after retries, per channel',
    labelNames: ['channel'],
    registers,
  });
  const posts = new Counter({
    // Not `creditwatch_summary_posts_total` as issue 14 wrote it: promtool refuses a metric type's name
    // ("summary") inside a metric's name.
    name: 'creditwatch_scheduled_posts_total',
    help: 'Scheduled summary slots this process posted (result="ok") or gave up on (result="failed")',
    labelNames: ['result'],
    registers,
  });
  // Both results exist from the start, so rate() and increase() see the first failure.
  posts.inc({ result: 'ok' }, 0);
  posts.inc({ result: 'failed' }, 0);

  opts.telemetry.onCheckDuration((s) => duration.observe(s));
  opts.telemetry.onAlert((e) => {
    for (const channel of e.delivered) alertsSent.inc({ kind: e.kind, channel });
    for (const channel of e.failed) alertFailures.inc({ channel });
  });
  opts.telemetry.onPost((p) => posts.inc({ result: p.ok ? 'ok' : 'failed' }));

  const fill = async (): Promise<void> => {
    const summary = opts.status.summary;
    const forecasts = await opts.status.forecasts();
    const now = opts.now().getTime();
    for (const g of [balance, threshold, low, success, lastSuccess, runway, spend, connected]) g.reset();
    const c = opts.discordConnected();
    if (c !== null) connected.set(c ? 1 : 0);
    for (const [provider, at] of opts.telemetry.lastSuccessAt) {
      const s = summary?.statuses.find((x) => x.provider === provider);
      if (s)
        lastSuccess.set({ account: provider, provider, currency: s.result.currency }, at.getTime() / 1000);
    }
    for (const s of summary?.statuses ?? []) {
      const labels = { account: s.provider, provider: s.provider, currency: s.result.currency };
      threshold.set(labels, s.threshold.toNumber());
      success.set(labels, s.result.ok ? 1 : 0);
      if (s.result.ok) {
        balance.set(labels, s.result.available.toNumber());
        low.set(labels, s.state === 'low' ? 1 : 0);
      }
      const f = forecasts[s.provider];
      if (f && f.status !== 'insufficient') spend.set(labels, f.ratePerDay.toNumber());
      if (f?.status === 'ok') {
        const toThreshold = f.reachesThresholdAt === null ? 0 : f.reachesThresholdAt.getTime() - now;
        runway.set({ ...labels, to: 'threshold' }, Math.max(0, toThreshold) / 1000);
        runway.set({ ...labels, to: 'zero' }, Math.max(0, f.runsOutAt.getTime() - now) / 1000);
      }
    }
  };

  return {
    registry,
    async scrape() {
      await fill();
      return registry.metrics();
    },
  };
}
