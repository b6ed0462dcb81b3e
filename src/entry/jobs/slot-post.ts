import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_POST_RETRY,
  type OutgoingMessage,
  type Poster,
  PostFailedError,
} from '../../adapters/discord/poster.js';
import type { LeaseOutcome, SlotClaims } from '../../adapters/storage/slots.js';
import { formatTime, splitMessage } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import { type RetryPolicy, retry } from '../../core/retry.js';
import { type Job, previousSlot, type RunContext, scheduleInterval } from './job.js';

const HOUR_MS = 3_600_000;
/** A missed slot older than this is not posted late at start (and never one older than the schedule's interval). */
export const MAX_CATCH_UP_MS = 6 * HOUR_MS;
/** Why a slot posts late. */
export const LATE_BOT_DOWN = 'the bot was down';
export const LATE_DISCORD = 'Discord was unavailable';

/** How long a slot's lease lasts: a quarter of the schedule's interval from `at`, between 1 s and 60 s. */
export function leaseLength(cron: string, at: Date): number {
  const interval = scheduleInterval(cron, at) ?? HOUR_MS;
  return Math.min(60_000, Math.max(1000, Math.floor(interval / 4)));
}

/** The line a late post carries under its header: `🕒 posted late: the bot was down at <t:1764583200:f>`. */
export function lateLine(reason: string, slot: Date): string {
  return `🕒 posted late: ${reason} at ${formatTime(slot, 'discord')}`;
}

/** `text` split into messages within Discord's limits, with the late line under its first line (the header). */
export function withLateLine(text: string, late: string | null, slot: Date): string[] {
  if (late === null) return splitMessage(text);
  const [header, ...rest] = text.split('\n');
  return splitMessage([header, lateLine(late, slot), ...rest].join('\n'));
}

/** What a scheduled post shares with every other: where it goes, the claims and the schedule it keeps. */
export interface SlotPostDeps {
  readonly slots: SlotClaims;
  readonly poster: Poster;
  readonly channelId: string;
  /** The schedule: it sets the lease's length. */
  readonly cron: string;
  readonly logger: Logger;
  /** The bot's clock. */
  readonly now?: () => Date;
  /**
   * Backoff between attempts while Discord is unavailable (`attempts` is not used: a post keeps trying until
   * the next slot is due). Default: the poster's default policy, 2 s doubling to 60 s.
   */
  readonly retry?: RetryPolicy;
}

/** One kind of scheduled post: the summary, the daily digest, the weekly digest. */
export interface SlotPost {
  /** The claims' job name: across replicas, one post per `(job, slot)`. */
  readonly job: string;
  /** What the log calls it: `summary`, `daily digest`. */
  readonly what: string;
  /**
   * The nonce of part `part` of the post for `slot`: the same on every replica and after a restart, so Discord
   * makes one message of every create of it within its nonce window. At most 25 characters.
   */
  readonly nonce: (slot: Date, part: number) => string;
  /**
   * Builds the post once the slot is held (so only the replica that posts does the work): a function giving
   * its messages, within Discord's limits, with the late line when `late` is set (it is called again when the
   * post turns late while Discord is unavailable).
   */
  readonly compose: (slot: Date) => Promise<(late: string | null) => readonly OutgoingMessage[]>;
}

/** What one slot's post came to: posted (with Discord's message ids), or nothing to do and why. */
export type SlotPostOutcome =
  | {
      readonly posted: true;
      readonly messageIds: readonly (string | null)[];
      readonly late: string | null;
    }
  | { readonly posted: false; readonly why: string };

