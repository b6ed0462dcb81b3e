import { describe, expect, it } from 'vitest';
import type { AlertState } from '../../src/core/alerts/engine.js';
import {
  canonicalTimeZone,
  type HeldAlert,
  heldMessage,
  makeQuietHours,
  parseClock,
  quietWindow,
} from '../../src/core/alerts/quiet-hours.js';

const BERLIN = { from: '22:00', to: '07:00', timeZone: 'Europe/Berlin' };
const at = (iso: string) => new Date(iso);

const held = (over: Partial<HeldAlert> = {}): HeldAlert => ({
  id: 'kimi/2030-02-01T00:00:00.000Z#3/low',
  provider: 'kimi',
  kind: 'low',
  episode: 4,
  at: '2030-02-01T22:10:00.000Z',
  window: '2030-02-02 22:00-07:00 Europe/Berlin',
  discord: '🌙 ⚠️ Kimi credits low! **$4.80** available (threshold: $5.00) · recovers at $5.50',
  text: '🌙 ⚠️ Kimi credits low! $4.80 available (threshold: $5.00) · recovers at $5.50',
  ...over,
});

const state = (episode: number, open: boolean): AlertState =>
  ({ episode, episodeKind: open ? 'low' : null, acknowledgedAt: null, snoozedUntil: null }) as AlertState;

describe('quiet hours: parsing what an admin types', () => {
  it('GIVEN times of day THEN HH:MM and H:MM are read; anything else is not', () => {
    expect(parseClock('22:00')).toBe(1320);
    expect(parseClock('7:05')).toBe(425);
    expect(parseClock('00:00')).toBe(0);
    for (const bad of ['24:00', '7', '07:60', '7pm', '', '07:00:00', '-1:00'])
      expect(parseClock(bad)).toBeNull();
  });

  it('GIVEN IANA names THEN they are canonical; GIVEN hostile or unknown text THEN it is refused before Intl sees it', () => {
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    // Three parts are a zone name too (ICU may answer with its own spelling of the same zone).
    expect(canonicalTimeZone('America/Argentina/Buenos_Aires')).toMatch(
      /^America\/(Argentina\/)?Buenos_Aires$/,
    );
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    for (const bad of [
      'Mars/Olympus_Mons',
      '../../etc/passwd',
      'Europe/Ber\nlin',
      '<@&123456789012345678>',
      '+05:00',
      'Europe/Berlin; DROP TABLE kv',
      `Europe/${'A'.repeat(200)}`,
      '',
    ])
      expect(canonicalTimeZone(bad)).toBeNull();
  });

  it('GIVEN a window THEN it is stored canonical with who set it; GIVEN an empty window or a bad zone THEN it says why', () => {
    const now = at('2030-02-01T12:00:00Z');
    expect(makeQuietHours({ from: '22:00', to: '7:00', timeZone: 'europe/berlin' }, 'ops (1)', now)).toEqual({
      from: '22:00',
      to: '07:00',
      timeZone: 'Europe/Berlin',
      setBy: 'ops (1)',
      setAt: now.toISOString(),
    });
    expect(makeQuietHours({ from: '22:00', to: '22:00', timeZone: 'UTC' }, 'x', now)).toContain('empty');
    expect(makeQuietHours({ from: '10pm', to: '07:00', timeZone: 'UTC' }, 'x', now)).toBe(
      '"10pm" is not a time of day; write it as HH:MM, e.g. 22:00.',
    );
    expect(makeQuietHours({ from: '22:00', to: '07:00', timeZone: 'Mars/`Base`' }, 'x', now)).toBe(
      '"Mars/Base" is not an IANA time zone; write it like Europe/Berlin, America/New_York or UTC.',
    );
  });
});

