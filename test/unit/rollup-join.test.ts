import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chartPoints,
  coarsen,
  digestOfRow,
  HOUR_MS,
  joinRollupRows,
  rollupChartPoints,
  rowFromDigest,
} from '../../src/adapters/storage/rollups.js';
import { digestObservations, joinDigests } from '../../src/core/digest.js';
import type { Observation } from '../../src/core/forecast.js';
import { Big } from '../../src/core/money.js';

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const T0 = Date.UTC(2026, 0, 1);

/** An amount in units of 10^-decimals: whole dollars, cents, or the odd long fraction (`$1e-07` imports). */
const amount = fc
  .tuple(
    // Mostly a few values, so ties (a minimum reached twice) are common.
    fc.oneof(
      { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 9 },
      { arbitrary: fc.integer({ min: -50_000_000, max: 50_000_000 }), weight: 1 },
    ),
    fc.oneof(
      { arbitrary: fc.constant(2), weight: 6 },
      { arbitrary: fc.constantFrom(0, 4, 7, 13), weight: 1 },
    ),
  )
  .map(([units, decimals]) => new Big(units).div(new Big(10).pow(decimals)));

/** Hours of readings, some empty (failures only), as the store keeps them: one roll-up row an hour. */
const hours = fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 11 }), amount), { maxLength: 8 }), {
  minLength: 0,
  maxLength: 30,
});

function rows(spec: [number, Big][][], from = T0) {
  return spec.map((readings, h) => {
    const start = from + h * HOUR_MS;
    const byMinute = new Map<number, Big>();
    for (const [slot, value] of readings) byMinute.set(slot, value);
    const obs: Observation[] = [...byMinute.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([slot, value]) => ({ asOf: new Date(start + slot * 300_000), available: value }));
    return rowFromDigest('kimi', start, digestObservations(obs, obs.length), 1, 'USD');
  });
}

describe('joinRollupRows', () => {
  it('GIVEN any run of hourly roll-ups THEN the integer join equals joining each row’s digest', () => {
    fc.assert(
      fc.property(hours, (spec) => {
        const r = rows(spec);
        const expected = joinDigests(r.map((row) => digestOfRow(row, HOUR_MS)));
        expect(plain(joinRollupRows(r, HOUR_MS))).toEqual(plain(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('GIVEN any run of a monthly budget’s hourly roll-ups across the 1st THEN the integer join equals the digests’ join, and the change across it is neither spend nor a top-up', () => {
    // The hours from 20:00 on Dec 31: the 5th row onwards is January.
    const from = T0 - 4 * HOUR_MS;
    fc.assert(
      fc.property(hours, (spec) => {
        const r = rows(spec, from);
        const expected = joinDigests(
          r.map((row) => digestOfRow(row, HOUR_MS)),
          'monthly-budget',
        );
        expect(plain(joinRollupRows(r, HOUR_MS, 'monthly-budget'))).toEqual(plain(expected));
      }),
      { numRuns: 300 },
    );
    // $2 left at 23:00 on Dec 31, $199 at 01:00 on Jan 1, then $198: only the last $1 is spend.
    const r = rows(
      [
        [],
        [],
        [],
        [[0, new Big(2)]],
        [],
        [
          [0, new Big(199)],
          [6, new Big(198)],
        ],
      ],
      from,
    );
    const budget = joinRollupRows(r, HOUR_MS, 'monthly-budget');
    expect([budget?.spend.toFixed(), budget?.topUps]).toEqual(['1', []]);
    const balance = joinRollupRows(r, HOUR_MS);
    expect([balance?.spend.toFixed(), balance?.topUps.map((t) => t.amount.toFixed())]).toEqual([
      '1',
      ['197'],
    ]);
  });

  it('GIVEN any run of hourly roll-ups and any number of chart buckets THEN the integer chart points equal those of the digests', () => {
    fc.assert(
      fc.property(hours, fc.integer({ min: 1, max: 12 }), (spec, buckets) => {
        const r = rows(spec);
        const digests = r.map((row) => digestOfRow(row, HOUR_MS)).filter((d) => d !== null);
        const expected = chartPoints(coarsen(digests, Math.ceil(digests.length / buckets)));
        expect(plain(rollupChartPoints(r, buckets))).toEqual(plain(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('GIVEN amounts too long for a safe integer THEN it falls back to the decimal join and stays exact', () => {
    const big = new Big('123456789012345.6789');
    const r = rows([[[0, big]], [[0, big.minus('0.0001')]], [[3, big.plus(5)]]]);
    const joined = joinRollupRows(r, HOUR_MS);
    expect(joined?.spend.toFixed()).toBe('0.0001');
    expect(joined?.topUps.map((t) => t.amount.toFixed())).toEqual(['5.0001']);
    expect(plain(joined)).toEqual(plain(joinDigests(r.map((row) => digestOfRow(row, HOUR_MS)))));
  });

  it('GIVEN rows with failures only THEN they add nothing, and none at all is no digest', () => {
    const r = rows([[], [[1, new Big('2.5')]], [], [[2, new Big('2')]], []]);
    const joined = joinRollupRows(r, HOUR_MS);
    expect(joined?.observations).toBe(2);
    expect(joined?.spend.toFixed()).toBe('0.5');
    expect(joined?.marks).toEqual([T0 + HOUR_MS + 300_000, T0 + 3 * HOUR_MS + 600_000]);
    expect(joinRollupRows(rows([[], []]), HOUR_MS)).toBeNull();
    expect(joinRollupRows([], HOUR_MS)).toBeNull();
  });
});