/** A slot that was not posted: the run fails with it (the job logs it at error). */
export class NotPostedError extends Error {
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
 * Posts scheduled slots once across replicas: lease the slot (so one replica posts it, and a dead replica's slot
 * is taken over), compose the post, post its messages — each with a nonce derived from the slot — and mark the
 * slot done. While Discord is unavailable it keeps retrying until the next slot is due; a post that lands after
 * a failed attempt, after a takeover or at start-up carries a "posted late" line saying why. A slot that is not
 * posted throws {@link NotPostedError} with the reason. Every scheduled post (summary, digests) goes through it.
 */
export function slotPoster(
  deps: SlotPostDeps,
): (post: SlotPost, slot: Date, ctx: RunContext) => Promise<SlotPostOutcome> {
  const now = deps.now ?? (() => new Date());
  const leaseMs = leaseLength(deps.cron, now());
  const retryPolicy = deps.retry ?? DEFAULT_POST_RETRY;

  return async (post, slot, ctx) => {
    const { job } = post;
    const log = deps.logger.child({ job });
    const key = slot.toISOString();

    /** Gives the slot up so another replica, or the catch-up at start, posts it late with `reason`. */
    const releaseSlot = (reason: string): Promise<void> =>
      deps.slots.release(job, key, reason).then(
        () => undefined,
        (err: unknown) =>
          log.warn(
            { err, slot: key },
            'could not release the slot; it is taken over when its lease runs out',
          ),
      );

    /** Leases the slot, watching a live lease of another replica until it is done or runs out. */
    const acquire = async (): Promise<LeaseOutcome | null> => {
      let watching = false;
      for (;;) {
        const outcome = await deps.slots.lease(job, key, now(), leaseMs);
        if (outcome.kind !== 'held') return outcome;
        if (!watching) {
          watching = true;
          log.info(
            { slot: key, by: outcome.by },
            `another replica holds this slot; watching until its ${post.what} is posted`,
          );
        }
        const untilExpiry = outcome.until - now().getTime() + 50;
        if (!(await wait(Math.min(Math.max(untilExpiry, 100), Math.ceil(leaseMs / 3)), ctx.signal)))
          return null;
      }
    };

    let late = ctx.late;
    let leased = false;
    try {
      const outcome = await acquire();
      if (outcome === null) {
        log.info(
          { slot: key, reason: String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason) },
          'stopped watching a slot another replica holds',
        );
        return { posted: false, why: 'another replica held this slot' };
      }
      if (outcome.kind === 'done') {
        log.info({ slot: key, by: outcome.by }, 'slot already posted');
        return { posted: false, why: 'already posted' };
      }
      if (outcome.kind === 'acquired' && outcome.takenOver) {
        late ??= outcome.takenOver.failure ?? LATE_BOT_DOWN;
        log.warn({ slot: key, late }, 'took over a slot its holder did not finish');
      }
      leased = true;
    } catch (err) {
      // Better a possible duplicate (which the nonce still folds into one message) than a silent slot.
      log.warn({ err, slot: key }, 'could not claim the slot (database unreachable?); posting anyway');
    }

    const renewal = leased
      ? setInterval(
          () => {
            deps.slots.renew(job, key, now(), leaseMs).then(
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
      const messages = await post.compose(slot);
      let parts = messages(late);
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
                { ...parts[posted]!, nonce: post.nonce(slot, posted) },
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
                `${post.what} not posted yet; retrying until the next slot is due`,
              );
              // Nothing posted yet: the post that lands says it is late, and why.
              if (posted === 0 && late === null) {
                late = reason;
                parts = messages(late);
              }
            },
          },
        );
      } catch (err) {
        const reason = describeFailure(err);
        const why = ctx.signal.aborted
          ? `${reason}; gave up because ${String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason)}`
          : reason;
        if (leased) await releaseSlot(reason);
        throw new NotPostedError(`${post.what} for ${key} not posted: ${why}`, { cause: err });
      }
      log.info({ slot: key, messages: parts.length, ...(late ? { late } : {}) }, `${post.what} posted`);
      if (leased) {
        await deps.slots.complete(job, key, now()).catch((err: unknown) => {
          log.warn(
            { err, slot: key },
            'could not mark the slot done (it may be posted again, folded by its nonce)',
          );
        });
      }
      return { posted: true, messageIds, late };
    } catch (err) {
      if (leased && !(err instanceof NotPostedError)) {
        // The failure text may end up in a late post's line: a plain phrase, never an internal message.
        await releaseSlot('an earlier attempt failed');
      }
      throw err;
    } finally {
      if (renewal) clearInterval(renewal);
    }
  };
}

/**
 * At start, runs the most recent slot of `cron` once, marked late with why, if any of `jobs` (the claims' job
 * names that slot posts) was not posted — only that one slot, never a flood, and only when it is recent and the
 * bot has posted `jobs[0]` before (a first start is not a missed slot).
 */
export async function catchUpSlot(
  deps: Pick<SlotPostDeps, 'slots' | 'cron' | 'logger'>,
  job: Job,
  at: Date,
  jobsOf: (slot: Date) => readonly string[],
): Promise<void> {
  const log = deps.logger.child({ job: job.name });
  const interval = scheduleInterval(deps.cron, at);
  if (interval === null) return;
  const slot = previousSlot(deps.cron, at, Math.min(interval, MAX_CATCH_UP_MS));
  if (!slot) return;
  const key = slot.toISOString();
  try {
    const [main, ...others] = jobsOf(slot);
    if (main === undefined) return;
    const claim = await deps.slots.get(main, key);
    if (!claim && !(await deps.slots.hasAny(main))) return;
    let reason: string | null = null;
    if (claim?.done_at == null) reason = claim?.failure ?? LATE_BOT_DOWN;
    for (const other of others) {
      if (reason !== null) break;
      const c = await deps.slots.get(other, key);
      if (c?.done_at == null) reason = c?.failure ?? LATE_BOT_DOWN;
    }
    if (reason === null) return;
    log.warn({ slot: key, reason }, 'the last slot was not posted; posting it now, marked late');
    await job.runLate(slot, reason);
  } catch (err) {
    log.warn({ err, slot: key }, 'could not find out whether the last slot was posted; not catching up');
  }
}
