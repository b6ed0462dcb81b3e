import { randomUUID } from 'node:crypto';
import {
  type AlertChannel,
  type ChannelMessage,
  type ChannelOutcome,
  deliveryOf,
  discordChannel,
  emailChannel,
  sendMessageToAll,
  sendToAll,
  webhookChannel,
} from '../../adapters/alert-channels/notifiers.js';
import type { Poster } from '../../adapters/discord/poster.js';
import type { AlertEvent } from '../../adapters/http/telemetry.js';
import { AlertStore } from '../../adapters/storage/alert-store.js';
import { QuietHoursStore } from '../../adapters/storage/quiet-hours-store.js';
import { type AlertAction, type AlertActResult, SNOOZE_MS } from '../../core/alerts/buttons.js';
import {
  type AlertNotification,
  type AlertSettings,
  type AlertState,
  evaluate,
  isCritical,
} from '../../core/alerts/engine.js';
import { alertText } from '../../core/alerts/messages.js';
import {
  describeQuietHours,
  type HeldAlert,
  heldMessage,
  type QuietHours,
  quietWindow,
} from '../../core/alerts/quiet-hours.js';
import type { Config } from '../../core/config.js';
import type { Forecast } from '../../core/forecast.js';
import { formatDuration, formatTime, type TimeTarget } from '../../core/format.js';
import type { Insight } from '../../core/insight.js';
import type { Logger } from '../../core/logger.js';
import type { ProviderStatus, Summary } from '../../core/service.js';
import type { ProviderId } from '../../core/types.js';
import type { Core } from '../app.js';
import { type Job, scheduleJob } from './job.js';

/** A summary this young is re-judged after `/threshold` instead of calling the providers again. */
export const REJUDGE_MAX_AGE_MS = 10 * 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Slot claims only matter while their slot is current; older ones are deleted now and then. */
const CLAIM_RETENTION_MS = 30 * DAY_MS;

export interface AlertsDeps {
  readonly config: Config;
  readonly core: Core;
  readonly insight: Insight;
  readonly poster: Poster;
  readonly logger: Logger;
  /** Replaces the channels the configuration asks for (Discord via `poster`, webhook, e-mail). */
  readonly channels?: readonly AlertChannel[];
  /** Dry run: alerts go to the poster (stdout) only; webhook and e-mail are not used. */
  readonly dryRun?: boolean;
  readonly now?: () => Date;
  /** Told of every alert sent (held ones when delivered) and where it went (status page, metrics); must not throw. */
  readonly onAlert?: (event: AlertEvent) => void;
}

/** The running alert check. */
export interface Alerts {
  /** The scheduled check (`ALERT_CRON`); `trigger(slot)` runs it for a slot now. */
  readonly job: Job;
  readonly channels: readonly AlertChannel[];
  /** One line for `/balance`, e.g. `alert state: low since <t:1764237600:f> (reminder every 24h)`. */
  status(provider: ProviderId): Promise<string | null>;
  /** The stored alert state (this process's copy while the store is unreachable); `null` before the first check. */
  state(provider: ProviderId): Promise<AlertState | null>;
  /**
   * Evaluates again now (after `/threshold`), re-judging a recent summary rather than calling the
   * providers. Never rejects: a failure is logged and the next scheduled check catches up.
   */
  reevaluate(provider?: ProviderId): Promise<void>;
  /**
   * A button click on an alert of `episode`: acknowledge it (no more reminders for it) or snooze the account
   * for {@link SNOOZE_MS} (no non-critical alerts). Saved in the shared alert state, in turn with the
   * evaluations of this process; `ended` when that episode is over (or never was).
   */
  act(
    action: Exclude<AlertAction, 'refresh'>,
    provider: ProviderId,
    episode: number,
    by: string,
    at: Date,
  ): Promise<AlertActResult>;
  /** `/alerts snooze|unsnooze`: snoozes `provider` until `until` (`null` ends it); `null` without a state. */
  snooze(provider: ProviderId, until: Date | null, by: string, at: Date): Promise<AlertState | null>;
  /** The quiet hours in force (shared by every replica), `null` when none. Rejects when the store does. */
  quietHours(): Promise<QuietHours | null>;
  /**
   * `/alerts quiet-hours set|clear`: stores the quiet hours (`null` clears them; what was held goes out with
   * the next check). Rejects when the store does.
   */
  setQuietHours(q: QuietHours | null): Promise<void>;
  /** Alerts held by quiet hours now, across accounts. Rejects when the store does. */
  heldCount(): Promise<number>;
  /** `/alerts test`: one clearly marked test message through every channel, and what each did with it. */
  test(by: string, at: Date): Promise<ChannelOutcome[]>;
  /** Stops the schedule, waits for work in progress, closes the channels. */
  close(graceMs?: number): Promise<void>;
}

