import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/core/config.js';

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNITS;

describe('parseDuration (the README forms: 500ms, 90s, 15m, 6h, 1d; a bare number is the default unit)', () => {
  it('GIVEN each documented form THEN the milliseconds it names', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('6h')).toBe(21_600_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('5000', 'ms')).toBe(5000);
    expect(parseDuration(' 1.5H ')).toBe(5_400_000);
    expect(parseDuration('0.0004s')).toBe(0);
  });

  it('GIVEN text that is not a duration THEN null, never a number', () => {
    for (const bad of [
      '',
      ' ',
      'h',
      '6 hours',
      '-5m',
      '1e3s',
      '1.s',
      '.5h',
      '6hh',
      '5w',
      'NaN',
      '6h30m',
      '0x10',
    ]) {
      expect(parseDuration(bad), bad).toBeNull();
    }
  });

  it('PROPERTY: a whole number with any unit, in any case and spacing, is that many units', () => {
    const unit = fc.constantFrom<Unit>('ms', 's', 'm', 'h', 'd');
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), unit, fc.boolean(), fc.boolean(), (n, u, upper, spaced) => {
        const text = `${spaced ? ' ' : ''}${n}${spaced ? ' ' : ''}${upper ? u.toUpperCase() : u}${spaced ? ' ' : ''}`;
        expect(parseDuration(text)).toBe(n * UNITS[u]);
      }),
    );
  });

  it('PROPERTY: a decimal is rounded to the nearest millisecond; a bare number takes the default unit', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 999 }),
        fc.constantFrom<'ms' | 's'>('ms', 's'),
        (i, f, def) => {
          const text = `${i}.${String(f).padStart(3, '0')}`;
          expect(parseDuration(text, def)).toBe(Math.round(Number(text) * UNITS[def]));
          expect(parseDuration(`${text}m`, def)).toBe(Math.round(Number(text) * UNITS.m));
        },
      ),
    );
  });

  it('PROPERTY: anything with a character outside digits, point, space and unit letters is refused', () => {
    const junk = fc.string({ minLength: 1 }).filter((s) => /[^0-9.\sMSHDmshd]/.test(s));
    fc.assert(
      fc.property(junk, (s) => {
        expect(parseDuration(s)).toBeNull();
      }),
    );
  });
});
