import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { AlertStore } from '../../src/adapters/storage/alert-store.js';
import { ALERT_STATE_VERSION, type AlertState } from '../../src/core/alerts/engine.js';
import { readAlertState } from '../../src/core/alerts/state.js';
import { captureLogs } from '../support/log-capture.js';

/** A state as the engine writes it, every field set (the nullable ones to a value). */
const stored = (): Record<string, unknown> => ({
  version: ALERT_STATE_VERSION,
  provider: 'kimi',
  createdAt: '2026-11-27T10:00:00.000Z',
  seq: 7,
  state: 'low',
  since: '2026-11-27T10:05:00.000Z',
  currency: 'USD',
  threshold: '5',
  balance: 'low',
  balanceSince: '2026-11-27T10:05:00.000Z',
  lastBalance: '4.5',
  lastBalanceAt: '2026-11-27T10:30:00.000Z',
  lastCheckedAt: '2026-11-27T10:30:00.000Z',
  lastNotifiedAt: '2026-11-27T10:05:00.000Z',
  reminders: 0,
  episodeRise: '0.25',
  consecutiveFailures: 1,
  failingSince: '2026-11-27T10:30:00.000Z',
  failingAlerted: false,
  lastFailure: 'HTTP 503',
  staleSince: null,
  staleNotified: false,
  runwayWarned: true,
  updatedAt: '2026-11-27T10:30:00.000Z',
  critical: '2.5',
  zeroWarned: false,
  episode: 3,
  episodeKind: 'low',
  acknowledgedBy: 'ana.finance (100000000000000001)',
  acknowledgedAt: '2026-11-27T10:20:00.000Z',
  snoozedUntil: '2026-11-28T10:20:00.000Z',
  snoozedBy: 'ops.admin (100000000000000002)',
});

/** The same state as a creditwatch with one alert level wrote it (version 1). */
const storedV1 = (): Record<string, unknown> => {
  const {
    critical: _c,
    zeroWarned: _z,
    episode: _e,
    episodeKind: _k,
    acknowledgedBy: _ab,
    acknowledgedAt: _aa,
    snoozedUntil: _su,
    snoozedBy: _sb,
    ...v1
  } = stored();
  return { ...v1, version: 1 };
};

