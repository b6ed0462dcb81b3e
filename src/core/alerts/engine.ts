import { isBudgetReset } from '../digest.js';
import { type BasedOn, type Confidence, type Forecast, topUpBetween } from '../forecast.js';
import { type Amount, amountToText, Big, type Currency, isLow, parseAmount } from '../money.js';
import type { ProviderStatus } from '../service.js';
import type { BalanceEstimate, ProviderId } from '../types.js';

/**
 * Bumped when {@link AlertState} changes shape. Version 1 (one level) is still read and upgraded
 * (`state.ts`); a stored state of any other version is discarded.
 */
export const ALERT_STATE_VERSION = 2;

/**
 * What a provider's balance was last judged to be: `ok`, `low` (below its threshold) or `critical` (below its
 * critical level). Held (not changed) while its check is failing.
 */
export type BalanceLevel = 'ok' | 'low' | 'critical';

/**
 * The headline state shown in `/balance`: `failing` (after the failure alert) wins over `low`, which wins
 * over `stale` (a Claude reading older than its limit), which wins over `ok`. `unknown` until a check answers.
 */
export type AlertHeadline = 'unknown' | 'ok' | 'low' | 'critical' | 'stale' | 'failing';

/**
 * One provider's persisted alert state. Plain JSON (times as ISO 8601, amounts as decimal text), so it
 * can be stored as is and read back by any replica.
 */
export interface AlertState {
  readonly version: typeof ALERT_STATE_VERSION;
  readonly provider: ProviderId;
  /** When this record was first written; with `seq` it names one evaluation across replicas. */
  readonly createdAt: string;
  /** Incremented by every evaluation. */
  readonly seq: number;
  readonly state: AlertHeadline;
  /** When the headline state began (for `failing`: the first failed check of the run of failures). */
  readonly since: string;
  readonly currency: Currency;
  /** The threshold of the last evaluation. */
  readonly threshold: string;
  /** The critical level of the last evaluation (at most the threshold). */
  readonly critical: string;
  /** `null` until the first successful reading. */
  readonly balance: BalanceLevel | null;
  readonly balanceSince: string | null;
  /** The last successful reading's amount and its `asOf` (`lastBalanceAt` is `null` when that is unknown). */
  readonly lastBalance: string | null;
  readonly lastBalanceAt: string | null;
  /** `checkedAt` of the newest check evaluated: a result not newer than this is a re-judgement, not a check. */
  readonly lastCheckedAt: string | null;
  /** When the low alert or the last reminder went out; reminders count from here. */
  readonly lastNotifiedAt: string | null;
  readonly reminders: number;
  /** Sum of the rises between readings during the current low episode (the top-ups). */
  readonly episodeRise: string;
  readonly consecutiveFailures: number;
  readonly failingSince: string | null;
  readonly failingAlerted: boolean;
  readonly lastFailure: string | null;
  /**
   * When the current reading became stale (its `asOf` + the stale limit; for a reading of unknown age, the
   * first check that saw it); `null` when fresh.
   */
  readonly staleSince: string | null;
  readonly staleNotified: boolean;
  /** The runway warning went out in the current ok episode. */
  readonly runwayWarned: boolean;
  /** The "runs out within 24 h" critical alert went out (armed again once the forecast is past 48 h). */
  readonly zeroWarned: boolean;
  /**
   * Numbers the alert episodes: every alert that starts one (low, critical, failing, runway, stale) and every
   * recovery that ends one moves it on. Buttons name the episode they belong to.
   */
  readonly episode: number;
  /** The kind of alert that opened the current episode, `null` once it has ended (a recovery). */
  readonly episodeKind: AlertKind | null;
  /** Who acknowledged the current episode (`name (id)`) and when: no reminders for it after that. */
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: string | null;
  /** Until when non-critical alerts are held back for this account, and who snoozed them. */
  readonly snoozedUntil: string | null;
  readonly snoozedBy: string | null;
  readonly updatedAt: string;
}

