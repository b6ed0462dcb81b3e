import { describe, expect, it } from 'vitest';
import type { ParsedLine, ParsedReading } from '../../src/adapters/storage/parse-balance-log.js';
import { parseBalanceLog, parseBalanceLogLine } from '../../src/adapters/storage/parse-balance-log.js';

const utc = (text: string): Date => new Date(`${text.replace(' ', 'T')}Z`);

function expectReading(parsed: ParsedLine): ParsedReading {
  if (parsed.kind !== 'reading') throw new Error(`expected a reading, got ${JSON.stringify(parsed)}`);
  return parsed;
}

describe('parseBalanceLogLine', () => {
  describe('GIVEN a Claude log line', () => {
    it('GIVEN `[ts] Claude: $8.07` THEN it is a Claude reading at that UTC time', () => {
      const reading = expectReading(parseBalanceLogLine('[2026-01-29 09:00:00] Claude: $8.07'));

      expect(reading.provider).toBe('claude');
      expect(reading.at).toEqual(utc('2026-01-29 09:00:00'));
      expect(reading.available.toFixed()).toBe('8.07');
      expect(reading).not.toHaveProperty('voucher');
      expect(reading).not.toHaveProperty('cash');
    });

    it('GIVEN psql padding after the $ THEN the amount is still read', () => {
      const reading = expectReading(parseBalanceLogLine('[2026-01-29 09:00:00] Claude: $     8.07'));

      expect(reading.available.toFixed()).toBe('8.07');
    });

    it.each(['$', '$null', '$   ', '$NULL'])(
      'GIVEN an empty value `%s` THEN it is a failure, not a reading',
      (value) => {
        expect(parseBalanceLogLine(`[2026-01-29 09:00:00] Claude: ${value}`).kind).toBe('failure');
      },
    );

    it('GIVEN our own ERROR line THEN it is a failure carrying the reason', () => {
      const parsed = parseBalanceLogLine('[2026-01-29 09:00:00] Claude: ERROR connection refused');

      expect(parsed).toEqual({ kind: 'failure', reason: 'ERROR connection refused' });
    });

    it('GIVEN a value that is not a number THEN it is unparseable', () => {
      expect(parseBalanceLogLine('[2026-01-29 09:00:00] Claude: $8.07.1').kind).toBe('unparseable');
      expect(parseBalanceLogLine('[2026-01-29 09:00:00] Claude: 8.07').kind).toBe('unparseable');
    });
  });

  describe('GIVEN a Moonshot log line', () => {
    it('GIVEN available, voucher and cash THEN it is a Kimi reading with all three', () => {
      const reading = expectReading(
        parseBalanceLogLine('2026-01-29 09:00:00 | Available: $12.34 | Voucher: $3.45 | Cash: $8.89'),
      );

      expect(reading.provider).toBe('kimi');
      expect(reading.at).toEqual(utc('2026-01-29 09:00:00'));
      expect(reading.available.toFixed()).toBe('12.34');
      expect(reading.voucher?.toFixed()).toBe('3.45');
      expect(reading.cash?.toFixed()).toBe('8.89');
    });

    it('GIVEN exponent-form and negative values THEN they are exact decimals', () => {
      const reading = expectReading(
        parseBalanceLogLine('2026-01-29 09:00:00 | Available: $1e-07 | Voucher: $0.5 | Cash: $-0.4999999'),
      );

      expect(reading.available.toFixed()).toBe('0.0000001');
      expect(reading.cash?.toFixed()).toBe('-0.4999999');
    });

    it('GIVEN a null available THEN it is a failure, not a reading', () => {
      const parsed = parseBalanceLogLine(
        '2026-01-29 09:00:00 | Available: $null | Voucher: $null | Cash: $null',
      );

      expect(parsed.kind).toBe('failure');
    });

    it('GIVEN a null voucher only THEN it is a reading without a voucher', () => {
      const reading = expectReading(
        parseBalanceLogLine('2026-01-29 09:00:00 | Available: $12.34 | Voucher: null | Cash: $12.34'),
      );

      expect(reading).not.toHaveProperty('voucher');
      expect(reading.cash?.toFixed()).toBe('12.34');
    });

    it('GIVEN the combined script `[ts] Moonshot: $12.34` THEN it is a Kimi reading', () => {
      const reading = expectReading(parseBalanceLogLine('[2026-01-29 09:00:00] Moonshot: $12.34'));

      expect(reading.provider).toBe('kimi');
      expect(reading.available.toFixed()).toBe('12.34');
      expect(reading).not.toHaveProperty('voucher');
    });

    it('GIVEN our own `ts | ERROR` line THEN it is a failure carrying the reason', () => {
      expect(parseBalanceLogLine('2026-01-29 09:00:00 | ERROR HTTP 401 from api.moonshot.ai')).toEqual({
        kind: 'failure',
        reason: 'ERROR HTTP 401 from api.moonshot.ai',
      });
    });

    it.each([
      ['no Available field', '2026-01-29 09:00:00 | Voucher: $3.45 | Cash: $8.89'],
      ['an unknown field', '2026-01-29 09:00:00 | Available: $12.34 | Bonus: $1'],
      ['a field named after an Object property', '2026-01-29 09:00:00 | Available: $12.34 | Constructor: $1'],
      ['a repeated field', '2026-01-29 09:00:00 | Available: $12.34 | Available: $1'],
      ['a non-numeric value', '2026-01-29 09:00:00 | Available: $lots'],
      ['free text', '2026-01-29 09:00:00 | hello'],
    ])('GIVEN %s THEN it is unparseable', (_name, line) => {
      expect(parseBalanceLogLine(line).kind).toBe('unparseable');
    });
  });

  it('GIVEN a POSTED line THEN it is counted as posted', () => {
    const line = '[2026-01-29 09:00:00] POSTED: 🌙 Kimi Balance: $12.34 (Voucher: $3.45, Cash: $8.89)';

    expect(parseBalanceLogLine(line)).toEqual({ kind: 'posted' });
  });

  it.each(['', '   ', '\t'])('GIVEN a blank line %j THEN it is blank', (line) => {
    expect(parseBalanceLogLine(line)).toEqual({ kind: 'blank' });
  });

  it.each([
    '[2026-13-45 09:00:00] Claude: $8.07',
    '[2026-02-30 09:00:00] Claude: $8.07',
    '[2026-01-29 24:00:00] Claude: $8.07',
    '2026-13-45 09:00:00 | Available: $12.34 | Voucher: $3.45 | Cash: $8.89',
  ])('GIVEN an impossible date in %j THEN it is unparseable', (line) => {
    const parsed = parseBalanceLogLine(line);

    expect(parsed.kind).toBe('unparseable');
    expect(parsed.kind === 'unparseable' && parsed.reason).toMatch(/invalid timestamp/);
  });

  it.each([
    'garbage',
    '[2026-01-29 09:00:00]',
    '[2026-01-29 09:00:00] OpenAI: $3.00',
    'Claude: $8.07',
    '[2026-01-29] Claude: $8.07',
  ])('GIVEN garbage %j THEN it is unparseable', (line) => {
    expect(parseBalanceLogLine(line).kind).toBe('unparseable');
  });
});