describe('stored alert state (schema of every field)', () => {
  it('GIVEN a state as the engine writes it THEN it is read back field for field, for its own provider only', () => {
    expect(readAlertState(stored(), 'kimi')).toEqual(stored());
    expect(readAlertState(stored(), 'claude')).toBe('state of kimi, not claude');
    const fresh = { ...stored(), balance: null, balanceSince: null, lastBalance: null, lastBalanceAt: null };
    expect(readAlertState(fresh, 'kimi')).toEqual(fresh);
  });

  it('GIVEN the state of a named account (kimi:cn) THEN it is read back too, for that account only', () => {
    // Refused before: every check of a named account started over, repeating its alerts.
    const cn = { ...stored(), provider: 'kimi:cn' };
    expect(readAlertState(cn, 'kimi:cn')).toEqual(cn);
    expect(readAlertState(cn, 'kimi')).toBe('state of kimi:cn, not kimi');
  });

  // One wrong value per field: each must be refused, naming the field.
  it.each<[string, unknown]>([
    ['version', ALERT_STATE_VERSION + 1],
    ['provider', 42],
    ['createdAt', 'yesterday'],
    ['seq', 1.5],
    ['state', 'dire'],
    ['since', 1_700_000_000_000],
    ['currency', 'EUR'],
    ['threshold', '5,00'],
    ['balance', 'empty'],
    ['balanceSince', ''],
    ['lastBalance', 4.5],
    ['lastBalanceAt', '2026-11-27'],
    ['lastCheckedAt', true],
    ['lastNotifiedAt', 'never'],
    ['reminders', -1],
    ['episodeRise', 'NaN'],
    ['consecutiveFailures', '1'],
    ['failingSince', 0],
    ['failingAlerted', 'false'],
    ['lastFailure', 503],
    ['staleSince', 'soon'],
    ['staleNotified', null],
    ['runwayWarned', 1],
    ['updatedAt', undefined],
    ['critical', '-'],
    ['zeroWarned', 'no'],
    ['episode', -2],
    ['episodeKind', 'panic'],
    ['acknowledgedBy', 7],
    ['acknowledgedAt', 'now'],
    ['snoozedUntil', 'tomorrow'],
    ['snoozedBy', false],
  ])('GIVEN a stored %s of %j THEN the state is refused, naming the field', (field, value) => {
    const state = { ...stored(), [field]: value };
    const problem = readAlertState(state, 'kimi');
    expect(typeof problem).toBe('string');
    expect(problem).toMatch(new RegExp(`^${field}: `));
  });

  it('GIVEN a version 1 state (one level) THEN it loads, upgraded: default critical level, its episode open, nothing acknowledged or snoozed', () => {
    expect(readAlertState(storedV1(), 'kimi')).toEqual({
      ...stored(),
      critical: '2.5',
      zeroWarned: false,
      episode: 0,
      episodeKind: 'low',
      acknowledgedBy: null,
      acknowledgedAt: null,
      snoozedUntil: null,
      snoozedBy: null,
    });
    // A version 1 state is still checked field by field, and for its provider.
    expect(readAlertState({ ...storedV1(), balance: 'critical' }, 'kimi')).toMatch(/^balance: /);
    expect(readAlertState(storedV1(), 'claude')).toBe('state of kimi, not claude');
    const ok = readAlertState({ ...storedV1(), state: 'ok', balance: 'ok' }, 'kimi');
    expect(ok).toMatchObject({ version: ALERT_STATE_VERSION, episodeKind: null, balance: 'ok' });
  });

  it('GIVEN a version 1 state in the store THEN the AlertStore loads it without a warning', async () => {
    const keyv = new Keyv<string>();
    await keyv.set('kimi', JSON.stringify(storedV1()));
    const logs = captureLogs();
    const store = new AlertStore(keyv, logs.logger);
    expect(await store.load('kimi')).toMatchObject({
      version: ALERT_STATE_VERSION,
      critical: '2.5',
      state: 'low',
    });
    expect(logs.text()).not.toMatch(/"level":(40|50)/);
  });

  it('GIVEN a field missing, or not an object at all THEN it is refused', () => {
    const { staleSince: _, ...missing } = stored();
    expect(readAlertState(missing, 'kimi')).toMatch(/^staleSince: /);
    expect(readAlertState(null, 'kimi')).toMatch(/^state: /);
    expect(readAlertState('low', 'kimi')).toMatch(/^state: /);
  });
});

describe('AlertStore reading what the store holds', () => {
  const setup = async (raw: string | null) => {
    const keyv = new Keyv<string>();
    if (raw !== null) await keyv.set('kimi', raw);
    const logs = captureLogs('info');
    return { keyv, logs, store: new AlertStore(keyv, logs.logger) };
  };

  it('GIVEN a valid stored state THEN it is loaded and kept as the process copy, with no warning', async () => {
    const { store, logs } = await setup(JSON.stringify(stored()));
    const state = await store.load('kimi');
    expect(state).toEqual(stored());
    expect(store.peek('kimi')).toEqual(stored());
    expect(logs.lines).toEqual([]);
  });

  it.each([
    ['not JSON', '{"version":', 'not JSON'],
    ['another version', JSON.stringify({ ...stored(), version: 0 }), 'version: '],
    ['a field of the wrong kind', JSON.stringify({ ...stored(), reminders: 'two' }), 'reminders: '],
    [
      "another provider's state",
      JSON.stringify({ ...stored(), provider: 'claude' }),
      'state of claude, not kimi',
    ],
  ])('GIVEN %s in the store THEN it logs why at warn and starts over', async (_case, raw, problem) => {
    const { store, logs } = await setup(raw);
    expect(await store.load('kimi')).toBeNull();
    expect(store.peek('kimi')).toBeNull();
    expect(logs.lines).toHaveLength(1);
    const line = JSON.parse(logs.lines[0]!) as {
      level: number;
      provider: string;
      problem: string;
      msg: string;
    };
    expect(line).toMatchObject({
      level: 40,
      provider: 'kimi',
      msg: 'stored alert state is unreadable or from another version; starting over',
    });
    expect(line.problem).toContain(problem);
  });

  it('GIVEN a state that replaced an unreadable one THEN the next load reads it', async () => {
    const { store } = await setup('garbage');
    expect(await store.load('kimi')).toBeNull();
    expect(await store.save(stored() as unknown as AlertState)).toBe(true);
    expect(await store.load('kimi')).toEqual(stored());
  });
});
