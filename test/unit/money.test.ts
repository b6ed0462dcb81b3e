import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  amountToText,
  Big,
  currencySymbol,
  formatMoney,
  isLow,
  parseAmount,
  parseTypedAmount,
} from '../../src/core/money.js';

/** Exact expected text for `cents / 100`, built with bigint arithmetic (no Big, no floats). */
function centsText(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

describe('parseAmount', () => {
  it('GIVEN the decimal shapes providers and logs send THEN it reads each exactly', () => {
    expect(parseAmount('12.30').toFixed()).toBe('12.3');
    expect(parseAmount('  8.07 ').toFixed()).toBe('8.07');
    expect(parseAmount('.55').toFixed()).toBe('0.55');
    expect(parseAmount('5.').toFixed()).toBe('5');
    expect(parseAmount('-1.5').toFixed()).toBe('-1.5');
    expect(parseAmount('1e-07').toFixed()).toBe('0.0000001');
    expect(parseAmount('1E5').toFixed()).toBe('100000');
    expect(parseAmount('2.5e+3').toFixed()).toBe('2500');
    expect(parseAmount(49.58894).toFixed()).toBe('49.58894');
    expect(parseAmount(1e21).toFixed()).toBe('1000000000000000000000');
  });

  it('GIVEN a leading plus sign THEN it is a positive amount, not an error', () => {
    // The pattern has always admitted `+5`; big.js does not, so this used to throw a plain Error.
    expect(parseAmount('+5').toFixed()).toBe('5');
    expect(parseAmount('+0.25').toFixed()).toBe('0.25');
    expect(parseAmount(' +1e2 ').toFixed()).toBe('100');
  });

  it('GIVEN text that is not a finite decimal THEN it throws a RangeError that quotes the input', () => {
    for (const bad of [
      '',
      ' ',
      'abc',
      '$5',
      '5$',
      'abc5',
      '5abc',
      '1.2.3',
      '1e',
      'e5',
      '--5',
      '+-5',
      '.',
      '0x10',
    ]) {
      expect(() => parseAmount(bad), bad).toThrow(RangeError);
      expect(() => parseAmount(bad), bad).toThrow(`not a decimal number: ${JSON.stringify(bad)}`);
    }
  });

  it('GIVEN a very long bad input THEN the message quotes only its first 40 characters', () => {
    const long = `x${'9'.repeat(100)}`;
    expect(() => parseAmount(long)).toThrow(
      new RangeError(`not a decimal number: ${JSON.stringify(long).slice(0, 40)}`),
    );
  });

  it('GIVEN a number that is not finite THEN it throws a RangeError naming it', () => {
    expect(() => parseAmount(Number.NaN)).toThrow(new RangeError('not a finite number: NaN'));
    expect(() => parseAmount(Number.POSITIVE_INFINITY)).toThrow(
      new RangeError('not a finite number: Infinity'),
    );
    expect(() => parseAmount(Number.NEGATIVE_INFINITY)).toThrow(
      new RangeError('not a finite number: -Infinity'),
    );
  });

  it('PROPERTY: any finite double reads back as the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        expect(parseAmount(d).toNumber()).toBe(d === 0 ? 0 : d);
      }),
    );
  });

  it('PROPERTY: amountToText is exact and parses back to the same amount', () => {
    const decimal = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.nat({ max: 12 }))
      .map(([negative, digits, scale]) => {
        const raw = digits.toString().padStart(scale + 1, '0');
        const text = scale === 0 ? raw : `${raw.slice(0, -scale)}.${raw.slice(-scale)}`;
        return negative ? `-${text}` : text;
      });
    fc.assert(
      fc.property(decimal, (text) => {
        const amount = parseAmount(text);
        const stored = amountToText(amount);
        expect(stored).not.toMatch(/e/i);
        expect(parseAmount(stored).eq(amount)).toBe(true);
        expect(new Big(stored).eq(new Big(text))).toBe(true);
      }),
    );
  });

  it('PROPERTY: text that is neither digits, sign, point nor exponent never parses', () => {
    const junk = fc.string({ minLength: 1 }).filter((s) => /[^0-9eE.+\-\s]/.test(s));
    fc.assert(
      fc.property(junk, (s) => {
        expect(() => parseAmount(s)).toThrow(RangeError);
      }),
    );
  });
});

describe('formatMoney', () => {
  it('GIVEN amounts THEN two decimals, half-up, the symbol after the sign, no negative zero', () => {
    expect(formatMoney(parseAmount('12.3'), 'USD')).toBe('$12.30');
    expect(formatMoney(parseAmount('8'), 'CNY')).toBe('¥8.00');
    expect(formatMoney(parseAmount('-0.5'), 'USD')).toBe('-$0.50');
    expect(formatMoney(parseAmount('0.005'), 'USD')).toBe('$0.01');
    expect(formatMoney(parseAmount('-0.005'), 'USD')).toBe('-$0.01');
    expect(formatMoney(parseAmount('-0.004'), 'USD')).toBe('$0.00');
    expect(formatMoney(parseAmount('1e-07'), 'USD')).toBe('$0.00');
    expect(currencySymbol('USD')).toBe('$');
    expect(currencySymbol('CNY')).toBe('¥');
  });

  it('PROPERTY: whole cents print exactly, with the sign before the symbol', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 14n), max: 10n ** 14n }),
        fc.constantFrom('USD', 'CNY'),
        (cents, cur) => {
          const amount = parseAmount(centsText(cents));
          const symbol = cur === 'USD' ? '$' : '¥';
          const expected = cents < 0n ? `-${symbol}${centsText(-cents)}` : `${symbol}${centsText(cents)}`;
          expect(formatMoney(amount, cur)).toBe(expected);
        },
      ),
    );
  });

  it('PROPERTY: any amount prints within half a cent of itself, and the printed figure parses back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.nat({ max: 8 }), (digits, scale) => {
        const amount = new Big(digits.toString()).div(new Big(10).pow(scale));
        const text = formatMoney(amount, 'USD');
        expect(text).toMatch(/^-?\$\d+\.\d{2}$/);
        const shown = parseAmount(text.replace('$', ''));
        expect(shown.minus(amount).abs().lte('0.005')).toBe(true);
        expect(text.startsWith('-')).toBe(shown.lt(0));
      }),
    );
  });
});

