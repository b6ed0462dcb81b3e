import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capText, DISCORD_CONTENT_LIMIT, oneLine, splitMessage } from '../../src/format.js';
import { lateLine, summaryNonce } from '../../src/jobs/summary.js';

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
      '🕒 posted late: the bot was down at 2026-12-01 10:00 UTC',
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