describe('quiet hours: which window a moment falls in', () => {
  it('GIVEN 22:00–07:00 in Berlin (UTC+1 in winter) THEN both sides of midnight name the window of the morning it ends', () => {
    const key = '2030-02-02 22:00-07:00 Europe/Berlin';
    expect(quietWindow(BERLIN, at('2030-02-01T20:59:00Z'))).toBeNull(); // 21:59 local
    expect(quietWindow(BERLIN, at('2030-02-01T21:00:00Z'))).toBe(key); // 22:00 local
    expect(quietWindow(BERLIN, at('2030-02-01T23:30:00Z'))).toBe(key); // 00:30 local, the next day
    expect(quietWindow(BERLIN, at('2030-02-02T05:59:00Z'))).toBe(key); // 06:59 local
    expect(quietWindow(BERLIN, at('2030-02-02T06:00:00Z'))).toBeNull(); // 07:00 local: over
    // In UTC the same moments are an hour off: 21:30 UTC is quiet in Berlin, not in a UTC window.
    expect(quietWindow({ ...BERLIN, timeZone: 'UTC' }, at('2030-02-01T21:30:00Z'))).toBeNull();
  });

  it('GIVEN summer time THEN the local clock moves with it (UTC+2)', () => {
    expect(quietWindow(BERLIN, at('2030-07-01T20:30:00Z'))).toBe('2030-07-02 22:00-07:00 Europe/Berlin');
    expect(quietWindow(BERLIN, at('2030-07-02T05:00:00Z'))).toBeNull(); // 07:00 local
  });

  it('GIVEN a window within one day THEN it ends the same day; the end of a month rolls over', () => {
    const lunch = { from: '12:00', to: '13:30', timeZone: 'Asia/Tokyo' };
    expect(quietWindow(lunch, at('2030-02-01T03:15:00Z'))).toBe('2030-02-01 12:00-13:30 Asia/Tokyo');
    expect(quietWindow(lunch, at('2030-02-01T04:30:00Z'))).toBeNull();
    expect(quietWindow(BERLIN, at('2030-12-31T22:00:00Z'))).toBe('2031-01-01 22:00-07:00 Europe/Berlin');
  });
});

describe('quiet hours: the one message that delivers what was held', () => {
  it('GIVEN a low alert whose episode is still open and a top-up THEN both are listed oldest first, with the account’s buttons', () => {
    const topup = held({
      id: 'kimi/x#4/topup',
      kind: 'topup',
      at: '2030-02-01T23:00:00.000Z',
      discord: '💰 Kimi topped up +$0.10 (now $4.90)',
      text: '💰 Kimi topped up +$0.10 (now $4.90)',
    });
    const m = heldMessage([topup, held()], new Map([['kimi', state(4, true)]]), BERLIN);
    expect(m.discord).toBe(
      [
        '🔕 **2 alerts held during quiet hours** (22:00–07:00 Europe/Berlin), oldest first:',
        `• <t:${Date.parse(held().at) / 1000}:f> ${held().discord}`,
        `• <t:${Date.parse(topup.at) / 1000}:f> 💰 Kimi topped up +$0.10 (now $4.90)`,
      ].join('\n'),
    );
    expect(m.text).toContain('- 2030-02-01 22:10 UTC 🌙 ⚠️ Kimi credits low! $4.80');
    expect(m.subject).toBe('[creditwatch] 2 alerts held during quiet hours');
    expect(JSON.stringify(m.components)).toContain('"custom_id":"alert|ack|kimi|4"');
  });

  it('GIVEN the episode ended before the window closed THEN the alert is marked over and carries no buttons', () => {
    const m = heldMessage([held()], new Map([['kimi', state(5, false)]]), BERLIN);
    expect(m.discord).toContain('· _over before the window ended_');
    expect(m.text).toContain('(over before the window ended)');
    expect(m.components).toEqual([]);
  });

  it('GIVEN two accounts with open episodes THEN each button names its account', () => {
    const claude = held({ id: 'claude/x#1/low', provider: 'claude', episode: 2 });
    const m = heldMessage(
      [held(), claude],
      new Map([
        ['kimi', state(4, true)],
        ['claude', state(2, true)],
      ]),
      BERLIN,
    );
    const labels = JSON.stringify(m.components);
    expect(labels).toContain('"label":"Acknowledge Kimi"');
    expect(labels).toContain('"label":"Acknowledge Claude"');
  });

  it('GIVEN more held alerts than Discord allows in one message THEN it stays within 2000 characters and says how many were left out', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      held({
        id: `kimi/x#${i}/reminder`,
        kind: 'reminder',
        at: new Date(Date.UTC(2030, 1, 1, 22, i)).toISOString(),
      }),
    );
    const m = heldMessage(many, new Map([['kimi', state(4, true)]]), BERLIN);
    expect(m.discord.length).toBeLessThanOrEqual(2000);
    expect(m.omitted).toBeGreaterThan(0);
    expect(m.discord.endsWith(`… and ${m.omitted} more (see /alerts status)`)).toBe(true);
    expect(m.text.split('\n')).toHaveLength(41);
  });
});
