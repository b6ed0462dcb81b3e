import { accountDisplay } from '../accounts.js';
import { budgetMonthEnd, confidenceWords, formatSpan, runwayPhrase } from '../forecast.js';
import { estimateNote, formatDuration, formatTime, type TimeTarget } from '../format.js';
import { type Amount, amountToText, currencySymbol, formatMoney } from '../money.js';

const DAY_MS = 86_400_000;

import { type AlertKind, type AlertNotification, isCritical } from './engine.js';

/**
 * Whether the alert pings `ALERT_MENTION_ROLE_ID`: critical alerts only (below the critical level, running
 * out within 24 h, and reminders while critical). A low alert, a failure or a recovery pings nobody.
 */
export function pings(n: Pick<AlertNotification, 'kind' | 'level'>): boolean {
  return isCritical(n);
}

/**
 * `threshold in 2 d · $0 in 7 d` (with their moments for `dated`'s target), plus the confidence when it is
 * low: the same words the hourly summary uses for the same forecast.
 */
function runwayWords(n: AlertNotification, dated: TimeTarget | false): string {
  const r = n.runway;
  if (!r || n.available === null) return 'threshold soon';
  const facts = {
    available: n.available,
    threshold: n.threshold,
    belowThreshold: false,
    daysToThreshold: r.days,
    daysToZero: r.zeroDays,
    reachesThresholdAt: r.reachesAt,
    runsOutAt: r.zeroAt,
  };
  const low = r.confidence === 'low' ? ` (${confidenceWords(r.confidence, r.basedOn)})` : '';
  // A budget: how far over the month's projection goes, then when the budget runs out at this rate.
  const budget = r.budget
    ? `on track for ${formatMoney(r.budget.projected, n.currency)} of ${formatMoney(r.budget.amount, n.currency)} by ${budgetMonthEnd(r.budget.periodEnd)} · `
    : '';
  return `${budget}${runwayPhrase(facts, n.currency, dated)}${low}`;
}

/**
 * The alert as one message: for `discord`, markdown (the seed's emoji and labels, the low alert starting with
 * the seed's `🌙 ⚠️ Kimi credits low!`) with moments in Discord's timestamp markup; for `text` (webhooks,
 * e-mail), plain text with moments in UTC.
 */
export function alertText(n: AlertNotification, target: TimeTarget): string {
  const markdown = target === 'discord';
  const at = (d: Date): string => formatTime(d, target);
  const { label, emoji, parts } = accountDisplay(n.provider);
  const money = (a: Amount): string => formatMoney(a, n.currency);
  const bold = (t: string): string => (markdown ? `**${t}**` : t);
  // The seed says "available" for Kimi's figure (a balance with parts) and nothing for Claude's.
  const available = parts.voucher !== undefined || parts.cash !== undefined ? ' available' : '';
  // An estimate is marked `≈` and says what it rests on.
  const balance = (a: Amount | null): string =>
    a === null
      ? 'no balance known yet'
      : n.estimate
        ? `${bold(`≈ ${money(a)}`)}${available} (${estimateNote(n.estimate, n.currency, target)})`
        : `${bold(money(a))}${available}`;
  const threshold = `(threshold: ${money(n.threshold)})`;
  const levels = `(critical: ${money(n.critical)}, threshold: ${money(n.threshold)})`;
  const since = n.since ?? n.at;
  const lasted = formatDuration(n.at.getTime() - since.getTime());

  switch (n.kind) {
    case 'low':
      return `${emoji} ⚠️ ${label} credits low! ${balance(n.available)} ${threshold} · recovers at ${money(n.recoverAt ?? n.threshold)}`;
    case 'critical': {
      if (n.cause === 'runs-out') {
        const rate = n.runway ? ` · ${money(n.runway.ratePerDay)}/day` : '';
        const zero = n.runway
          ? ` · ${currencySymbol(n.currency)}0 in ${formatSpan(n.runway.zeroDays * DAY_MS)} (~${at(n.runway.zeroAt)})`
          : '';
        return `${emoji} 🚨 ${label} credits run out within 24 h: ${balance(n.available)} ${threshold}${rate}${zero}`;
      }
      return `${emoji} 🚨 ${label} credits critically low! ${balance(n.available)} ${levels} · recovers at ${money(n.recoverAt ?? n.threshold)}`;
    }
    case 'reminder': {
      const still = n.level === 'critical' ? 'still critically low' : 'still low';
      const shown = n.level === 'critical' ? levels : threshold;
      return (
        `${emoji} ⏰ ${label} credits ${still}: ${balance(n.available)} ${shown} · ` +
        `low since ${at(since)} (${lasted}) · recovers at ${money(n.recoverAt ?? n.threshold)}`
      );
    }
    case 'topup':
      return `💰 ${label} topped up +${money(n.topUp ?? n.threshold)} (now ${money(n.available ?? n.threshold)})`;
    case 'recovered': {
      const how = n.budgetReset
        ? 'the budget reset for the new month'
        : n.topUp
          ? `topped up +${money(n.topUp)}`
          : `back above ${money(n.recoverAt ?? n.threshold)}`;
      return `${emoji} ✅ ${label} credits recovered: ${balance(n.available)} ${threshold} · ${how} · low for ${lasted}`;
    }
    case 'failing': {
      const count = n.failures ?? 0;
      const last = n.available === null ? 'no balance known yet' : `last known ${money(n.available)}`;
      return (
        `${emoji} ❌ ${label} balance check failing: ${n.reason ?? 'unknown reason'} · ` +
        `${count} failed check${count === 1 ? '' : 's'} in a row since ${at(since)} · ${last} · ` +
        'balance alerts are held until it answers'
      );
    }
    case 'check-recovered': {
      const count = n.failures ?? 0;
      return (
        `${emoji} ✅ ${label} balance check recovered after ${count} failed check${count === 1 ? '' : 's'} ` +
        `(${lasted}): ${balance(n.available)} ${threshold}`
      );
    }
    case 'runway': {
      const rate = n.runway ? ` · ${money(n.runway.ratePerDay)}/day` : '';
      return `${emoji} 📉 ${label} credits running down: ${balance(n.available)} ${threshold}${rate} · ${runwayWords(n, target)}`;
    }
    case 'stale': {
      const amount = n.available === null ? '' : ` · alerts judge its last figure, ${money(n.available)}`;
      if (n.ageMs === null) {
        return `${emoji} ⏳ ${label} balance reading has no updated_at: age unknown, treated as stale${amount}`;
      }
      // The age as of the alert, and (when known) the moment of the reading itself.
      const readAt = n.ageMs === undefined ? '' : ` (${at(new Date(n.at.getTime() - n.ageMs))})`;
      const age = n.ageMs === undefined ? '' : `: ${formatDuration(n.ageMs)} old${markdown ? readAt : ''}`;
      const limit = n.staleAfterMs === undefined ? '' : ` (stale after ${formatDuration(n.staleAfterMs)})`;
      return `${emoji} ⏳ ${label} balance reading is stale${age}${limit}${amount}`;
    }
  }
}

