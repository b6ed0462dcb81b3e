import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTime, formatUtc, utcClock, utcMonthDay, utcTimestamp } from '../../src/core/format.js';

describe('UTC formatting (the one module every caller uses)', () => {
  const at = new Date('2026-01-29T09:05:07.999Z');

  it('GIVEN a moment THEN each form shows its fields in UTC, floored', () => {
    expect(utcTimestamp(at)).toBe('2026-01-29 09:05:07');
    expect(formatUtc(at)).toBe('2026-01-29 09:05 UTC');
    expect(utcClock(at)).toBe('09:05');
    expect(utcMonthDay(at)).toBe('01-29');
  });

  it('GIVEN seconds asked for THEN they show only when the moment has them', () => {
    expect(formatUtc(at, { seconds: true })).toBe('2026-01-29 09:05:07 UTC');
    expect(formatUtc(new Date('2026-12-01T10:00:00.500Z'), { seconds: true })).toBe('2026-12-01 10:00 UTC');
    expect(formatUtc(new Date('2026-12-01T10:00:30Z'), { seconds: false })).toBe('2026-12-01 10:00 UTC');
  });

  it('PROPERTY: every form is a piece of the same UTC timestamp, never after the moment', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        (d) => {
          const stamp = utcTimestamp(d);
          expect(stamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          expect(new Date(`${stamp.replace(' ', 'T')}Z`).getTime()).toBe(
            Math.floor(d.getTime() / 1000) * 1000,
          );
          expect(formatUtc(d)).toBe(`${stamp.slice(0, 16)} UTC`);
          expect(`${utcMonthDay(d)} ${utcClock(d)}`).toBe(stamp.slice(5, 16));
        },
      ),
    );
  });

  it('GIVEN a target THEN Discord gets its timestamp markup (floored to the second) and text gets UTC', () => {
    const unix = Math.floor(at.getTime() / 1000);
    expect(formatTime(at, 'discord')).toBe(`<t:${unix}:f>`);
    expect(formatTime(at, 'discord', 'ago')).toBe(`<t:${unix}:R>`);
    expect(formatTime(at, 'discord', 'at-ago')).toBe(`<t:${unix}:f> (<t:${unix}:R>)`);
    expect(formatTime(at, 'text')).toBe('2026-01-29 09:05 UTC');
    expect(formatTime(at, 'text', 'at-ago')).toBe('2026-01-29 09:05 UTC');
    expect(formatTime(at, 'text', 'at', { seconds: true })).toBe('2026-01-29 09:05:07 UTC');
  });
});