/** The quiet hours of one evaluation: in force, the window now (`null`: outside), and whether the store said. */
interface Quiet {
  readonly hours: QuietHours | null;
  readonly window: string | null;
  readonly known: boolean;
}

/** The channels the configuration asks for: Discord always, the webhook and e-mail when set. */
export function createAlertChannels(
  config: Config,
  poster: Poster,
  logger: Logger,
  dryRun = false,
): AlertChannel[] {
  const a = config.alerts;
  const channels = [discordChannel(poster, a.channelId, a.mentionRoleId)];
  if (dryRun) return channels;
  if (a.webhookUrl !== null) channels.push(webhookChannel({ url: a.webhookUrl, logger }));
  if (a.smtpUrl !== null && a.emailTo.length > 0) {
    channels.push(emailChannel({ smtpUrl: a.smtpUrl, to: a.emailTo, from: a.emailFrom }));
  }
  return channels;
}

/** `24h` rather than `1d` for whole hours up to three days: that is how ALERT_REPEAT is usually written. */
function interval(ms: number): string {
  return ms % HOUR_MS === 0 && ms <= 3 * DAY_MS ? `${ms / HOUR_MS}h` : formatDuration(ms);
}

/** The `/balance` line for a stored state (moments in Discord's markup, or UTC for `text`). */
export function describeAlertState(
  s: AlertState,
  settings: Pick<AlertSettings, 'repeatMs'>,
  target: TimeTarget = 'discord',
): string {
  const since = formatTime(new Date(s.since), target);
  const plural = (n: number) => `${n} failed check${n === 1 ? '' : 's'} in a row`;
  let line: string;
  switch (s.state) {
    case 'failing':
      line = `alert state: check failing since ${since} (${plural(s.consecutiveFailures)}; balance alerts held)`;
      break;
    case 'low':
      line = `alert state: low since ${since} (reminder every ${interval(settings.repeatMs)})`;
      break;
    case 'critical':
      line = `alert state: critically low since ${since} (reminder every ${interval(settings.repeatMs)})`;
      break;
    case 'stale':
      line = `alert state: stale since ${since} (judged by its last figure)`;
      break;
    case 'ok':
      line = `alert state: ok since ${since}`;
      break;
    default:
      line = `alert state: unknown (no successful check yet)`;
  }
  const notes: string[] = [];
  if (s.state !== 'failing' && s.consecutiveFailures > 0) notes.push(plural(s.consecutiveFailures));
  if ((s.state === 'low' || s.state === 'critical') && s.staleSince !== null)
    notes.push(`reading stale since ${formatTime(new Date(s.staleSince), target)}`);
  if (s.state === 'ok' && s.runwayWarned) notes.push('runway warning sent');
  if (s.acknowledgedAt !== null && s.acknowledgedBy !== null && s.episodeKind !== null)
    notes.push(`acknowledged by ${s.acknowledgedBy} ${formatTime(new Date(s.acknowledgedAt), target)}`);
  if (s.snoozedUntil !== null)
    notes.push(
      `snoozed until ${formatTime(new Date(s.snoozedUntil), target)} (critical alerts still go out)`,
    );
  return notes.length > 0 ? `${line} · ${notes.join(' · ')}` : line;
}

/**
 * Starts the alert check on `ALERT_CRON`. Each scheduled run claims its slot (one replica per slot),
 * checks every provider through the shared service, evaluates each provider's state machine against its
 * persisted state, saves the new state and sends what changed. Each notification is also claimed by the
 * state it came from, so a re-evaluation racing another replica's run still sends a transition once.
 */
