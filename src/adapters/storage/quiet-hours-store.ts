import type Keyv from 'keyv';
import {
  type HeldAlert,
  heldAlertSchema,
  type QuietHours,
  quietHoursSchema,
} from '../../core/alerts/quiet-hours.js';
import type { Logger } from '../../core/logger.js';
import type { ProviderId } from '../../core/types.js';

const SETTINGS = 'settings';
const heldKey = (provider: ProviderId) => `held:${provider}`;

/**
 * Quiet hours and the alerts they hold, through keyv (namespace `quiet-hours`) in the shared database: every
 * replica sees the same window and the same held alerts, and both survive a restart. Unlike the alert state
 * there is no in-memory fallback: when the store is unreachable its callers send alerts at once instead
 * (a message at night beats a lost one).
 */
export class QuietHoursStore {
  constructor(
    private readonly keyv: Keyv<string>,
    private readonly logger: Logger,
  ) {}

  /** The quiet hours in force, `null` when none are set (or the stored ones can't be read). Rejects when the store does. */
  async get(): Promise<QuietHours | null> {
    const raw = await this.keyv.get(SETTINGS);
    if (raw === undefined) return null;
    const parsed = quietHoursSchema.safeParse(safeJson(raw), { jitless: true });
    if (parsed.success) return parsed.data;
    this.logger.warn('stored quiet hours are unreadable; alerts are not held');
    return null;
  }

  /** Sets (or, with `null`, clears) the quiet hours. Rejects when the store does. */
  async set(q: QuietHours | null): Promise<void> {
    if (q === null) await this.keyv.delete(SETTINGS);
    else await this.keyv.set(SETTINGS, JSON.stringify(q));
  }

  /** The alerts held for `provider`, oldest first (an unreadable entry is dropped and logged). */
  async held(provider: ProviderId): Promise<HeldAlert[]> {
    const raw = await this.keyv.get(heldKey(provider));
    if (raw === undefined) return [];
    const list = safeJson(raw);
    if (!Array.isArray(list)) return [];
    const out: HeldAlert[] = [];
    for (const item of list) {
      const parsed = heldAlertSchema.safeParse(item, { jitless: true });
      if (parsed.success && parsed.data.provider === provider) out.push(parsed.data);
      else this.logger.warn({ provider }, 'unreadable held alert dropped');
    }
    return out;
  }

  /** The alerts held for each of `providers`, read at once, in that order. */
  async heldFor(providers: readonly ProviderId[]): Promise<HeldAlert[]> {
    return (await Promise.all(providers.map((p) => this.held(p)))).flat();
  }

  /** Adds `alert` to its account's held list (once: an id already held is not added again). Rejects when the store does. */
  async hold(alert: HeldAlert): Promise<void> {
    const list = await this.held(alert.provider);
    if (list.some((h) => h.id === alert.id)) return;
    await this.keyv.set(heldKey(alert.provider), JSON.stringify([...list, alert]));
  }

  /** Removes the alerts `ids` from `provider`'s held list (others held meanwhile stay). Rejects when the store does. */
  async drop(provider: ProviderId, ids: ReadonlySet<string>): Promise<void> {
    const list = await this.held(provider);
    const rest = list.filter((h) => !ids.has(h.id));
    if (rest.length === list.length) return;
    if (rest.length === 0) await this.keyv.delete(heldKey(provider));
    else await this.keyv.set(heldKey(provider), JSON.stringify(rest));
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}
