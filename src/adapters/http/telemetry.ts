import type { AlertKind } from '../../core/alerts/engine.js';
import type { Summary } from '../../core/service.js';
import type { ProviderId } from '../../core/types.js';
import type { SummaryPostEvent } from '../../entry/jobs/summary.js';

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
 * How many events wait for `/metrics`' first scrape (prom-client is loaded then, not at start: requiring it
 * costs ~13 MB of the idle bot's memory). 100,000 check rounds is a year of 5-minute checks; past that the
 * oldest are dropped from the histogram's replay.
 */
export const MAX_REPLAY = 100_000;

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
  /** Events from before the first observer of their kind, replayed to it when it subscribes. */
  private pendingDurations: number[] = [];
  private pendingAlerts: AlertEvent[] = [];
  private pendingPosts: SummaryPostEvent[] = [];

  readonly checked = (summary: Summary, durationMs: number): void => {
    this.lastSummary = summary;
    for (const s of summary.statuses) {
      if (s.result.ok) this.lastSuccessAt.set(s.provider, s.result.checkedAt);
      else this.lastFailure.set(s.provider, { at: s.result.checkedAt, reason: s.result.reason });
    }
    notify(this.durationObservers, this.pendingDurations, durationMs / 1000);
  };

  /** An alert sent (or held by quiet hours and sent when the window ended), with the channels it reached. */
  readonly alertSent = (event: AlertEvent): void => {
    this.alerts.unshift(event);
    this.alerts.length = Math.min(this.alerts.length, RECENT_EVENTS);
    notify(this.alertObservers, this.pendingAlerts, event);
  };

  readonly summaryPosted = (post: SummaryPostEvent): void => {
    this.posts.unshift(post);
    this.posts.length = Math.min(this.posts.length, RECENT_EVENTS);
    notify(this.postObservers, this.pendingPosts, post);
  };

  /** Subscribes; the first observer also gets every round since start (oldest first). */
  onCheckDuration(observer: (seconds: number) => void): void {
    this.pendingDurations = subscribe(this.durationObservers, this.pendingDurations, observer);
  }

  onAlert(observer: (e: AlertEvent) => void): void {
    this.pendingAlerts = subscribe(this.alertObservers, this.pendingAlerts, observer);
  }

  onPost(observer: (e: SummaryPostEvent) => void): void {
    this.pendingPosts = subscribe(this.postObservers, this.pendingPosts, observer);
  }
}

function notify<T>(observers: readonly ((e: T) => void)[], pending: T[], event: T): void {
  if (observers.length === 0) {
    pending.push(event);
    if (pending.length > MAX_REPLAY) pending.shift();
    return;
  }
  for (const o of observers) o(event);
}

/** Adds `observer`, replaying what waited when it is the first; returns what still waits (nothing). */
function subscribe<T>(observers: ((e: T) => void)[], pending: readonly T[], observer: (e: T) => void): T[] {
  if (observers.length === 0) for (const e of pending) observer(e);
  observers.push(observer);
  return [];
}
