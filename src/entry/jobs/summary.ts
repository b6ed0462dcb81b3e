import type { Forecast } from '../../core/forecast.js';
import { describeSchedule, formatSummary } from '../../core/format.js';
import type { Insight } from '../../core/insight.js';
import type { BalanceService, Summary } from '../../core/service.js';
import type { ProviderId } from '../../core/types.js';
import { type Job, type RunContext, type RunOutcome, scheduleJob } from './job.js';
import {
  catchUpSlot,
  NotPostedError,
  type SlotPost,
  type SlotPostDeps,
  type SlotPostOutcome,
  slotPoster,
  withLateLine,
} from './slot-post.js';

const JOB = 'summary';

export interface SummaryJobDeps extends SlotPostDeps {
  readonly service: BalanceService;
  readonly insight: Insight;
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
    'discord',
  );
}

/**
 * The nonce of part `part` of the summary for `slot`: the same on every replica and after a restart, so
 * Discord makes one message of every create of it within its nonce window. At most 25 characters.
 */
export function summaryNonce(slot: Date, part: number): string {
  return `cw-sum-${Math.floor(slot.getTime() / 1000).toString(36)}-${part}`;
}

/**
 * One scheduled summary, posted once across replicas through {@link slotPoster} (lease, nonces, retries until
 * the next slot, the late line, done): it checks every provider through the shared service once the slot is
 * held and posts whatever the outcome — low and failed balances are what the post is for. A slot that is not
 * posted throws with the reason, which the job logs.
 */
export function summaryRun(deps: SummaryJobDeps): (slot: Date, ctx: RunContext) => Promise<RunOutcome> {
  const log = deps.logger.child({ job: JOB });
  const now = deps.now ?? (() => new Date());
  const postSlot = slotPoster(deps);
  const post: SlotPost = {
    job: JOB,
    what: 'summary',
    nonce: summaryNonce,
    compose: async (slot) => {
      const summary = await deps.service.checkAll();
      const text = await summaryPost(summary, deps, now()).catch((err: unknown) => {
        // The runway is an extra: without the history store the balances still go out.
        log.warn(
          { err, slot: slot.toISOString() },
          'could not compute the runway; posting the summary without it',
        );
        return formatSummary(
          summary,
          { schedule: describeSchedule(deps.cron), channelId: deps.channelId },
          {},
          'discord',
        );
      });
      return (late) => withLateLine(text, late, slot).map((content) => ({ content }));
    },
  };

  return async (slot, ctx) => {
    let outcome: SlotPostOutcome;
    try {
      outcome = await postSlot(post, slot, ctx);
    } catch (err) {
      const reason = err instanceof NotPostedError ? err.message : 'the run failed (see the bot log)';
      deps.onPost?.({ ok: false, slot, at: now(), reason });
      throw err;
    }
    if (!outcome.posted) return { posted: `nothing (${outcome.why})` };
    deps.onPost?.({ ok: true, slot, at: now(), reason: null });
    const { messageIds, late } = outcome;
    return {
      posted: 'summary',
      channelId: deps.channelId,
      messageId: messageIds[0] ?? null,
      ...(messageIds.length > 1 ? { messageIds } : {}),
      ...(late ? { late } : {}),
    };
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
  void catchUpSlot(deps, job, now(), () => [JOB]);
  return job;
}
