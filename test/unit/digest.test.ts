import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestObservations, joinDigests } from '../../src/core/digest.js';
import type { Observation } from '../../src/core/forecast.js';
import { Big } from '../../src/core/money.js';

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** Sorted distinct observations: cents that rise and fall, with repeats of the same value. */
const observations = fc
  .array(fc.integer({ min: -5000, max: 5000 }), { minLength: 1, maxLength: 60 })
  .map((cents): Observation[] =>
    cents.map((c, i) => ({
      asOf: new Date(1_700_000_000_000 + i * 300_000),
      available: new Big(c).div(100),
    })),
  );

describe('digest', () => {
  it('GIVEN any run of observations split anywhere THEN joining the pieces gives the digest of the whole', () => {
    fc.assert(
      fc.property(observations, fc.array(fc.nat(), { maxLength: 6 }), (obs, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (obs.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at, obs.length]
          .slice(1)
          .map((end, i, ends) => obs.slice(i === 0 ? 0 : ends[i - 1], end));
        const joined = joinDigests(pieces.map((p) => digestObservations(p, p.length)));
        expect(plain(joined)).toEqual(plain(digestObservations(obs, obs.length)));
      }),
    );
  });

  it('GIVEN a fall across the join and a rise inside the right piece THEN spend counts the fall and the rise is a top-up at its time', () => {
    const o = (minute: number, value: string): Observation => ({
      asOf: new Date(Date.UTC(2026, 0, 1, 0, minute)),
      available: new Big(value),
    });
    const left = digestObservations([o(0, '10'), o(5, '9')], 2);
    const right = digestObservations([o(60, '8.5'), o(65, '20')], 2);
    const d = joinDigests([left, null, right]);
    expect(d?.spend.toFixed(2)).toBe('1.50');
    expect(d?.topUps.map((t) => [t.at.toISOString(), t.amount.toFixed(2)])).toEqual([
      ['2026-01-01T01:05:00.000Z', '11.50'],
    ]);
    expect(d?.min.available.toFixed(2)).toBe('8.50');
    expect(d?.observations).toBe(4);
  });

  it('GIVEN a monthly budget THEN the change across the 1st, up or down, is neither spend nor a top-up; a rise inside the month still is one', () => {
    const o = (iso: string, value: string): Observation => ({
      asOf: new Date(iso),
      available: new Big(value),
    });
    const nov = [o('2026-11-30T22:00:00Z', '10'), o('2026-11-30T23:00:00Z', '9')];
    const dec = [
      o('2026-12-01T01:00:00Z', '150'),
      o('2026-12-01T02:00:00Z', '140'),
      o('2026-12-01T03:00:00Z', '145'),
    ];
    // The budget's reset falls ($9 → $150 is the new month), a balance's rise is a top-up.
    const all = [...nov, ...dec];
    const figures = (d: ReturnType<typeof digestObservations>) => [
      d?.spend.toString(),
      d?.topUps.map((t) => [t.at.toISOString(), t.amount.toString()]),
    ];
    expect(figures(digestObservations(all, 5, 'monthly-budget'))).toEqual([
      '11',
      [['2026-12-01T03:00:00.000Z', '5']],
    ]);
    expect(figures(digestObservations(all, 5))).toEqual([
      '11',
      [
        ['2026-12-01T01:00:00.000Z', '141'],
        ['2026-12-01T03:00:00.000Z', '5'],
      ],
    ]);
    // Joined across the 1st, as the history joins hours: the same figures.
    expect(
      figures(joinDigests([digestObservations(nov, 2), digestObservations(dec, 3)], 'monthly-budget')),
    ).toEqual(figures(digestObservations(all, 5, 'monthly-budget')));
    // A balance (the default) joined across the 1st: the rise is a top-up, as in one run.
    expect(figures(joinDigests([digestObservations(nov, 2), digestObservations(dec, 3)]))).toEqual(
      figures(digestObservations(all, 5)),
    );
    // A fall across the 1st (more spent on the 1st than was left on the 30th) is no spend either: it is the
    // reset and a new month's spend together, which the budget's cost report gives per day instead.
    const down = [o('2026-11-30T23:00:00Z', '150'), o('2026-12-01T09:00:00Z', '120')];
    expect(figures(digestObservations(down, 2, 'monthly-budget'))).toEqual(['0', []]);
    expect(figures(digestObservations(down, 2))).toEqual(['30', []]);
  });

  it('GIVEN hourly roll-ups joined with raw readings THEN the join keeps the longest grain, whichever comes first', () => {
    const HOUR = 3_600_000;
    const o = (minute: number, value: string): Observation => ({
      asOf: new Date(Date.UTC(2026, 0, 1, 0, minute)),
      available: new Big(value),
    });
    const raw = digestObservations([o(0, '10'), o(5, '9')], 2);
    const hourly = digestObservations([o(60, '8'), o(119, '7')], 30);
    if (raw === null || hourly === null) throw new Error('expected digests');
    const rolled = { ...hourly, grainMs: HOUR };
    expect(joinDigests([raw, rolled])?.grainMs).toBe(HOUR);
    expect(joinDigests([rolled, { ...raw, first: o(120, '10'), last: o(125, '9') }])?.grainMs).toBe(HOUR);
    expect(joinDigests([raw, { ...raw, first: o(10, '9'), last: o(15, '9') }])?.grainMs).toBe(0);
    expect(joinDigests([null, null])).toBeNull();
  });

  it('GIVEN a monthly budget’s observations over months split anywhere THEN joining the pieces gives the digest of the whole', () => {
    // Observations 5 hours apart around the turn of the year, so month boundaries fall inside and at joins.
    const months = observations.map((obs) =>
      obs.map((x, i) => ({ ...x, asOf: new Date(Date.UTC(2026, 11, 31, 12) + i * 5 * 3_600_000) })),
    );
    fc.assert(
      fc.property(months, fc.array(fc.nat(), { maxLength: 6 }), (obs, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (obs.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at, obs.length]
          .slice(1)
          .map((end, i, ends) => obs.slice(i === 0 ? 0 : ends[i - 1], end));
        const joined = joinDigests(
          pieces.map((p) => digestObservations(p, p.length, 'monthly-budget')),
          'monthly-budget',
        );
        expect(plain(joined)).toEqual(plain(digestObservations(obs, obs.length, 'monthly-budget')));
      }),
    );
  });
});
