import { describe, expect, it } from 'vitest';
import { futureRows, interpretRows, parseTimestampAsUtc } from '../../src/adapters/providers/claude.js';
import { amountToText } from '../../src/core/money.js';

/**
 * The Claude module's row parsing without a database: rows as pg hands them over with the module's type
 * parsers (numbers as the exact text Postgres sent, `timestamptz` as Date). The Postgres suites
 * (test/integration/claude*.test.ts) cover the same rules end to end; these pin each branch for mutation testing.
 */
const AT = new Date('2026-01-29T09:00:00.000Z');

const ok = (outcome: ReturnType<typeof interpretRows>) => {
  if (!outcome.ok) throw new Error(`expected a reading, got: ${outcome.reason}`);
  return outcome;
};
const reason = (outcome: ReturnType<typeof interpretRows>) => {
  if (outcome.ok) throw new Error('expected a failure');
  return outcome.reason;
};

describe('Claude rows → reading', () => {
  it('GIVEN a row with numeric text and a time THEN the exact amount, as of that time, without warnings', () => {
    const r = ok(interpretRows([{ available_balance: '52.1234', updated_at: AT }]));
    expect(amountToText(r.available)).toBe('52.1234');
    expect(r.asOf).toEqual(AT);
    expect(r.warnings).toBeUndefined();
  });

  it('GIVEN several rows THEN only the first (the query orders newest first) is read', () => {
    const r = ok(
      interpretRows([
        { available_balance: '1', updated_at: AT },
        { available_balance: 'garbage', updated_at: 'garbage' },
      ]),
    );
    expect(amountToText(r.available)).toBe('1');
  });

  it('GIVEN a number instead of text (a driver without the parsers) THEN it is read through its text', () => {
    expect(amountToText(ok(interpretRows([{ available_balance: 7.5, updated_at: AT }])).available)).toBe(
      '7.5',
    );
  });

  it('GIVEN a NULL or missing updated_at THEN a reading of unknown age (asOf null), never epoch 0', () => {
    expect(ok(interpretRows([{ available_balance: '5', updated_at: null }])).asOf).toBeNull();
    expect(ok(interpretRows([{ available_balance: '5' }])).asOf).toBeNull();
  });

  it('GIVEN no rows THEN it says the table is empty, naming future rows when those were ignored', () => {
    expect(reason(interpretRows([]))).toBe('claude_api_usage has no rows');
    expect(reason(interpretRows([], { count: 2, latest: new Date('2027-01-01T00:00:00Z') }))).toBe(
      'claude_api_usage has no rows dated up to now; ignored 2 claude_api_usage rows dated more than 5 minutes in the future (latest 2027-01-01 00:00 UTC)',
    );
  });

  it('GIVEN a NULL or missing balance THEN it says so', () => {
    const expected = 'latest claude_api_usage row has no available_balance (NULL)';
    expect(reason(interpretRows([{ available_balance: null, updated_at: AT }]))).toBe(expected);
    expect(reason(interpretRows([{ updated_at: AT }]))).toBe(expected);
  });

  it('GIVEN a balance that is not a number THEN it quotes it on one line, cut to 40 characters', () => {
    expect(reason(interpretRows([{ available_balance: 'NaN', updated_at: AT }]))).toBe(
      'latest claude_api_usage row has an available_balance that is not a number (NaN)',
    );
    const long = `${'x'.repeat(30)}\n${'y'.repeat(30)}`;
    const text = reason(interpretRows([{ available_balance: long, updated_at: AT }]));
    expect(text).toMatch(
      /^latest claude_api_usage row has an available_balance that is not a number \(x+ y+…\)$/,
    );
    expect(text).not.toContain('\n');
    expect(/\((.*)\)$/.exec(text)?.[1]).toHaveLength(40);
  });

  it.each(['Infinity', '-Infinity', '+inf', 'INF'])('GIVEN %s THEN it is implausible, not malformed', (v) => {
    expect(reason(interpretRows([{ available_balance: v, updated_at: AT }]))).toBe(
      `implausible amount: available ${v} (no real balance reaches 1e15)`,
    );
  });

  it('GIVEN a word that only contains "inf" THEN it is malformed, not implausible', () => {
    expect(reason(interpretRows([{ available_balance: 'infinite', updated_at: AT }]))).toContain(
      'is not a number (infinite)',
    );
    expect(reason(interpretRows([{ available_balance: 'xinf', updated_at: AT }]))).toContain(
      'is not a number (xinf)',
    );
  });

  it('GIVEN an updated_at that is not a valid time THEN it quotes it', () => {
    expect(reason(interpretRows([{ available_balance: '5', updated_at: new Date(Number.NaN) }]))).toBe(
      'latest claude_api_usage row has an updated_at that is not a point in time (Invalid Date)',
    );
    expect(reason(interpretRows([{ available_balance: '5', updated_at: 'infinity' }]))).toBe(
      'latest claude_api_usage row has an updated_at that is not a point in time (infinity)',
    );
  });

  it('GIVEN future rows beside a good row THEN the reading carries one warning naming them', () => {
    const one = ok(
      interpretRows([{ available_balance: '5', updated_at: AT }], {
        count: 1,
        latest: new Date('2026-02-01T12:34:00Z'),
      }),
    );
    expect(one.warnings).toEqual([
      'ignored 1 claude_api_usage row dated more than 5 minutes in the future (latest 2026-02-01 12:34 UTC)',
    ]);
    const odd = ok(
      interpretRows([{ available_balance: '5', updated_at: AT }], { count: 3, latest: 'infinity' }),
    );
    expect(odd.warnings).toEqual([
      'ignored 3 claude_api_usage rows dated more than 5 minutes in the future (latest infinity)',
    ]);
    const invalid = ok(
      interpretRows([{ available_balance: '5', updated_at: AT }], { count: 2, latest: new Date(Number.NaN) }),
    );
    expect(invalid.warnings?.[0]).toContain('(latest Invalid Date)');
  });

  it('GIVEN the future-rows query row THEN its count and latest are read; anything else is no rows', () => {
    const latest = new Date('2026-02-01T00:00:00Z');
    expect(futureRows({ future_rows: '4', latest })).toEqual({ count: 4, latest });
    expect(futureRows({ future_rows: 2, latest: null })).toEqual({ count: 2, latest: null });
    expect(futureRows(undefined)).toEqual({ count: 0, latest: undefined });
    expect(futureRows({ future_rows: null })).toEqual({ count: 0, latest: undefined });
    expect(futureRows({ future_rows: 'many' })).toEqual({ count: 0, latest: undefined });
  });

  it('GIVEN timestamp text without a zone THEN it is read as UTC, fractions cut to ms, anything else invalid', () => {
    expect(parseTimestampAsUtc('2026-01-29 09:00:00')).toEqual(AT);
    expect(parseTimestampAsUtc('2026-01-29 09:00:00.1239')).toEqual(new Date('2026-01-29T09:00:00.123Z'));
    for (const odd of ['infinity', '2026-01-29T09:00:00', ' 2026-01-29 09:00:00', '2026-01-29 09:00:00 BC'])
      expect(Number.isNaN(parseTimestampAsUtc(odd).getTime())).toBe(true);
  });
});
