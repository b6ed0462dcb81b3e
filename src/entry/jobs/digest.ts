import { Cron } from 'croner';
import { DEFAULT_SERIES_COLORS } from '../../adapters/chart/balance-chart.js';
import { spendBars } from '../../adapters/chart/series.js';
import { renderSpendChartAsync } from '../../adapters/chart/spend-chart.js';
import type { OutgoingMessage } from '../../adapters/discord/poster.js';
import { describeSchedule } from '../../core/format.js';
import type { Insight, SpendAccount } from '../../core/insight.js';
import type { BalanceService, Summary } from '../../core/service.js';
import { DAY_MS, utcDayStart } from '../../core/spend.js';
import { type DigestAccount, type DigestKind, formatDigest } from '../../core/spend-digest.js';
import { type Job, type RunContext, type RunOutcome, scheduleJob } from './job.js';
import { catchUpSlot, type SlotPost, type SlotPostDeps, slotPoster, withLateLine } from './slot-post.js';

/** The slot claims' job names: one daily and one weekly digest per slot across replicas. */
const DIGEST_JOBS: Readonly<Record<DigestKind, string>> = { daily: 'digest', weekly: 'digest-weekly' };
/** Days of spend the chart shows: the week for the daily digest, two weeks for the weekly one. */
export const CHART_DAYS: Readonly<Record<DigestKind, number>> = { daily: 7, weekly: 14 };

export interface DigestJobDeps extends SlotPostDeps {
  readonly service: BalanceService;
  readonly insight: Insight;
  /** `DIGEST_WEEKLY`: a weekly digest too, at the first slot of each Monday (UTC). */
  readonly weekly: boolean;
}

/**
 * The nonce of part `part` of the `kind` digest for `slot` (as `summaryNonce`: the same on every replica and
 * after a restart; at most 25 characters).
 */
export function digestNonce(kind: DigestKind, slot: Date, part: number): string {
  const prefix = kind === 'daily' ? 'cw-dig' : 'cw-wdg';
  return `${prefix}-${Math.floor(slot.getTime() / 1000).toString(36)}-${part}`;
}

/** Whether `slot` is the first time `cron` fires on a Monday (UTC): the weekly digest's slot. */
export function isWeeklySlot(cron: string, slot: Date): boolean {
  if (slot.getUTCDay() !== 1) return false;
  const first = new Cron(cron, { timezone: 'UTC', paused: true }).nextRun(
    new Date(utcDayStart(slot.getTime()) - 1),
  );
  return first !== null && Math.floor(first.getTime() / 1000) === Math.floor(slot.getTime() / 1000);
}

/** The digests a slot posts: the daily one, and on the first slot of a Monday the weekly one when it is on. */
export function digestKinds(deps: Pick<DigestJobDeps, 'cron' | 'weekly'>, slot: Date): DigestKind[] {
  return deps.weekly && isWeeklySlot(deps.cron, slot) ? ['daily', 'weekly'] : ['daily'];
}

