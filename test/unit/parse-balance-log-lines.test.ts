import { describe, expect, it } from 'vitest';
import { parseBalanceLog, parseBalanceLogLine } from '../../src/adapters/storage/parse-balance-log.js';

const TS = '2026-01-29 09:00:00';
const AT = new Date('2026-01-29T09:00:00Z');

/** The amount of a reading line as text, or what else it was. */
function classify(line: string): string {
  const p = parseBalanceLogLine(line);
  if (p.kind === 'reading') {
    const extra = [p.voucher ? ` v=${p.voucher.toFixed()}` : '', p.cash ? ` c=${p.cash.toFixed()}` : ''].join(
      '',
    );
    return `${p.provider} ${p.available.toFixed()}${extra}`;
  }
  if (p.kind === 'failure' || p.kind === 'unparseable') return `${p.kind}: ${p.reason}`;
  return p.kind;
}

describe('balance-log lines: each shape, and the reason for each refusal', () => {
  it.each([
    [`[${TS}] Claude:$5`, 'claude 5'],
    [`[${TS}] Claude : $5`, 'claude 5'],
    [`[${TS}] MOONSHOT: $12.34`, 'kimi 12.34'],
    [`[${TS}] kimi: $1`, 'kimi 1'],
    [`[${TS}] xClaude: $5`, 'unparseable: unrecognised entry: xClaude: $5'],
    [`[${TS}] Claude: x$5`, 'unparseable: not a dollar amount: x$5'],
    [`[${TS}] Claude: $5x`, 'unparseable: not a dollar amount: $5x'],
    [`[${TS}] Claude: ERROR table missing`, 'failure: ERROR table missing'],
    [`[${TS}] Claude: xERROR`, 'unparseable: not a dollar amount: xERROR'],
    [`[${TS}] Claude: ERRORS`, 'unparseable: not a dollar amount: ERRORS'],
    [`[${TS}] Claude: $`, 'failure: no Claude balance logged'],
    [`[${TS}] Moonshot: null`, 'failure: no Moonshot balance logged'],
    [`[${TS}] Claude: $NULL`, 'failure: no Claude balance logged'],
    [`[${TS}] POSTED: summary`, 'posted'],
    [`[${TS}] xPOSTED: summary`, 'unparseable: unrecognised entry: xPOSTED: summary'],
    [`${TS} | Available: $5`, 'kimi 5'],
    [`${TS} | Available : $12.34 | Voucher :$1 | Cash:  -$2`, 'kimi 12.34 v=1 c=-2'],
    [`${TS}T | x`, 'unparseable: unrecognised line: 2026-01-29 09:00:00T | x'],
    [`${TS} | Available: null | Voucher: $1 | Cash: $2`, 'failure: no Moonshot balance logged'],
    [`${TS} | Available: $5 | Voucher: null | Cash: $`, 'kimi 5'],
    [`${TS} | ERROR HTTP 401`, 'failure: ERROR HTTP 401'],
    [`${TS} | xERROR`, 'unparseable: unrecognised field: xERROR'],
    [`${TS} | 1Available: $5`, 'unparseable: unrecognised field: 1Available: $5'],
    [`${TS} | Balance: $5`, 'unparseable: unknown field Balance'],
    [`${TS} | Available: $5 | available: $6`, 'unparseable: field available given twice'],
    [`${TS} | Available: $5 | Voucher: abc`, 'unparseable: Voucher: not a dollar amount: abc'],
    [`${TS} | Voucher: $1 | Cash: $2`, 'unparseable: no Available field'],
    [`[2026-02-30 09:00:00] Claude: $5`, 'unparseable: invalid timestamp 2026-02-30 09:00:00'],
    [`[2026-01-29 24:00:00] Claude: $5`, 'unparseable: invalid timestamp 2026-01-29 24:00:00'],
    [`0050-01-01 00:00:00 | Available: $5`, 'unparseable: invalid timestamp 0050-01-01 00:00:00'],
    [`\uFEFF[${TS}] Claude: $8.07`, 'claude 8.07'],
    [`[${TS}] Claude: $8\uFEFF.07`, `unparseable: not a dollar amount: $8\uFEFF.07`],
    ['   ', 'blank'],
  ])('GIVEN %j THEN %s', (line, want) => {
    expect(classify(line)).toBe(want);
  });

  it('GIVEN a reading THEN it is dated at its timestamp, in UTC', () => {
    expect(parseBalanceLogLine(`${TS} | Available: $5`)).toMatchObject({ at: AT });
    expect(parseBalanceLogLine(`[2026-01-29T09:00:00] Claude: $5`)).toMatchObject({ at: AT });
  });

  it('GIVEN a long unrecognised line THEN the reason quotes its first 57 characters and "..."; 60 are quoted whole', () => {
    const sixty = 'x'.repeat(60);
    expect(classify(sixty)).toBe(`unparseable: unrecognised line: ${sixty}`);
    expect(classify(`${sixty}y`)).toBe(`unparseable: unrecognised line: ${'x'.repeat(57)}...`);
  });

  it('GIVEN a file with a BOM, CRLF and a stray BOM inside a line THEN only the leading BOM is dropped', () => {
    const parsed = parseBalanceLog(`\uFEFF[${TS}] Claude: $8.07\r\nA\uFEFFB\r\n`);
    expect(parsed.counts).toEqual({ readings: 1, posted: 0, failures: 0, unparseable: 1, blank: 0 });
    expect(parsed.problems).toEqual([{ line: 2, reason: 'unrecognised line: A\uFEFFB' }]);
  });
});
