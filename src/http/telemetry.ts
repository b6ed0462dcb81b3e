import type { AlertKind, AlertNotification } from '../alerts/engine.js';
import type { Delivery } from '../alerts/notifiers.js';
import type { SummaryPostEvent } from '../jobs/summary.js';
import type { Summary } from '../service.js';
import type { ProviderId } from '../types.js';

/** One alert this process sent: its kind, account and where it was (not) delivered. */
export interface AlertEvent {
  readonly at: Date;
  readonly provider: ProviderId;
  readonly kind: AlertKind;
  readonly delivered: readonly string[];
  readonly failed: readonly string[];
}

/** How many alert events and summary posts are kept for the status page. */
export const RECENT_EVENTS = 10;

/**
 * What the bot did, as the status page and `/metrics` need it: the last round of checks and its duration,
 * each account's last success and last failure, the alerts and summary posts of this process. In memory
 * only: it starts empty with the process (what must survive a restart — readings, alert states, threshold
 * changes — is read from the store). The hooks are plain functions, passed to the service and the jobs.
 */
export class Telemetry {
  lastSummary: Summary | null = null;
  readonly lastSuccessAt = new Map<ProviderId, Date>();
  readonly lastFailure = new Map<ProviderId, { at: Date; reason: string }>();
  /** Newest first, at most {@link RECENT_EVENTS}. */
  readonly alerts: AlertEvent[] = [];
  /** Newest first, at most {@link RECENT_EVENTS}. */
  readonly posts: SummaryPostEvent[] = [];
  /** Called with each check round's provider time in seconds (the histogram). */
  private readonly durationObservers: ((seconds: number) => void)[] = [];
  private readonly alertObservers: ((e: AlertEvent) => void)[] = [];
  private readonly postObservers: ((e: SummaryPostEvent) => void)[] = [];

  readonly checked = (summary: Summary, durationMs: number): void => {
    this.lastSummary = summary;
    for (const s of summary.statuses) {
      if (s.result.ok) this.lastSuccessAt.set(s.provider, s.result.checkedAt);
      else this.lastFailure.set(s.provider, { at: s.result.checkedAt, reason: s.result.reason });
    }
    for (const o of this.durationObservers) o(durationMs / 1000);
  };

  readonly alertSent = (n: AlertNotification, delivery: Delivery): void => {
    const event: AlertEvent = {
      at: n.at,
      provider: n.provider,
      kind: n.kind,
      delivered: [...delivery.delivered],
      failed: [...delivery.failed],
    };
    this.alerts.unshift(event);
    this.alerts.length = Math.min(this.alerts.length, RECENT_EVENTS);
    for (const o of this.alertObservers) o(event);
  };

  readonly summaryPosted = (post: SummaryPostEvent): void => {
    this.posts.unshift(post);
    this.posts.length = Math.min(this.posts.length, RECENT_EVENTS);
    for (const o of this.postObservers) o(post);
  };

  onCheckDuration(observer: (seconds: number) => void): void {
    this.durationObservers.push(observer);
  }

  onAlert(observer: (e: AlertEvent) => void): void {
    this.alertObservers.push(observer);
  }

  onPost(observer: (e: SummaryPostEvent) => void): void {
    this.postObservers.push(observer);
  }
}