export function startAlerts(deps: AlertsDeps): Alerts {
  const { config, core, insight } = deps;
  const log = deps.logger.child({ module: 'alerts' });
  const now = deps.now ?? (() => new Date());
  const store = new AlertStore(core.keyv('alerts'), log);
  const quietStore = new QuietHoursStore(core.keyv('quiet-hours'), log);
  const channels =
    deps.channels ?? createAlertChannels(config, deps.poster, deps.logger, deps.dryRun ?? false);
  const settings: AlertSettings = {
    recoveryMargin: config.alerts.recoveryMargin,
    failureAfter: config.alerts.failureAfter,
    repeatMs: config.alerts.repeatMs,
    runwayDays: config.alerts.runwayDays,
  };
  // A state saved while the store was still opening goes in as soon as it opens.
  core.db.onOpen(() => void store.flush());
  let lastSummary: Summary | null = null;
  let lastPruneMs = 0;
  // One evaluation at a time in this process: a scheduled run and a re-evaluation must not both start
  // from the same stored state.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };

  /** The quiet hours and the window `at` falls in; none when the store can't say (alerts then go out). */
  const quietAt = async (at: Date): Promise<Quiet> => {
    try {
      const hours = await quietStore.get();
      return { hours, window: hours ? quietWindow(hours, at) : null, known: true };
    } catch (err) {
      log.warn({ err }, 'could not read the quiet hours (store unreachable?); alerts go out now');
      return { hours: null, window: null, known: false };
    }
  };

  /** Holds `n` for the quiet window; `false` when it could not be stored (it is then sent now). */
  const hold = async (n: AlertNotification, id: string, window: string): Promise<boolean> => {
    const held: HeldAlert = {
      id,
      provider: n.provider,
      kind: n.kind,
      episode: n.episode,
      at: n.at.toISOString(),
      window,
      discord: alertText(n, 'discord'),
      text: alertText(n, 'text'),
    };
    try {
      await quietStore.hold(held);
      log.info({ provider: n.provider, kind: n.kind, window }, 'alert held: quiet hours');
      return true;
    } catch (err) {
      log.warn({ err, provider: n.provider, kind: n.kind }, 'could not hold the alert; sending it now');
      return false;
    }
  };

  /**
   * Delivers, as one message, every alert held in a window that is over (the clock is outside it, or in
   * another one). Each held alert is claimed (`quiet-held`, its id), so one replica sends it; all are removed
   * from the held lists once sent (or given up: like an alert, none is sent twice). Returns a problem, if any.
   */
  const deliverHeld = async (at: Date, quiet: Quiet): Promise<string | null> => {
    if (!quiet.known) return null;
    let due: HeldAlert[];
    try {
      due = (await quietStore.heldFor(core.service.providerIds)).filter((h) => h.window !== quiet.window);
    } catch (err) {
      log.warn({ err }, 'could not read the held alerts; trying again with the next check');
      return null;
    }
    if (due.length === 0) return null;
    // Each held alert is claimed on its own, so replicas that read the lists at once never both send one.
    const mine: HeldAlert[] = [];
    for (const h of due) {
      try {
        if (await core.slots.claim('quiet-held', h.id, at)) mine.push(h);
      } catch (err) {
        log.warn({ err }, 'could not claim a held alert (database unreachable?); sending it anyway');
        mine.push(h);
      }
    }
    let problem: string | null = null;
    if (mine.length < due.length)
      log.info({ alerts: due.length - mine.length }, 'another replica delivered held alerts');
    if (mine.length > 0) {
      const states = new Map<ProviderId, AlertState | null>();
      for (const p of new Set(mine.map((h) => h.provider))) states.set(p, await store.load(p));
      const held = heldMessage(mine, states, quiet.hours);
      const message: ChannelMessage = {
        kind: 'held',
        at,
        discord: held.discord,
        components: held.components,
        text: held.text,
        subject: held.subject,
        facts: {
          alerts: mine.map((h) => ({ provider: h.provider, kind: h.kind, at: h.at, text: h.text })),
        },
      };
      const { delivered, failed } = deliveryOf(await sendMessageToAll(channels, message, log));
      // Each held alert counts as sent now, through the channels the one message reached.
      for (const h of mine) deps.onAlert?.({ at, provider: h.provider, kind: h.kind, delivered, failed });
      log.info({ alerts: mine.length, delivered }, 'held alerts delivered after quiet hours');
      if (delivered.length === 0) problem = `held alerts (${mine.length}) delivered by no channel`;
    }
    try {
      for (const p of new Set(due.map((h) => h.provider)))
        await quietStore.drop(p, new Set(due.filter((h) => h.provider === p).map((h) => h.id)));
    } catch (err) {
      log.warn({ err }, 'could not remove delivered held alerts');
    }
    return problem;
  };

  const evaluateOne = async (
    status: ProviderStatus,
    forecast: Forecast | undefined,
    at: Date,
    runKey: string,
    undelivered: string[],
    quiet: Quiet,
  ) => {
    const provider = status.provider;
    const prev = await store.load(provider);
    const { next, notifications, snoozed } = evaluate(prev, {
      status,
      ...(forecast ? { forecast } : {}),
      now: at,
      settings,
    });
    // Never rejects: a state the store refuses stays in memory and is saved when it answers.
    await store.save(next);
    if (prev?.state !== next.state) {
      log.info({ provider, from: prev?.state ?? 'none', to: next.state }, 'alert state changed');
    }
    for (const n of snoozed) {
      log.info(
        { provider, kind: n.kind, until: next.snoozedUntil },
        'alert held back: the account is snoozed',
      );
    }
    for (const n of notifications) {
      const origin = prev ? `${prev.createdAt}#${prev.seq}` : `new@${runKey}`;
      const id = `${provider}/${origin}/${n.kind}`;
      let mine = true;
      try {
        mine = await core.slots.claim('alert-sent', id, at);
      } catch (err) {
        log.warn(
          { err, provider, kind: n.kind },
          'could not claim the alert (database unreachable?); sending anyway',
        );
      }
      if (!mine) {
        log.info({ provider, kind: n.kind }, 'another replica sent this alert');
        continue;
      }
      // Quiet hours hold what is not critical; the claim above already made it this replica's to hold.
      if (quiet.window !== null && !isCritical(n) && (await hold(n, id, quiet.window))) continue;
      const delivery = await sendToAll(channels, n, log);
      deps.onAlert?.({
        at: n.at,
        provider: n.provider,
        kind: n.kind,
        delivered: delivery.delivered,
        failed: delivery.failed,
      });
      // Each channel has retried and logged its failure; an alert that reached nobody fails the run.
      if (delivery.delivered.length === 0) undelivered.push(`${provider} ${n.kind}`);
    }
  };

  const evaluateAll = async (summary: Summary, runKey: string, only?: ProviderId): Promise<void> => {
    const at = now();
    const statuses = summary.statuses.filter((s) => only === undefined || s.provider === only);
    const forecasts = await insight.forecasts({ ...summary, statuses }, at).catch((err: unknown) => {
      log.warn({ err }, 'could not compute forecasts; runway warnings skipped this run');
      return {} as Partial<Record<ProviderId, Forecast>>;
    });
    const failed: ProviderId[] = [];
    const undelivered: string[] = [];
    const quiet = await quietAt(at);
    for (const status of statuses) {
      try {
        await evaluateOne(status, forecasts[status.provider], at, runKey, undelivered, quiet);
      } catch (err) {
        failed.push(status.provider);
        log.error({ err, provider: status.provider }, 'alert evaluation failed (state store unreachable?)');
      }
    }
    if (at.getTime() - lastPruneMs >= DAY_MS) {
      lastPruneMs = at.getTime();
      await core.slots.prune(new Date(at.getTime() - CLAIM_RETENTION_MS)).catch((err: unknown) => {
        log.warn({ err }, 'could not prune old slot claims');
      });
    }
    const heldProblem = await deliverHeld(at, quiet);
    const problems = [
      ...(failed.length > 0 ? [`alert evaluation failed for ${failed.join(', ')}`] : []),
      ...(undelivered.length > 0 ? [`alert delivered by no channel: ${undelivered.join(', ')}`] : []),
      ...(heldProblem ? [heldProblem] : []),
    ];
    if (problems.length > 0) throw new Error(problems.join('; '));
  };

  const run = async (slot: Date): Promise<void> => {
    const key = slot.toISOString();
    try {
      if (!(await core.slots.claim('alerts', key, now()))) {
        log.info({ slot: key }, 'another replica has this slot');
        return;
      }
    } catch (err) {
      // A possible duplicate beats a missed alert: evaluate from this process's state meanwhile.
      log.warn({ err, slot: key }, 'could not claim the alert slot (store unreachable?); checking anyway');
    }
    const summary = await core.service.checkAll();
    lastSummary = summary;
    await serialized(() => evaluateAll(summary, key));
  };

  const job = scheduleJob('alerts', config.alerts.cron, run, deps.logger);
  log.info(
    { cron: config.alerts.cron, channels: channels.map((c) => c.name), channelId: config.alerts.channelId },
    'alert check scheduled',
  );

  let closing: Promise<void> | null = null;
  return {
    job,
    channels,
    async status(provider) {
      // Falls back to this process's copy when the store is unreachable.
      const state = await store.load(provider);
      if (state) return describeAlertState(state, settings);
      const next = job.nextRun();
      return `alert state: not checked yet${next ? ` (next check ${formatTime(next, 'discord')})` : ''}`;
    },
    state: (provider) => store.load(provider),
    quietHours: () => quietStore.get(),
    setQuietHours: async (q) => {
      await quietStore.set(q);
      log.info(
        q ? { window: describeQuietHours(q), by: q.setBy } : {},
        q ? 'quiet hours set' : 'quiet hours cleared',
      );
    },
    async heldCount() {
      return (await quietStore.heldFor(core.service.providerIds)).length;
    },
    async test(by, at) {
      const message: ChannelMessage = {
        kind: 'test',
        at,
        discord: `🧪 **creditwatch test alert** (sent by ${by} with /alerts test, ${formatTime(at, 'discord')}): this is only a test, no account is low. Alerts reach this channel.`,
        text: `creditwatch test alert (sent by ${by} with /alerts test, ${formatTime(at, 'text')}): this is only a test, no account is low. Alerts reach this channel.`,
        subject: '[creditwatch] Test alert (no account is low)',
        facts: { test: true, by },
      };
      const outcomes = await sendMessageToAll(channels, message, log);
      log.info(
        { by, delivered: outcomes.filter((o) => o.delivered).map((o) => o.channel) },
        'test alert sent',
      );
      return outcomes;
    },
    snooze(provider, until, by, at) {
      return serialized(async () => {
        const state = await store.load(provider);
        if (!state) return null;
        const next: AlertState = {
          ...state,
          snoozedUntil: until === null ? null : until.toISOString(),
          snoozedBy: until === null ? null : by,
          updatedAt: at.toISOString(),
        };
        await store.save(next);
        log.info(
          { provider, until: next.snoozedUntil, by },
          until === null ? 'alerts unsnoozed' : 'alerts snoozed',
        );
        return next;
      });
    },
    act(action, provider, episode, by, at) {
      return serialized(async (): Promise<AlertActResult> => {
        const state = await store.load(provider);
        if (!state || state.episode !== episode || state.episodeKind === null)
          return { outcome: 'ended', state };
        const iso = at.toISOString();
        if (action === 'ack') {
          if (state.acknowledgedAt !== null) return { outcome: 'already', state };
          const next: AlertState = { ...state, acknowledgedBy: by, acknowledgedAt: iso, updatedAt: iso };
          await store.save(next);
          return { outcome: 'done', state: next };
        }
        const until = new Date(at.getTime() + SNOOZE_MS).toISOString();
        const next: AlertState = { ...state, snoozedUntil: until, snoozedBy: by, updatedAt: iso };
        await store.save(next);
        return { outcome: 'done', state: next };
      });
    },
    async reevaluate(provider) {
      try {
        const at = now();
        const mine =
          lastSummary && at.getTime() - lastSummary.checkedAt.getTime() <= REJUDGE_MAX_AGE_MS
            ? lastSummary
            : null;
        const recent = core.service.peek(REJUDGE_MAX_AGE_MS) ?? mine;
        const summary = recent ? await core.service.rejudge(recent) : await core.service.checkAll();
        if (!recent) lastSummary = summary;
        const key = `reevaluate/${at.toISOString()}/${randomUUID().slice(0, 8)}`;
        await serialized(() => evaluateAll(summary, key, provider));
      } catch (err) {
        log.error({ err, provider }, 're-evaluation failed; the next scheduled check will catch up');
      }
    },
    close(graceMs = 5000) {
      closing ??= (async () => {
        await job.stop(graceMs);
        await queue;
        await Promise.allSettled(channels.map((c) => c.close?.()));
      })();
      return closing;
    },
  };
}