/** E-mail subject, e.g. `[creditwatch] Kimi credits low: $4.80 (threshold $5.00)`. */
export function alertSubject(n: AlertNotification): string {
  const { label } = accountDisplay(n.provider);
  const money = (a: Amount): string => formatMoney(a, n.currency);
  const figure = (a: Amount): string => (n.estimate ? `≈ ${money(a)}` : money(a));
  const figures = n.available === null ? '' : `: ${figure(n.available)} (threshold ${money(n.threshold)})`;
  const head: Record<AlertKind, string> = {
    low: `${label} credits low${figures}`,
    critical:
      n.cause === 'runs-out'
        ? `${label} credits run out within 24 h: ${runwayWords(n, false)}`
        : `${label} credits critically low${figures}`,
    topup: `${label} topped up +${n.topUp ? money(n.topUp) : ''}${n.available ? ` (now ${money(n.available)})` : ''}`,
    reminder: `${label} credits still low${figures}`,
    recovered: `${label} credits recovered${figures}`,
    failing: `${label} balance check failing`,
    'check-recovered': `${label} balance check recovered`,
    runway: `${label} credits running down: ${runwayWords(n, false)}`,
    stale: `${label} balance reading is stale`,
  };
  return `[creditwatch] ${head[n.kind]}`;
}

/**
 * The webhook body: Slack-compatible `text` plus the facts as fields (amounts as exact decimal text, times
 * as ISO 8601), so a receiver can route on `kind` and `provider` without parsing the text.
 */
export function alertPayload(n: AlertNotification): Record<string, unknown> {
  const text = (a: Amount | undefined) => (a === undefined ? undefined : amountToText(a));
  const body: Record<string, unknown> = {
    text: alertText(n, 'text'),
    source: 'creditwatch',
    kind: n.kind,
    provider: n.provider,
    label: accountDisplay(n.provider).label,
    currency: n.currency,
    available: n.available === null ? null : amountToText(n.available),
    estimate: n.estimate ? estimateNote(n.estimate, n.currency) : undefined,
    threshold: amountToText(n.threshold),
    critical: amountToText(n.critical),
    severity: isCritical(n) ? 'critical' : 'normal',
    cause: n.cause,
    level: n.level,
    episode: n.episode,
    recoverAt: text(n.recoverAt),
    topUp: text(n.topUp),
    since: n.since?.toISOString(),
    failures: n.failures,
    reason: n.reason,
    runway: n.runway && {
      reachesAt: n.runway.reachesAt.toISOString(),
      days: Math.round(n.runway.days * 100) / 100,
      zeroAt: n.runway.zeroAt.toISOString(),
      zeroDays: Math.round(n.runway.zeroDays * 100) / 100,
      ratePerDay: amountToText(n.runway.ratePerDay.round(4)),
      confidence: n.runway.confidence,
      ...(n.runway.budget
        ? {
            budget: {
              amount: amountToText(n.runway.budget.amount),
              projected: amountToText(n.runway.budget.projected.round(2)),
              periodEnd: n.runway.budget.periodEnd.toISOString(),
            },
          }
        : {}),
    },
    budgetReset: n.budgetReset,
    ageMs: n.ageMs,
    at: n.at.toISOString(),
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}