/** The `kind` digest's text and its charts (spend per UTC day, one PNG per currency), as of `at`. */
async function buildDigest(
  kind: DigestKind,
  summary: Summary,
  deps: Pick<DigestJobDeps, 'insight' | 'cron' | 'weekly'>,
  at: Date,
): Promise<{ text: string; files: { name: string; data: Buffer }[] }> {
  const providers = summary.statuses.map((s) => s.provider);
  const t = at.getTime();
  const recentMs = kind === 'daily' ? DAY_MS : 7 * DAY_MS;
  const otherFrom = kind === 'daily' ? t - 7 * DAY_MS : t - 14 * DAY_MS;
  const otherTo = kind === 'daily' ? t : t - 7 * DAY_MS;
  const accounts: SpendAccount[] = summary.statuses.map((s) => ({
    provider: s.provider,
    currency: s.result.currency,
    ...(s.result.ok && s.result.spendByDay ? { spendByDay: s.result.spendByDay } : {}),
  }));
  const [recent, other, series] = await Promise.all([
    deps.insight.windowDigests(providers, new Date(t - recentMs), at),
    deps.insight.windowDigests(providers, new Date(otherFrom), new Date(otherTo)),
    deps.insight.dailySpend(accounts, CHART_DAYS[kind], at),
  ]);
  const rows: DigestAccount[] = summary.statuses.map((s) => {
    const r = recent.get(s.provider) ?? null;
    return {
      provider: s.provider,
      label: s.label,
      emoji: s.emoji,
      currency: s.result.currency,
      available: s.result.ok ? s.result.available : null,
      estimate: s.result.ok && s.result.estimate !== undefined,
      threshold: s.threshold,
      recent: r?.spend ?? null,
      other: other.get(s.provider)?.spend ?? null,
      // By the one rule (`digest.ts`): a budget account's monthly reset is never among them.
      topUps: r?.topUps ?? [],
    };
  });
  const schedule = `${describeSchedule(deps.cron)}${deps.weekly ? '; weekly on Mondays' : ''}`;
  const text = formatDigest({ kind, at, accounts: rows, schedule });

  // The chart: each currency apart (dollars and yuan never share an axis), accounts with any observed day.
  const files: { name: string; data: Buffer }[] = [];
  const charted = summary.statuses.flatMap((s) => {
    const sp = series.get(s.provider);
    return sp?.days.some((d) => d.observed) ? [{ label: s.label, spend: sp }] : [];
  });
  for (const currency of [...new Set(charted.map((c) => c.spend.currency))]) {
    const bars = charted
      .filter((c) => c.spend.currency === currency)
      .map((c, i) => spendBars(c.label, c.spend, DEFAULT_SERIES_COLORS[i % DEFAULT_SERIES_COLORS.length]));
    const data = await renderSpendChartAsync(bars, {
      title: `Spend per UTC day, last ${CHART_DAYS[kind]} days (${currency})`,
      currency,
    });
    files.push({ name: `digest-spend-${CHART_DAYS[kind]}d-${currency.toLowerCase()}.png`, data });
  }
  return { text, files };
}

/** The digest as messages within Discord's limits: the text split at line boundaries, the charts on the last. */
export function digestMessages(
  text: string,
  files: readonly { name: string; data: Buffer }[],
  late: string | null,
  slot: Date,
): OutgoingMessage[] {
  const parts = withLateLine(text, late, slot);
  return parts.map((content, i) =>
    i === parts.length - 1 && files.length > 0 ? { content, files } : { content },
  );
}

/**
 * One digest slot: the daily digest and, at the first slot of a Monday with `DIGEST_WEEKLY`, the weekly one,
 * each posted once across replicas through {@link slotPoster} (its own claim, nonces and late line). Providers
 * are checked once per slot, by the replica that holds it. A digest that is not posted fails the run with why
 * (after the other was tried).
 */
export function digestRun(deps: DigestJobDeps): (slot: Date, ctx: RunContext) => Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const postSlot = slotPoster(deps);
  return async (slot, ctx) => {
    let checked: Promise<Summary> | null = null;
    const summary = () => {
      checked ??= deps.service.checkAll();
      return checked;
    };
    const posted: Record<string, string> = {};
    let failure: unknown = null;
    for (const kind of digestKinds(deps, slot)) {
      const post: SlotPost = {
        job: DIGEST_JOBS[kind],
        what: `${kind} digest`,
        nonce: (s, part) => digestNonce(kind, s, part),
        compose: async (s) => {
          const { text, files } = await buildDigest(kind, await summary(), deps, now());
          return (late) => digestMessages(text, files, late, s);
        },
      };
      try {
        const outcome = await postSlot(post, slot, ctx);
        posted[kind] = outcome.posted
          ? `${outcome.messageIds.length} message(s)${outcome.late ? `, late: ${outcome.late}` : ''}`
          : `nothing (${outcome.why})`;
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== null) throw failure;
    return { posted, channelId: deps.channelId };
  };
}

/**
 * Schedules the digest on `deps.cron` (UTC) and, at start, posts the most recent slot once, late, if one of
 * its digests was missed (as the summary does).
 */
export function startDigestJob(deps: DigestJobDeps): Job {
  const now = deps.now ?? (() => new Date());
  const job = scheduleJob('digest', deps.cron, digestRun(deps), deps.logger, { now });
  void catchUpSlot(deps, job, now(), (slot) => digestKinds(deps, slot).map((k) => DIGEST_JOBS[k]));
  return job;
}
