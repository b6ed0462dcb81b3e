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
});
