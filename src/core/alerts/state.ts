import * as z from 'zod/mini';
import { amountToText, parseAmount } from '../money.js';
import type { ProviderId } from '../types.js';
import { ALERT_KINDS, ALERT_STATE_VERSION, type AlertState } from './engine.js';

/** ISO 8601 in UTC, as `Date#toISOString()` writes it. */
const time = z.iso.datetime();
/** Exact decimal text, as `amountToText` writes it (money.ts reads it). */
const decimal = z.string().check(
  z.refine((text) => {
    try {
      parseAmount(text);
      return true;
    } catch {
      return false;
    }
  }),
);
const count = z.int().check(z.minimum(0));

/** The fields version 1 (one level, no episodes, acknowledgements or snoozes) and version 2 share. */
const commonFields = {
  // Any account id (`kimi`, `kimi:cn`, `openai:team-1`): readAlertState checks it is the one asked for.
  provider: z.string().check(z.minLength(1), z.maxLength(64)),
  createdAt: time,
  seq: count,
  since: time,
  currency: z.enum(['USD', 'CNY']),
  threshold: decimal,
  balanceSince: z.nullable(time),
  lastBalance: z.nullable(decimal),
  lastBalanceAt: z.nullable(time),
  lastCheckedAt: z.nullable(time),
  lastNotifiedAt: z.nullable(time),
  reminders: count,
  episodeRise: decimal,
  consecutiveFailures: count,
  failingSince: z.nullable(time),
  failingAlerted: z.boolean(),
  lastFailure: z.nullable(z.string()),
  staleSince: z.nullable(time),
  staleNotified: z.boolean(),
  runwayWarned: z.boolean(),
  updatedAt: time,
};

/** Every field of a stored {@link AlertState}; anything else in the stored JSON is dropped. */
export const alertStateSchema = z.object({
  ...commonFields,
  version: z.literal(ALERT_STATE_VERSION),
  state: z.enum(['unknown', 'ok', 'low', 'critical', 'stale', 'failing']),
  critical: decimal,
  balance: z.nullable(z.enum(['ok', 'low', 'critical'])),
  zeroWarned: z.boolean(),
  episode: count,
  episodeKind: z.nullable(z.enum(ALERT_KINDS)),
  acknowledgedBy: z.nullable(z.string()),
  acknowledgedAt: z.nullable(time),
  snoozedUntil: z.nullable(time),
  snoozedBy: z.nullable(z.string()),
});

/** A state written by a creditwatch with one alert level (version 1). */
export const alertStateV1Schema = z.object({
  ...commonFields,
  version: z.literal(1),
  state: z.enum(['unknown', 'ok', 'low', 'stale', 'failing']),
  balance: z.nullable(z.enum(['ok', 'low'])),
});

/**
 * A version 1 state as version 2: the critical level is the default (half its threshold), no "runs out"
 * alert sent, and the episode in progress (if low, failing or stale) is episode 0, unacknowledged, unsnoozed.
 */
export function upgradeV1(v1: z.output<typeof alertStateV1Schema>): AlertState {
  const open: AlertState['episodeKind'] = v1.failingAlerted
    ? 'failing'
    : v1.balance === 'low'
      ? 'low'
      : v1.staleNotified
        ? 'stale'
        : null;
  return {
    ...v1,
    version: ALERT_STATE_VERSION,
    critical: amountToText(parseAmount(v1.threshold).div(2)),
    zeroWarned: false,
    episode: 0,
    episodeKind: open,
    acknowledgedBy: null,
    acknowledgedAt: null,
    snoozedUntil: null,
    snoozedBy: null,
  };
}

// The schema and the engine's type must describe the same record: a field added to one and not the other
// fails the typecheck here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<z.output<typeof alertStateSchema>, AlertState> = true;
void sameShape;

const issues = (error: z.core.$ZodError): string =>
  error.issues.map((i) => `${i.path.join('.') || 'state'}: ${i.message}`).join('; ');

/**
 * `value` (parsed JSON) as `provider`'s alert state, or the reason it can't be used (another version, a field
 * missing or of the wrong kind, another provider's state). A version 1 state is upgraded ({@link upgradeV1}).
 */
export function readAlertState(value: unknown, provider: ProviderId): AlertState | string {
  const version = (value as { version?: unknown } | null)?.version;
  let state: AlertState;
  if (version === 1) {
    const old = alertStateV1Schema.safeParse(value, { jitless: true });
    if (!old.success) return issues(old.error);
    state = upgradeV1(old.data);
  } else {
    const parsed = alertStateSchema.safeParse(value, { jitless: true });
    if (!parsed.success) return issues(parsed.error);
    state = parsed.data;
  }
  if (state.provider !== provider) return `state of ${state.provider}, not ${provider}`;
  return state;
}
