import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_POST_RETRY, type Poster, PostFailedError } from '../../adapters/discord/poster.js';
import type { LeaseOutcome, SlotClaims } from '../../adapters/storage/slots.js';
import type { Forecast } from '../../core/forecast.js';
import { describeSchedule, formatSummary, formatTime, splitMessage } from '../../core/format.js';
import type { Insight } from '../../core/insight.js';
import type { Logger } from '../../core/logger.js';
import { type RetryPolicy, retry } from '../../core/retry.js';
import type { BalanceService, Summary } from '../../core/service.js';
import type { ProviderId } from '../../core/types.js';
import {
  type Job,
  previousSlot,
  type RunContext,
  type RunOutcome,
  scheduleInterval,
  scheduleJob,
} from './job.js';

const JOB = 'summary';
const HOUR_MS = 3_600_000;
/** A missed slot older than this is not posted late at start (and never one older than the schedule's interval). */
export const MAX_CATCH_UP_MS = 6 * HOUR_MS;
/** Why a slot posts late. */
export const LATE_BOT_DOWN = 'the bot was down';
export const LATE_DISCORD = 'Discord was unavailable';

export interface SummaryJobDeps {
  readonly service: BalanceService;
  readonly insight: Insight;
  readonly slots: SlotClaims;
  readonly poster: Poster;
  readonly channelId: string;
  readonly cron: string;
  readonly logger: Logger;
  /** The bot's clock. */
  readonly now?: () => Date;
  /**
   * Backoff between attempts while Discord is unavailable (`attempts` is not used: the summary keeps
   * trying until the next slot is due). Default: the poster's default policy, 2 s doubling to 60 s.
   */
  readonly retry?: RetryPolicy;
  /** Told of every slot this replica posted or failed to post (the status page and metrics); must not throw. */
  readonly onPost?: (post: SummaryPostEvent) => void;
}

/** A summary slot this replica posted (`ok`) or gave up on, with the failure's reason. */
export interface SummaryPostEvent {
  readonly ok: boolean;
  readonly slot: Date;
  readonly at: Date;
  readonly reason: string | null;
}

/** The runway clause per provider for the hourly post (`threshold in 25 h · $0 in 3 d`). */
export function runwayClauses(
  forecasts: Partial<Record<ProviderId, Forecast>>,
): Partial<Record<ProviderId, string>> {
  const out: Partial<Record<ProviderId, string>> = {};
  for (const [p, f] of Object.entries(forecasts) as [ProviderId, Forecast][]) out[p] = f.describe;
  return out;
}

/** The hourly post's text for a summary: the seed's format plus one runway clause per provider. */
export async function summaryPost(
  summary: Summary,
  deps: Pick<SummaryJobDeps, 'insight' | 'channelId' | 'cron'>,
  now: Date,
) {
  const forecasts = await deps.insight.forecasts(summary, now);
  return formatSummary(
    summary,
    { schedule: describeSchedule(deps.cron), channelId: deps.channelId },
    runwayClauses(forecasts),
  );
}

/**
 * The nonce of part `part` of the summary for `slot`: the same on every replica and after a restart, so
 * Discord makes one message of every create of it within its nonce window. At most 25 characters.
 */
export function summaryNonce(slot: Date, part: number): string {
  return `cw-sum-${Math.floor(slot.getTime() / 1000).toString(36)}-${part}`;
}

/** How long a summary slot's lease lasts: a quarter of the schedule's interval from `at`, between 1 s and 60 s. */
export function leaseLength(cron: string, at: Date): number {
  const interval = scheduleInterval(cron, at) ?? HOUR_MS;
  return Math.min(60_000, Math.max(1000, Math.floor(interval / 4)));
}

/** The line a late post carries under its header: `🕒 posted late: the bot was down at <t:1764583200:f>`. */
export function lateLine(reason: string, slot: Date): string {
  return `🕒 posted late: ${reason} at ${formatTime(slot, 'discord')}`;
}

/** The summary's text split into messages within Discord's limits, with the late line under the header. */
function messageParts(text: string, late: string | null, slot: Date): string[] {
  if (late === null) return splitMessage(text);
  const [header, ...rest] = text.split('\n');
  return splitMessage([header, lateLine(late, slot), ...rest].join('\n'));
}

