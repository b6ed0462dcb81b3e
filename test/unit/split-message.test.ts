import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capText, DISCORD_CONTENT_LIMIT, oneLine, splitMessage } from '../../src/core/format.js';
import { lateLine } from '../../src/entry/jobs/slot-post.js';
import { summaryNonce } from '../../src/entry/jobs/summary.js';

describe('splitting and capping outgoing text', () => {
  it('GIVEN a summary that fits THEN it comes back unchanged, as one message', () => {
    const text = '📊 **API Balance Summary**\n\n💳 **Claude:** $8.07 (threshold: $5.00)\n\nRuns every hour';
    expect(splitMessage(text)).toEqual([text]);
  });

  it('GIVEN a line of 2,100 digits (an absurd amount) THEN that line is cut with an ellipsis and the others stay whole', () => {
    const huge = `💳 **Claude:** $1${'0'.repeat(2100)}.00 (threshold: $5.00)`;
    const kimi = '🌙 **Kimi:** $12.34 available (threshold: $5.00)';
    const parts = splitMessage(['📊 **API Balance Summary**', '', huge, kimi].join('\n'));
    const all = parts.join('\n');
    expect(all).toContain(kimi);
    expect(all).toContain('💳 **Claude:** $1000');
    expect(all).toContain('…');
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
  });

  it('GIVEN any text THEN every part fits, and the parts hold its lines in order (long ones cut)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 900, unit: 'grapheme' }), { maxLength: 30 }), (lines) => {
        const text = lines.join('\n');
        const parts = splitMessage(text);
        for (const p of parts) expect(p.length).toBeLessThanOrEqual(DISCORD_CONTENT_LIMIT);
        const kept = parts.join('\n').split('\n');
        const expected = lines.map((l) => capText(l, 500)).filter((l) => l.trim() !== '');
        expect(kept.filter((l) => l.trim() !== '')).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('GIVEN text over the limit THEN exact parts: cut at line boundaries, each as full as it can be, blank edges dropped', () => {
    const line = (c: string) => c.repeat(9);
    // limit 20, maxLine 20: two 9-character lines and their newline fill a part (19).
    expect(splitMessage([line('a'), line('b'), line('c'), '', line('d')].join('\n'), 20)).toEqual([
      `${line('a')}\n${line('b')}`,
      `${line('c')}\n\n${line('d')}`,
    ]);
    // A blank line where a part ends is dropped, and none starts a part.
    expect(splitMessage([line('a'), line('b'), '', '', line('c')].join('\n'), 20)).toEqual([
      `${line('a')}\n${line('b')}`,
      line('c'),
    ]);
    // A text within the limit but with a line over maxLine: one part, that line cut.
    expect(splitMessage(`ok\n${'x'.repeat(30)}`, 100, 10)).toEqual([`ok\n${'x'.repeat(9)}…`]);
    // Exactly at the limit, and exactly at maxLine: unchanged.
    expect(splitMessage('y'.repeat(20), 20)).toEqual(['y'.repeat(20)]);
    expect(splitMessage('z'.repeat(10), 20, 10)).toEqual(['z'.repeat(10)]);
    // maxLine defaults to the smaller of 500 and the limit.
    expect(splitMessage('w'.repeat(30), 20)).toEqual([`${'w'.repeat(19)}…`]);
    // Nothing but blank lines over the limit: one capped part, never none.
    expect(splitMessage(' \n'.repeat(30), 20)).toEqual([`${' \n'.repeat(9)} …`]);
  });

  it('GIVEN a cut after the lowest or highest high surrogate THEN the pair is kept whole', () => {
    for (const pair of ['\ud800\udc00', '\udbff\udfff']) {
      expect(capText(`abc${pair}xyz`, 5)).toBe('abc…');
      expect(capText(`abc${pair}xyz`, 6)).toBe(`abc${pair}…`);
    }
    // A low surrogate or an ordinary character before the cut is not held back.
    expect(capText('abcdefgh', 5)).toBe('abcd…');
  });

  it('GIVEN a cut right after an emoji half THEN the surrogate pair is not split', () => {
    const text = `${'a'.repeat(8)}😀😀`;
    expect(capText(text, 10)).toBe(`${'a'.repeat(8)}…`);
    expect(capText(text, 11)).toBe(`${'a'.repeat(8)}😀…`);
  });

  it('GIVEN a slot THEN its nonce fits Discord (25 characters) and is the same on every call', () => {
    const slot = new Date('2026-12-01T10:00:00Z');
    expect(summaryNonce(slot, 0)).toBe(summaryNonce(new Date(slot), 0));
    expect(summaryNonce(slot, 12).length).toBeLessThanOrEqual(25);
    expect(summaryNonce(slot, 0)).not.toBe(summaryNonce(slot, 1));
    expect(lateLine('the bot was down', slot)).toBe(
      `🕒 posted late: the bot was down at <t:${slot.getTime() / 1000}:f>`,
    );
  });
});

describe('oneLine', () => {
  it('GIVEN line breaks, tabs, control characters and runs of spaces THEN one space each, the ends trimmed', () => {
    expect(oneLine(' a\r\n\tb\u0000\u0007c  \u007fd \n')).toBe('a b c d');
    expect(oneLine('no change')).toBe('no change');
  });

  it('GIVEN more than max characters THEN cut to max with an ellipsis; at max, unchanged', () => {
    expect(oneLine('abcdef', 6)).toBe('abcdef');
    expect(oneLine('abcdefg', 6)).toBe('abcde…');
    expect(oneLine('a  b  c', 4)).toBe('a b…');
  });

  it('PROPERTY: never a line break, never longer than max', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.integer({ min: 2, max: 40 }), (text, max) => {
        const out = oneLine(text, max);
        expect(out).not.toMatch(/[\r\n]/);
        expect(out.length).toBeLessThanOrEqual(max);
      }),
    );
  });
});
