import type { ProviderId } from '../types.js';
import { type AlertNotification, type AlertState, opensEpisode } from './engine.js';

/** What an alert's buttons do: acknowledge the episode, snooze the account for 24 h, check it now. */
export type AlertAction = 'ack' | 'snooze' | 'refresh';

/** How long the Snooze button holds non-critical alerts back. */
export const SNOOZE_MS = 24 * 3_600_000;

/** What a click did: acted, the episode had ended (or never existed), or it was already acknowledged. */
export type AlertActOutcome = 'done' | 'ended' | 'already';

export interface AlertActResult {
  readonly outcome: AlertActOutcome;
  /** The state after the click (or as it was found); `null` when the account has none. */
  readonly state: AlertState | null;
}

const PREFIX = 'alert';
const ACTIONS: readonly AlertAction[] = ['ack', 'snooze', 'refresh'];

/**
 * A button's `custom_id`: `alert|ack|kimi:cn|12` (action, account, episode). At most 100 characters
 * (Discord's limit): account ids are short, episodes are counters.
 */
export function alertButtonId(action: AlertAction, provider: ProviderId, episode: number): string {
  return `${PREFIX}|${action}|${provider}|${episode}`;
}

/** A parsed button id, or `null` when it is not one creditwatch makes (a crafted or foreign custom_id). */
export function parseAlertButtonId(
  id: string,
  enabled: readonly ProviderId[],
): { readonly action: AlertAction; readonly provider: ProviderId; readonly episode: number } | null {
  if (id.length > 100) return null;
  const parts = id.split('|');
  if (parts.length !== 4 || parts[0] !== PREFIX) return null;
  const [, action, provider, episode] = parts as [string, string, string, string];
  if (!(ACTIONS as readonly string[]).includes(action)) return null;
  if (!(enabled as readonly string[]).includes(provider)) return null;
  if (!/^(0|[1-9]\d{0,8})$/.test(episode)) return null;
  return { action: action as AlertAction, provider: provider as ProviderId, episode: Number(episode) };
}

/** Whether an alert carries buttons: those that open an episode, and reminders (they belong to one). */
export function hasButtons(n: Pick<AlertNotification, 'kind'>): boolean {
  return opensEpisode(n.kind) || n.kind === 'reminder';
}

/**
 * The action row under an alert (Discord's documented component JSON: one row, type 1, of buttons, type 2):
 * Acknowledge (success), Snooze 24h (secondary), Refresh (primary). After an acknowledgement its button is
 * disabled; after a snooze, the Snooze button. `account` names the account on each button, for a message
 * carrying the rows of several accounts (the held alerts of quiet hours).
 */
export function alertButtonRows(
  provider: ProviderId,
  episode: number,
  done: { readonly acknowledged?: boolean; readonly snoozed?: boolean } = {},
  account?: string,
): unknown[] {
  const button = (action: AlertAction, label: string, style: number, disabled = false) => ({
    type: 2,
    style,
    label: account === undefined ? label : `${label} ${account}`.slice(0, 80),
    custom_id: alertButtonId(action, provider, episode),
    ...(disabled ? { disabled: true } : {}),
  });
  return [
    {
      type: 1,
      components: [
        button('ack', 'Acknowledge', 3, done.acknowledged === true),
        button('snooze', 'Snooze 24h', 2, done.snoozed === true),
        button('refresh', 'Refresh', 1),
      ],
    },
  ];
}