/** A slot that was not posted: the run fails with it (the job logs it at error). */
class NotPostedError extends Error {
  override readonly name = 'NotPostedError';
}

function describeFailure(err: unknown): string {
  if (err instanceof PostFailedError && !err.retryable) {
    return `Discord refused the post (HTTP ${err.status ?? '?'})`;
  }
  return LATE_DISCORD;
}

/** Sleeps `ms` unless `signal` aborts first; `false` when aborted. */
async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  return sleep(ms, true, { signal }).catch(() => false);
}

/**
 * One scheduled summary: lease the slot (so one replica posts it, and a dead replica's slot is taken
 * over), check every provider through the shared service, post the seed-format summary — split into
 * messages within Discord's limits, each with a nonce derived from the slot — and mark the slot done.
 * It posts whatever the outcome: low and failed balances are what the post is for. While Discord is
 * unavailable it keeps retrying until the next slot is due; a post that lands after a failed attempt,
 * after a takeover or at start-up carries a "posted late" line saying why. A slot that is not posted
 * throws with the reason, which the job logs.
 */
export function summaryRun(deps: SummaryJobDeps): (slot: Date, ctx: RunContext) => Promise<RunOutcome> {
  const log = deps.logger.child({ job: JOB });
  const now = deps.now ?? (() => new Date());
  const leaseMs = leaseLength(deps.cron, now());
  const retryPolicy = deps.retry ?? DEFAULT_POST_RETRY;

  /** Gives the slot up so another replica, or the catch-up at start, posts it late with `reason`. */
  const releaseSlot = (key: string, reason: string): Promise<void> =>
    deps.slots.release(JOB, key, reason).then(
      () => undefined,
      (err: unknown) =>
        log.warn({ err, slot: key }, 'could not release the slot; it is taken over when its lease runs out'),
    );

  /** Leases the slot, watching a live lease of another replica until it is done or runs out. */
  const acquire = async (key: string, signal: AbortSignal): Promise<LeaseOutcome | null> => {
    let watching = false;
    for (;;) {
      const outcome = await deps.slots.lease(JOB, key, now(), leaseMs);
      if (outcome.kind !== 'held') return outcome;
      if (!watching) {
        watching = true;
        log.info(
          { slot: key, by: outcome.by },
          'another replica holds this slot; watching until it is posted',
        );
      }
      const untilExpiry = outcome.until - now().getTime() + 50;
      if (!(await wait(Math.min(Math.max(untilExpiry, 100), Math.ceil(leaseMs / 3)), signal))) return null;
    }
  };

  return async (slot, ctx) => {
    const key = slot.toISOString();
    let late = ctx.late;
    let leased = false;
    try {
      const outcome = await acquire(key, ctx.signal);
      if (outcome === null) {
        log.info(
          { slot: key, reason: String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason) },
          'stopped watching a slot another replica holds',
        );
        return { posted: 'nothing (another replica held this slot)' };
      }
      if (outcome.kind === 'done') {
        log.info({ slot: key, by: outcome.by }, 'slot already posted');
        return { posted: 'nothing (already posted)' };
      }
      if (outcome.kind === 'acquired' && outcome.takenOver) {
        late ??= outcome.takenOver.failure ?? LATE_BOT_DOWN;
        log.warn({ slot: key, late }, 'took over a slot its holder did not finish');
      }
      leased = true;
    } catch (err) {
      // Better a possible duplicate (which the nonce still folds into one message) than a silent hour.
      log.warn({ err, slot: key }, 'could not claim the slot (database unreachable?); posting anyway');
    }

    const renewal = leased
      ? setInterval(
          () => {
            deps.slots.renew(JOB, key, now(), leaseMs).then(
              (held) => {
                if (!held)
                  log.warn({ slot: key }, 'lost the lease on this slot; another replica may post it too');
              },
              (err: unknown) => log.warn({ err, slot: key }, 'could not renew the lease on this slot'),
            );
          },
          Math.ceil(leaseMs / 3),
        )
      : undefined;
    try {
      const summary = await deps.service.checkAll();
      const text = await summaryPost(summary, deps, now()).catch((err: unknown) => {
        // The runway is an extra: without the history store the balances still go out.
        log.warn({ err, slot: key }, 'could not compute the runway; posting the summary without it');
        return formatSummary(summary, { schedule: describeSchedule(deps.cron), channelId: deps.channelId });
      });
      let parts = messageParts(text, late, slot);
      let posted = 0;
      const messageIds: (string | null)[] = [];
      try {
        // Each post makes one attempt: this loop retries until the next slot is due, so that a post landing
        // after a failure says so.
        await retry(
          async () => {
            for (; posted < parts.length; posted++) {
              const receipt = await deps.poster.post(
                deps.channelId,
                { content: parts[posted]!, nonce: summaryNonce(slot, posted) },
                { signal: ctx.signal, attempts: 1 },
              );
              messageIds.push(receipt?.messageId ?? null);
            }
          },
          { ...retryPolicy, attempts: Number.POSITIVE_INFINITY },
          {
            signal: ctx.signal,
            retryable: (err) => !(err instanceof PostFailedError) || err.retryable,
            onRetry: ({ error, attempt, delayMs }) => {
              const reason = describeFailure(error);
              log.warn(
                { err: error, slot: key, reason, attempt, retryInMs: delayMs },
                'summary not posted yet; retrying until the next slot is due',
              );
              // Nothing posted yet: the post that lands says it is late, and why.
              if (posted === 0 && late === null) {
                late = reason;
                parts = messageParts(text, late, slot);
              }
            },
          },
        );
      } catch (err) {
        const reason = describeFailure(err);
        const why = ctx.signal.aborted
          ? `${reason}; gave up because ${String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason)}`
          : reason;
        if (leased) await releaseSlot(key, reason);
        throw new NotPostedError(`summary for ${key} not posted: ${why}`, { cause: err });
      }
      log.info({ slot: key, messages: parts.length, ...(late ? { late } : {}) }, 'summary posted');
      deps.onPost?.({ ok: true, slot, at: now(), reason: null });
      if (leased) {
        await deps.slots.complete(JOB, key, now()).catch((err: unknown) => {
          log.warn(
            { err, slot: key },
            'could not mark the slot done (it may be posted again, folded by its nonce)',
          );
        });
      }
      return {
        posted: 'summary',
        channelId: deps.channelId,
        messageId: messageIds[0] ?? null,
        ...(messageIds.length > 1 ? { messageIds } : {}),
        ...(late ? { late } : {}),
      };
    } catch (err) {
      if (leased && !(err instanceof NotPostedError)) {
        // The failure text may end up in a late post's line: a plain phrase, never an internal message.
        await releaseSlot(key, 'an earlier attempt failed');
      }
      const reason = err instanceof NotPostedError ? err.message : 'the run failed (see the bot log)';
      deps.onPost?.({ ok: false, slot, at: now(), reason });
      throw err;
    } finally {
      if (renewal) clearInterval(renewal);
    }
  };
}

