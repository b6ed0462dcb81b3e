import type Keyv from 'keyv';
import type { AlertState } from '../../core/alerts/engine.js';
import { readAlertState } from '../../core/alerts/state.js';
import type { Logger } from '../../core/logger.js';
import type { ProviderId } from '../../core/types.js';

/**
 * Alert state per provider, kept through keyv (namespace `alerts`, one key per provider) in the shared
 * database: it survives restarts and every replica reads the same state.
 *
 * The process also keeps its own copy of each state, so alerts are evaluated and sent while the store
 * is down: `load` falls back to the copy, `save` always updates it, and a state the store refused is
 * written when the store answers again (at the next `load` or `save`, or `flush`), before the store's
 * own copy is believed again.
 */
export class AlertStore {
  private readonly memory = new Map<ProviderId, AlertState>();
  /** Providers whose latest state the store has not taken yet. */
  private readonly unsaved = new Set<ProviderId>();

  constructor(
    private readonly keyv: Keyv<string>,
    private readonly logger: Logger,
  ) {}

  /**
   * The current state, or `null` when there is none (or the stored one can't be used: another
   * version, unreadable). Never rejects: with the store down it answers from the process's copy
   * (`null` before the first evaluation: the first check's rules apply, a possible repeat of an alert
   * sent before a restart rather than a missed one).
   */
  async load(provider: ProviderId): Promise<AlertState | null> {
    const mine = this.memory.get(provider) ?? null;
    if (this.unsaved.has(provider) && mine) {
      // Ours is newer than the store's: write it back before anything is read from there.
      await this.save(mine);
      return mine;
    }
    let raw: string | undefined;
    try {
      raw = await this.keyv.get(provider);
    } catch (err) {
      this.logger.warn(
        { err, provider, state: mine?.state ?? 'none' },
        'alert state store unreachable; evaluating from this process’s copy',
      );
      return mine;
    }
    if (raw === undefined) {
      this.memory.delete(provider);
      return null;
    }
    let state: AlertState | string;
    try {
      state = readAlertState(JSON.parse(raw), provider);
    } catch {
      state = 'not JSON';
    }
    if (typeof state !== 'string') {
      this.memory.set(provider, state);
      return state;
    }
    // Starting over costs at most one repeated alert; refusing to run would cost every alert.
    this.logger.warn(
      { provider, problem: state },
      'stored alert state is unreadable or from another version; starting over',
    );
    this.memory.delete(provider);
    return null;
  }

  /** The state this process last saw or made, without asking the store. */
  peek(provider: ProviderId): AlertState | null {
    return this.memory.get(provider) ?? null;
  }

  /**
   * Keeps `state` as the current one and writes it to the store. Never rejects: a state the store
   * refuses is kept and written later (the failure logged at warn).
   */
  async save(state: AlertState): Promise<boolean> {
    this.memory.set(state.provider, state);
    try {
      await this.keyv.set(state.provider, JSON.stringify(state));
    } catch (err) {
      this.unsaved.add(state.provider);
      this.logger.warn(
        { err, provider: state.provider, state: state.state },
        'could not save the alert state; kept in memory and saved when the store answers',
      );
      return false;
    }
    if (this.unsaved.delete(state.provider))
      this.logger.info(
        { provider: state.provider, state: state.state },
        'alert state saved after the outage',
      );
    return true;
  }

  /** Writes every state the store refused so far. Never rejects. */
  async flush(): Promise<void> {
    for (const provider of [...this.unsaved]) {
      const state = this.memory.get(provider);
      if (state) await this.save(state);
    }
  }
}
