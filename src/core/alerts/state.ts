import * as z from 'zod/mini';
import { parseAmount } from '../money.js';
import { PROVIDER_IDS, type ProviderId } from '../types.js';
import { ALERT_STATE_VERSION, type AlertState } from './engine.js';

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

/** Every field of a stored {@link AlertState}; anything else in the stored JSON is dropped. */
export const alertStateSchema = z.object({
  version: z.literal(ALERT_STATE_VERSION),
  provider: z.enum(PROVIDER_IDS),
  createdAt: time,
  seq: count,
  state: z.enum(['unknown', 'ok', 'low', 'stale', 'failing']),
  since: time,
  currency: z.enum(['USD', 'CNY']),
  threshold: decimal,
  balance: z.nullable(z.enum(['ok', 'low'])),
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
});

// The schema and the engine's type must describe the same record: a field added to one and not the other
// fails the typecheck here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<z.output<typeof alertStateSchema>, AlertState> = true;
void sameShape;

/**
 * `value` (parsed JSON) as `provider`'s alert state, or the reason it can't be used (another version, a field
 * missing or of the wrong kind, another provider's state).
 */
export function readAlertState(value: unknown, provider: ProviderId): AlertState | string {
  const parsed = alertStateSchema.safeParse(value, { jitless: true });
  if (!parsed.success)
    return parsed.error.issues.map((i) => `${i.path.join('.') || 'state'}: ${i.message}`).join('; ');
  if (parsed.data.provider !== provider) return `state of ${parsed.data.provider}, not ${provider}`;
  return parsed.data;
}