describe('formatMoney, grouped and from numbers (the chart axis)', () => {
  it('GIVEN grouped THEN thousands are separated by commas, the cents never', () => {
    expect(formatMoney(parseAmount('1234567.891'), 'CNY', { grouped: true })).toBe('¥1,234,567.89');
    expect(formatMoney(parseAmount('999.999'), 'USD', { grouped: true })).toBe('$1,000.00');
    expect(formatMoney(parseAmount('123.45'), 'USD', { grouped: true })).toBe('$123.45');
    expect(formatMoney(parseAmount('-1234.5'), 'USD', { grouped: true })).toBe('-$1,234.50');
    expect(formatMoney(parseAmount('1234.5'), 'USD')).toBe('$1234.50');
  });

  it('GIVEN a number THEN it is written like the same decimal', () => {
    expect(formatMoney(12.5, 'USD')).toBe('$12.50');
    expect(formatMoney(-0.25, 'USD')).toBe('-$0.25');
    expect(formatMoney(-0.001, 'USD')).toBe('$0.00');
    expect(formatMoney(0, 'CNY')).toBe('¥0.00');
  });

  it('PROPERTY: grouped is the plain form with commas every three digits of the whole part', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (cents) => {
        const a = new Big(cents.toString()).div(100);
        const plain = formatMoney(a, 'USD');
        const grouped = formatMoney(a, 'USD', { grouped: true });
        expect(grouped.replaceAll(',', '')).toBe(plain);
        expect(grouped).toMatch(/^-?\$\d{1,3}(,\d{3})*\.\d\d$/);
      }),
    );
  });
});

describe('isLow: the one low rule', () => {
  it('GIVEN a balance at, above or below its threshold THEN only strictly below is low', () => {
    expect(isLow(parseAmount('4.99'), parseAmount('5'))).toBe(true);
    expect(isLow(parseAmount('5.00'), parseAmount('5'))).toBe(false);
    expect(isLow(parseAmount('-1'), parseAmount('0'))).toBe(true);
  });
});

describe('parseTypedAmount: the one pattern for amounts people type', () => {
  const rules = { maxDecimals: 2, max: new Big(1000) };
  const problem = (text: string) => {
    const r = parseTypedAmount(text, rules);
    return r.ok ? null : r.problem;
  };

  it('GIVEN plain amounts within the rules THEN they are read exactly', () => {
    for (const [text, value] of [
      ['5', '5'],
      [' 12.50 ', '12.5'],
      ['0', '0'],
      ['1000', '1000'],
      ['1000.00', '1000'],
      ['007.1', '7.1'],
    ] as const) {
      const r = parseTypedAmount(text, rules);
      expect(r.ok && r.amount.toFixed()).toBe(value);
    }
  });

  it('GIVEN each kind of refusal THEN it says which', () => {
    expect(problem('-3')).toEqual({ kind: 'negative' });
    expect(problem('-')).toEqual({ kind: 'negative' });
    expect(problem('$8.07')).toEqual({ kind: 'symbol' });
    expect(problem('USD 8')).toEqual({ kind: 'symbol' });
    expect(problem('+5')).toEqual({ kind: 'symbol' });
    expect(problem('8,07')).toEqual({ kind: 'comma' });
    expect(problem('1000.01')).toEqual({ kind: 'too-large' });
    for (const text of ['', 'eight', '1e3', '.5', '5.', '1.2.3', '8 07', '8.07 USD']) {
      expect(problem(text)).toEqual({ kind: 'not-a-number' });
    }
  });

  it('GIVEN too many decimals THEN it counts them and rounds half-up to the allowed ones, even past max', () => {
    const p = problem('10.555');
    expect(p?.kind).toBe('decimals');
    expect(p?.kind === 'decimals' && [p.decimals, p.rounded.toFixed()]).toEqual([3, '10.56']);
    const q = problem('5000,1234');
    expect(q?.kind === 'decimals' && [q.decimals, q.rounded.toFixed()]).toEqual([4, '5000.12']);
    expect(problem('10.55')).toBeNull();
  });

  it('PROPERTY: any whole number of cents up to max is accepted as itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (cents) => {
        const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
        const r = parseTypedAmount(text, rules);
        expect(r.ok && r.amount.eq(new Big(cents).div(100))).toBe(true);
      }),
    );
  });
});
