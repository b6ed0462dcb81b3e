import type Keyv from 'keyv';
import type { Logger } from '../logger.js';
import type { ProviderId } from '../types.js';
import { type AlertState, isAlertState } from './engine.js';

/**
 * Alert state per provider, kept through keyv (namespace `alerts`, one key per provider) in the shared
 * database: it survives restarts and every replica reads the same state.
 */
export class AlertStore {
  constructor(
    private readonly keyv: Keyv<string>,
    private readonly logger: Logger,
  ) {}

  /** The stored state, or `null` when there is none or it can't be used (another version, unreadable). */
  async load(provider: ProviderId): Promise<AlertState | null> {
    const raw = await this.keyv.get(provider);
    if (raw === undefined) return null;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = null;
    }
    if (isAlertState(value, provider)) return value;
    // Starting over costs at most one repeated alert; refusing to run would cost every alert.
    this.logger.warn({ provider }, 'stored alert state is unreadable or from another version; starting over');
    return null;
  }

  async save(state: AlertState): Promise<void> {
    await this.keyv.set(state.provider, JSON.stringify(state));
  }
}