/**
 * Schedules the summary on `deps.cron` and, at start, posts the most recent slot once if it was missed
 * (no done claim) — only that one, never a flood, and only when it is recent and the bot has posted
 * summaries before (a first start is not a missed slot). It is marked late with why.
 */
export function startSummaryJob(deps: SummaryJobDeps): Job {
  const now = deps.now ?? (() => new Date());
  const job = scheduleJob(JOB, deps.cron, summaryRun(deps), deps.logger, { now });
  void catchUp(deps, job, now());
  return job;
}

async function catchUp(deps: SummaryJobDeps, job: Job, at: Date): Promise<void> {
  const log = deps.logger.child({ job: JOB });
  const interval = scheduleInterval(deps.cron, at);
  if (interval === null) return;
  const slot = previousSlot(deps.cron, at, Math.min(interval, MAX_CATCH_UP_MS));
  if (!slot) return;
  const key = slot.toISOString();
  try {
    const claim = await deps.slots.get(JOB, key);
    if (claim?.done_at != null) return;
    if (!claim && !(await deps.slots.hasAny(JOB))) return;
    const reason = claim?.failure ?? LATE_BOT_DOWN;
    log.warn({ slot: key, reason }, 'the last slot was not posted; posting it now, marked late');
    await job.runLate(slot, reason);
  } catch (err) {
    log.warn({ err, slot: key }, 'could not find out whether the last slot was posted; not catching up');
  }
}