describe('parseBalanceLog', () => {
  const lines = [
    '[2026-01-29 09:00:00] Claude: $8.07',
    '[2026-01-29 10:00:00] Claude: $     7.95',
    '',
    '[2026-01-29 11:00:00] Claude: $',
    '[2026-01-29 12:00:00] Claude: $null',
    '[2026-01-29 13:00:00] Claude: ERROR timeout after 10s',
    '2026-01-29 09:00:00 | Available: $12.34 | Voucher: $3.45 | Cash: $8.89',
    '2026-01-29 10:00:00 | Available: $null | Voucher: $null | Cash: $null',
    '[2026-01-29 10:00:00] POSTED: 🌙 Kimi Balance: $12.34 (Voucher: $3.45, Cash: $8.89)',
    '[2026-01-29 11:00:00] Moonshot: $12.01',
    '2026-01-29 12:00:00 | ERROR HTTP 500',
    'something went wrong',
    '[2026-13-45 09:00:00] Claude: $8.07',
  ];
  const expectedCounts = { readings: 4, posted: 1, failures: 5, unparseable: 2, blank: 1 };
  const expectedProblemLines = [lines.indexOf('something went wrong') + 1, lines.length];

  it('GIVEN every known format THEN it tallies each kind and lists problems by line number', () => {
    const log = parseBalanceLog(`${lines.join('\n')}\n`);

    expect(log.counts).toEqual(expectedCounts);
    expect(log.readingsByFormat).toEqual({ claude: 2, moonshot: 1, fields: 1 });
    expect(log.problems.map((p) => p.line)).toEqual(expectedProblemLines);
    expect(log.problems.every((p) => p.reason.length > 0)).toBe(true);
    expect(log.readings.map((r) => [r.provider, r.at.toISOString(), r.available.toFixed()])).toEqual([
      ['claude', '2026-01-29T09:00:00.000Z', '8.07'],
      ['claude', '2026-01-29T10:00:00.000Z', '7.95'],
      ['kimi', '2026-01-29T09:00:00.000Z', '12.34'],
      ['kimi', '2026-01-29T11:00:00.000Z', '12.01'],
    ]);
  });

  it('GIVEN CRLF line ends, a BOM and no final newline THEN the result is the same', () => {
    const log = parseBalanceLog(`\uFEFF${lines.join('\r\n')}`);

    expect(log.counts).toEqual(expectedCounts);
    expect(log.problems.map((p) => p.line)).toEqual(expectedProblemLines);
    expect(log.readings[0]?.available.toFixed()).toBe('8.07');
  });

  it('GIVEN a final newline THEN it is not counted as a blank line', () => {
    expect(parseBalanceLog('[2026-01-29 09:00:00] Claude: $8.07\n').counts.blank).toBe(0);
    expect(parseBalanceLog('[2026-01-29 09:00:00] Claude: $8.07\n\n').counts.blank).toBe(1);
  });

  it('GIVEN an empty file THEN nothing is found', () => {
    expect(parseBalanceLog('').readings).toEqual([]);
    expect(parseBalanceLog('').problems).toEqual([]);
    expect(parseBalanceLog('').counts.blank).toBe(0);
  });
});
