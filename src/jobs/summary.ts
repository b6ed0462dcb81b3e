import type { Poster } from '../discord/poster.js';
import type { Forecast } from '../forecast.js';
import { describeSchedule, formatSummary } from '../format.js';
import type { Insight } from '../insight.js';
import type { Logger } from '../logger.js';
import type { BalanceService, Summary } from '../service.js';
import type { SlotClaims } from '../storage/slots.js';
import type { ProviderId } from '../types.js';
import type { RunOutcome } from './job.js';

export interface SummaryJobDeps {
  readonly service: BalanceService;
  readonly insight: Insight;
  readonly slots: SlotClaims;
  readonly poster: Poster;
  readonly channelId: string;
  readonly cron: string;
  readonly logger: Logger;
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
 * One scheduled summary: claim the slot (so one replica posts it), check every provider through the
 * shared service, post the seed-format summary. It posts whatever the outcome: low and failed
 * balances are what the post is for.
 */
export function summaryRun(deps: SummaryJobDeps): (slot: Date) => Promise<RunOutcome> {
  const log = deps.logger.child({ job: 'summary' });
  return async (slot) => {
    const key = slot.toISOString();
    try {
      if (!(await deps.slots.claim('summary', key))) {
        log.info({ slot: key }, 'another replica has this slot');
        return { posted: 'nothing (another replica has this slot)' };
      }
    } catch (err) {
      // Better a possible duplicate than a silent hour.
      log.warn({ err, slot: key }, 'could not claim the slot (database unreachable?); posting anyway');
    }
    const summary = await deps.service.checkAll();
    const content = await summaryPost(summary, deps, new Date());
    const receipt = await deps.poster.post(deps.channelId, { content });
    return { posted: 'summary', channelId: deps.channelId, messageId: receipt?.messageId ?? null };
  };
}