/** The alert settings the engine needs (the `alerts` section of the configuration). */
export interface AlertSettings {
  /** Fraction above the threshold a low balance must reach to count as recovered (0.1 = 10 %). */
  readonly recoveryMargin: number;
  /** Consecutive failed checks before the "check failing" alert. */
  readonly failureAfter: number;
  /** Reminder interval while a balance stays low. */
  readonly repeatMs: number;
  /** Warn when the forecast reaches the threshold within this many days; 0 turns the warning off. */
  readonly runwayDays: number;
}

/** Every kind of alert, in one list: the type, the stored state's schema and the held alerts' schema read it. */
export const ALERT_KINDS = [
  'low',
  'critical',
  'reminder',
  'recovered',
  'failing',
  'check-recovered',
  'runway',
  'stale',
  'topup',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Why a `critical` alert fired: the balance fell below the critical level, or it runs out within 24 h. */
export type CriticalCause = 'level' | 'runs-out';

/** A forecast reaching $0 within this many days is critical. */
export const CRITICAL_RUNWAY_DAYS = 1;

/** Something worth telling people, with every fact the messages need. */
export interface AlertNotification {
  readonly kind: AlertKind;
  readonly provider: ProviderId;
  readonly currency: Currency;
  /** When the evaluation that raised it ran. */
  readonly at: Date;
  readonly threshold: Amount;
  /** The critical level in force (at most the threshold). */
  readonly critical: Amount;
  /** `critical`: what made it critical. */
  readonly cause?: CriticalCause;
  /** `reminder`: the level it is still at. */
  readonly level?: Exclude<BalanceLevel, 'ok'>;
  /** The episode this notification opened or belongs to (the buttons name it). */
  readonly episode: number;
  /** The balance now; for `failing`, the last known one (`null` if there never was one). */
  readonly available: Amount | null;
  /** `low`, `reminder`, `recovered`: the level a low balance must reach to recover. */
  readonly recoverAt?: Amount;
  /** `recovered`: total of the rises during the low episode, when there were any; `topup`: this rise. */
  readonly topUp?: Amount;
  /** Start of the episode: low since (`reminder`, `recovered`), failing since, stale since. */
  readonly since?: Date;
  /** `failing`, `check-recovered`: consecutive failed checks. */
  readonly failures?: number;
  /** `failing`: why the latest check failed (safe to show). */
  readonly reason?: string;
  /**
   * `runway`: when the forecast reaches the threshold and $0, how many days away, at what rate, and how
   * sure it is (so a low-confidence warning says so).
   */
  readonly runway?: {
    readonly reachesAt: Date;
    readonly days: number;
    readonly zeroAt: Date;
    readonly zeroDays: number;
    readonly ratePerDay: Amount;
    readonly confidence: Confidence;
    readonly basedOn: BasedOn;
    /** A budget account: the month's projected spend against the budget, which runs out before the month ends. */
    readonly budget?: { readonly amount: Amount; readonly projected: Amount; readonly periodEnd: Date };
  };
  /** `recovered`: a budget account's new month began (its budget reset); never a top-up. */
  readonly budgetReset?: boolean;
  /**
   * The figure is an estimate (Claude with an Admin key): what it rests on (`estimated: $150.00 on …, − $98.00
   * spent since`, written by `estimateNote` for each target); messages show it with `≈`, never as measured.
   */
  readonly estimate?: BalanceEstimate;
  /** `stale`: the reading's age (`null`: unknown, its source gives no time) and the limit. */
  readonly ageMs?: number | null;
  readonly staleAfterMs?: number;
}

export interface EvaluationInput {
  readonly status: ProviderStatus;
  readonly forecast?: Forecast;
  readonly now: Date;
  readonly settings: AlertSettings;
}

export interface Evaluation {
  readonly next: AlertState;
  readonly notifications: AlertNotification[];
  /** Notifications held back by a snooze (non-critical ones while `snoozedUntil` is ahead). */
  readonly snoozed: AlertNotification[];
}

/** Critical alerts (and reminders of a critical balance) go out even when snoozed, and only they ping. */
export function isCritical(n: Pick<AlertNotification, 'kind' | 'level'>): boolean {
  return n.kind === 'critical' || (n.kind === 'reminder' && n.level === 'critical');
}

/** Kinds that open an episode (and get buttons); recoveries end one; reminders and top-ups do neither. */
export function opensEpisode(kind: AlertKind): boolean {
  return kind !== 'reminder' && kind !== 'topup' && kind !== 'recovered' && kind !== 'check-recovered';
}

/** The critical level in force: the one given (default half the threshold), never above the threshold. */
export function criticalLevel(threshold: Amount, critical: Amount | undefined): Amount {
  const level = critical ?? threshold.div(2);
  return level.gt(threshold) ? threshold : level;
}

type Draft = { -readonly [K in keyof AlertState]: AlertState[K] };

/** The level a low balance must reach to count as recovered: threshold × (1 + margin). */
export function recoveryLevel(threshold: Amount, margin: number): Amount {
  return threshold.times(new Big(1).plus(margin));
}

/**
 * The alert state machine: pure, no I/O, no clock but `now`. Given the previous state (or `null` the
 * first time) and one provider's judged status, returns the next state and what to notify.
 *
 * - Two levels, each firing once per crossing: ok → low (`available < threshold`) notifies `low`; falling
 *   below the critical level (from ok or low) notifies `critical`. The first evaluation does the same.
 * - Recovery has hysteresis: critical → low only at `critical × (1 + recoveryMargin)` (silently: the balance
 *   is still low; the critical alert is armed again), low/critical → ok only at `threshold × (1 +
 *   recoveryMargin)`, notifying `recovered` (with the top-ups seen during the episode).
 * - While low or critical, a `reminder` every `repeatMs` after the last alert or reminder, unless the episode
 *   was acknowledged.
 * - `failureAfter` consecutive failed checks notify `failing` once; the next successful check notifies
 *   `check-recovered`. A failed check never changes the balance level, and while `failing` the balance
 *   notifications (low, critical, reminder, runway) are held until the provider answers again.
 * - While ok, `runway` once per ok episode when the forecast reaches the threshold within `runwayDays`;
 *   it re-arms on recovery from low, or once the forecast moves beyond twice that window (a top-up).
 * - A forecast reaching $0 within 24 h notifies `critical` (cause `runs-out`) once, re-armed past 48 h.
 * - A rise between two consecutive readings (the forecast's top-up rule) notifies `topup`.
 * - A stale reading is still judged by its amount; the first stale evaluation of an episode notifies
 *   `stale`, and freshness coming back clears it silently.
 * - A result not newer than the last one evaluated (a re-judgement after a threshold change) counts as no
 *   check at all: the last known balance is judged against the current levels, nothing else moves.
 * - While `snoozedUntil` is ahead, only critical notifications are returned; the rest are in `snoozed`.
 */
export function evaluate(prev: AlertState | null, input: EvaluationInput): Evaluation {
  const { status, now, settings } = input;
  const result = status.result;
  const iso = now.toISOString();
  const s: Draft = prev ? { ...prev } : initialState(status, iso);
  s.seq = (prev?.seq ?? 0) + 1;
  s.updatedAt = iso;
  s.currency = result.currency;
  s.threshold = amountToText(status.threshold);
  const critical = criticalLevel(status.threshold, status.critical);
  s.critical = amountToText(critical);
  const notes: Omit<AlertNotification, 'episode'>[] = [];
  const common = {
    provider: status.provider,
    currency: result.currency,
    at: now,
    threshold: status.threshold,
    ...(result.ok && result.estimate ? { estimate: result.estimate } : {}),
    critical,
  };
  const lastKnown = (): Amount | null => (s.lastBalance === null ? null : parseAmount(s.lastBalance));
  const finish = (): Evaluation => finishEvaluation(s, prev, notes, now);

  const fresh = prev?.lastCheckedAt == null || result.checkedAt.getTime() > Date.parse(prev.lastCheckedAt);
  if (fresh) s.lastCheckedAt = result.checkedAt.toISOString();

  if (!result.ok) {
    if (fresh) {
      s.consecutiveFailures += 1;
      s.failingSince ??= iso;
      s.lastFailure = result.reason;
      if (!s.failingAlerted && s.consecutiveFailures >= settings.failureAfter) {
        s.failingAlerted = true;
        notes.push({
          ...common,
          kind: 'failing',
          available: lastKnown(),
          since: new Date(s.failingSince),
          failures: s.consecutiveFailures,
          reason: result.reason,
        });
      }
    }
    return finish();
  }

  let amount: Amount;
  let budgetReset = false;
  // Announced after the level's own notification (the recovery it may have caused comes first).
  let topUp: Omit<AlertNotification, 'episode'> | null = null;
  if (fresh) {
    if (s.failingAlerted) {
      notes.push({
        ...common,
        kind: 'check-recovered',
        available: result.available,
        since: new Date(s.failingSince ?? iso),
        failures: s.consecutiveFailures,
      });
    }
    s.consecutiveFailures = 0;
    s.failingSince = null;
    s.failingAlerted = false;
    s.lastFailure = null;
    const before = lastKnown();
    // A budget account's first reading of a new month: the rise is the budget resetting, not a top-up (the
    // history's rule, `isBudgetReset`).
    budgetReset =
      s.lastBalanceAt !== null &&
      isBudgetReset(
        result.budget ? 'monthly-budget' : 'balance',
        Date.parse(s.lastBalanceAt),
        (result.asOf ?? now).getTime(),
      );
    const rise = before === null || budgetReset ? null : topUpBetween(before, result.available);
    if (rise !== null) {
      if (s.balance === 'low' || s.balance === 'critical') {
        s.episodeRise = amountToText(parseAmount(s.episodeRise).plus(rise));
      }
      topUp = { ...common, kind: 'topup', available: result.available, topUp: rise };
    }
    s.lastBalance = amountToText(result.available);
    s.lastBalanceAt = result.asOf === null ? null : result.asOf.toISOString();
    amount = result.available;

    if (status.stale) {
      if (s.staleSince === null) {
        // Without a limit or an as-of time there is no moment it turned stale: say since this check.
        const startedMs =
          status.staleAfterMs === null || result.asOf === null
            ? now.getTime()
            : result.asOf.getTime() + status.staleAfterMs;
        s.staleSince = new Date(Math.min(startedMs, now.getTime())).toISOString();
      }
      if (!s.staleNotified) {
        s.staleNotified = true;
        notes.push({
          ...common,
          kind: 'stale',
          available: amount,
          since: new Date(s.staleSince),
          ageMs: status.ageMs,
          ...(status.staleAfterMs === null ? {} : { staleAfterMs: status.staleAfterMs }),
        });
      }
    } else {
      s.staleSince = null;
      s.staleNotified = false;
    }
  } else {
    // Re-judging an old result: the newest thing known is the stored balance, if any.
    const known = lastKnown();
    if (known === null || s.failingAlerted) return finish();
    amount = known;
  }

  const recoverAt = recoveryLevel(status.threshold, settings.recoveryMargin);
  const criticalRecoverAt = recoveryLevel(critical, settings.recoveryMargin);
  const level = nextLevel(s.balance, amount, status.threshold, critical, recoverAt, criticalRecoverAt);
  const was = s.balance;
  if (level === 'ok') {
    if (was === 'low' || was === 'critical') {
      const rise = parseAmount(s.episodeRise);
      notes.push({
        ...common,
        kind: 'recovered',
        available: amount,
        recoverAt,
        since: new Date(s.balanceSince ?? iso),
        ...(rise.gt(0) ? { topUp: rise } : {}),
        ...(budgetReset ? { budgetReset } : {}),
      });
      s.balanceSince = iso;
      s.lastNotifiedAt = null;
      s.reminders = 0;
      s.episodeRise = '0';
      s.runwayWarned = false;
      s.zeroWarned = false;
    } else if (was === null) {
      s.balanceSince = iso;
    }
    s.balance = 'ok';
    if (!runsOut(s, input, amount, notes, common)) runway(s, input, amount, notes, common);
  } else if (level === 'critical' && was !== 'critical') {
    if (was !== 'low') {
      s.balanceSince = iso;
      s.episodeRise = '0';
    }
    s.balance = 'critical';
    s.lastNotifiedAt = iso;
    s.reminders = 0;
    notes.push({ ...common, kind: 'critical', cause: 'level', available: amount, recoverAt });
  } else if (level === 'low' && was !== 'low' && was !== 'critical') {
    s.balance = 'low';
    s.balanceSince = iso;
    s.lastNotifiedAt = iso;
    s.reminders = 0;
    s.episodeRise = '0';
    notes.push({ ...common, kind: 'low', available: amount, recoverAt });
    runsOut(s, input, amount, notes, common);
  } else {
    // Still low or critical (or back from critical to low, which re-arms the critical alert silently).
    s.balance = level;
    if (level === 'low') runsOut(s, input, amount, notes, common);
    const acknowledged = s.acknowledgedAt !== null && s.episodeKind !== null;
    if (
      !acknowledged &&
      s.lastNotifiedAt !== null &&
      now.getTime() - Date.parse(s.lastNotifiedAt) >= settings.repeatMs
    ) {
      s.lastNotifiedAt = iso;
      s.reminders += 1;
      notes.push({
        ...common,
        kind: 'reminder',
        level,
        available: amount,
        recoverAt,
        since: new Date(s.balanceSince ?? iso),
      });
    }
  }
  if (topUp) notes.push(topUp);
  return finish();
}

/** The level after this reading, with hysteresis on the way up. */
function nextLevel(
  was: BalanceLevel | null,
  amount: Amount,
  threshold: Amount,
  critical: Amount,
  recoverAt: Amount,
  criticalRecoverAt: Amount,
): BalanceLevel {
  if (was === 'critical') {
    if (amount.gte(recoverAt)) return 'ok';
    return amount.gte(criticalRecoverAt) ? 'low' : 'critical';
  }
  if (isLow(amount, critical)) return 'critical';
  if (was === 'low') return amount.gte(recoverAt) ? 'ok' : 'low';
  return isLow(amount, threshold) ? 'low' : 'ok';
}

/** Numbers episodes, applies the snooze and returns the evaluation. */
function finishEvaluation(
  s: Draft,
  prev: AlertState | null,
  notes: readonly Omit<AlertNotification, 'episode'>[],
  now: Date,
): Evaluation {
  const numbered: AlertNotification[] = [];
  for (const n of notes) {
    if (opensEpisode(n.kind) || n.kind === 'recovered' || n.kind === 'check-recovered') {
      s.episode += 1;
      s.episodeKind = opensEpisode(n.kind) ? n.kind : null;
      s.acknowledgedAt = null;
      s.acknowledgedBy = null;
    }
    numbered.push({ ...n, episode: s.episode });
  }
  if (s.snoozedUntil !== null && Date.parse(s.snoozedUntil) <= now.getTime()) {
    s.snoozedUntil = null;
    s.snoozedBy = null;
  }
  const snoozing = s.snoozedUntil !== null;
  const notifications = numbered.filter((n) => !snoozing || isCritical(n));
  const snoozed = numbered.filter((n) => snoozing && !isCritical(n));
  return { next: withHeadline(s, prev), notifications, snoozed };
}

/**
 * `critical` (cause `runs-out`) once when the forecast reaches $0 within {@link CRITICAL_RUNWAY_DAYS};
 * armed again once it is past twice that. Returns whether it fired.
 */
function runsOut(
  s: Draft,
  input: EvaluationInput,
  amount: Amount,
  notes: Omit<AlertNotification, 'episode'>[],
  common: Pick<AlertNotification, 'provider' | 'currency' | 'at' | 'threshold' | 'critical' | 'estimate'>,
): boolean {
  const f = input.forecast;
  // A budget account's runway is the month's budget (`runway` below), not a balance running out.
  if (f?.status !== 'ok' || f.budget || amount.lte(0)) return false;
  if (f.daysToZero > 2 * CRITICAL_RUNWAY_DAYS) {
    s.zeroWarned = false;
    return false;
  }
  if (s.zeroWarned || f.daysToZero > CRITICAL_RUNWAY_DAYS) return false;
  s.zeroWarned = true;
  // It says more than a runway warning would: that one is not sent as well.
  s.runwayWarned = true;
  notes.push({
    ...common,
    kind: 'critical',
    cause: 'runs-out',
    available: amount,
    runway: runwayFacts(f),
  });
  return true;
}

function runwayFacts(f: Extract<Forecast, { status: 'ok' }>): NonNullable<AlertNotification['runway']> {
  return {
    reachesAt: f.reachesThresholdAt ?? f.runsOutAt,
    days: f.daysToThreshold,
    zeroAt: f.runsOutAt,
    zeroDays: f.daysToZero,
    ratePerDay: f.ratePerDay,
    confidence: f.confidence,
    basedOn: f.basedOn,
  };
}

function runway(
  s: Draft,
  input: EvaluationInput,
  amount: Amount,
  notes: Omit<AlertNotification, 'episode'>[],
  common: Pick<AlertNotification, 'provider' | 'currency' | 'at' | 'threshold' | 'critical' | 'estimate'>,
): void {
  const f = input.forecast;
  const days = input.settings.runwayDays;
  if (days <= 0 || !f || f.status === 'insufficient') return;
  if (f.status === 'idle') {
    s.runwayWarned = false;
    return;
  }
  if (f.budget) {
    // A budget account: warned once when, at the month's rate, the budget runs out before the month ends;
    // re-armed when the projection is back within the budget (a new month, a slower rate).
    if (!f.budget.over) {
      s.runwayWarned = false;
      return;
    }
    // Hours into a month, a rate carried to its end says little: no warning before a day of costs.
    if (s.runwayWarned || f.belowThreshold || f.confidence === 'low') return;
    s.runwayWarned = true;
    notes.push({
      ...common,
      kind: 'runway',
      available: amount,
      runway: {
        reachesAt: f.reachesThresholdAt ?? f.runsOutAt,
        days: f.daysToThreshold,
        zeroAt: f.runsOutAt,
        zeroDays: f.daysToZero,
        ratePerDay: f.ratePerDay,
        confidence: f.confidence,
        basedOn: f.basedOn,
        budget: { amount: f.budget.amount, projected: f.budget.projected, periodEnd: f.budget.periodEnd },
      },
    });
    return;
  }
  if (f.belowThreshold || f.reachesThresholdAt === null) return;
  // Hysteresis: a forecast wobbling around the window must not re-arm the warning.
  if (f.daysToThreshold > 2 * days) {
    s.runwayWarned = false;
    return;
  }
  if (s.runwayWarned || f.daysToThreshold > days) return;
  s.runwayWarned = true;
  notes.push({ ...common, kind: 'runway', available: amount, runway: runwayFacts(f) });
}

function initialState(status: ProviderStatus, iso: string): Draft {
  return {
    version: ALERT_STATE_VERSION,
    provider: status.provider,
    createdAt: iso,
    seq: 0,
    state: 'unknown',
    since: iso,
    currency: status.result.currency,
    threshold: amountToText(status.threshold),
    critical: amountToText(criticalLevel(status.threshold, status.critical)),
    balance: null,
    balanceSince: null,
    lastBalance: null,
    lastBalanceAt: null,
    lastCheckedAt: null,
    lastNotifiedAt: null,
    reminders: 0,
    episodeRise: '0',
    consecutiveFailures: 0,
    failingSince: null,
    failingAlerted: false,
    lastFailure: null,
    staleSince: null,
    staleNotified: false,
    runwayWarned: false,
    zeroWarned: false,
    episode: 0,
    episodeKind: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    snoozedUntil: null,
    snoozedBy: null,
    updatedAt: iso,
  };
}

function withHeadline(s: Draft, prev: AlertState | null): AlertState {
  let state: AlertHeadline;
  let since: string | null;
  if (s.failingAlerted) [state, since] = ['failing', s.failingSince];
  else if (s.balance === 'critical') [state, since] = ['critical', s.balanceSince];
  else if (s.balance === 'low') [state, since] = ['low', s.balanceSince];
  else if (s.staleSince !== null) [state, since] = ['stale', s.staleSince];
  else if (s.balance === 'ok') [state, since] = ['ok', s.updatedAt];
  else [state, since] = ['unknown', s.updatedAt];
  s.state = state;
  s.since = prev?.state === state ? prev.since : (since ?? s.updatedAt);
  return s;
}
