import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { balanceLogLine } from '../../src/adapters/storage/balance-log.js';
import { parseBalanceLog, parseBalanceLogLine } from '../../src/adapters/storage/parse-balance-log.js';
import { Big } from '../../src/core/money.js';
import type { CheckResult, ProviderId } from '../../src/core/types.js';

const KINDS = ['reading', 'posted', 'failure', 'blank', 'unparseable'];

/** Any moment from 1970 to 9999 (the seed's timestamp has a four-digit year). */
const moment = fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });

/** Amounts from -1e6 to 1e9 with up to 8 decimals, as Moonshot and Claude send them. */
const amount = fc
  .tuple(fc.bigInt({ min: -(10n ** 14n), max: 10n ** 17n }), fc.nat({ max: 8 }))
  .map(([digits, scale]) => new Big(digits.toString()).div(new Big(10).pow(scale)));

/** What `formatMoney` prints, read back: two decimals, half away from zero. */
const toCents = (a: Big): Big => a.round(2, Big.roundHalfUp);

/** Lines shaped like the seed's, with random bodies: they reach past the timestamp into the value parsing. */
const logLike = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc
    .tuple(moment, fc.string())
    .map(([d, body]) => `[${d.toISOString().slice(0, 19).replace('T', ' ')}] ${body}`),
  fc
    .tuple(moment, fc.constantFrom('Claude', 'Moonshot', 'kimi'), fc.string())
    .map(([d, who, v]) => `[${d.toISOString().slice(0, 19).replace('T', ' ')}] ${who}: ${v}`),
  fc
    .tuple(moment, fc.array(fc.tuple(fc.constantFrom('Available', 'Voucher', 'Cash', 'x'), fc.string())))
    .map(
      ([d, fields]) =>
        `${d.toISOString().slice(0, 19).replace('T', ' ')} | ${fields.map(([k, v]) => `${k}: ${v}`).join(' | ')}`,
    ),
);

describe('parse-balance-log: any input', () => {
  it('PROPERTY: any line is classified, never thrown on; a problem always has a reason', () => {
    fc.assert(
      fc.property(logLike, (line) => {
        const parsed = parseBalanceLogLine(line);
        expect(KINDS).toContain(parsed.kind);
        if (parsed.kind === 'unparseable' || parsed.kind === 'failure') expect(parsed.reason).not.toBe('');
        if (parsed.kind === 'reading') expect(Number.isNaN(parsed.at.getTime())).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('PROPERTY: a whole file is tallied line by line: counts add up to the lines, problems to the unparseable', () => {
    fc.assert(
      fc.property(fc.array(logLike, { maxLength: 20 }), fc.constantFrom('\n', '\r\n', '\r'), (lines, eol) => {
        const safe = lines.map((l) => l.replace(/[\r\n]/g, ' '));
        const parsed = parseBalanceLog(safe.map((l) => l + eol).join(''));
        const { readings, posted, failures, unparseable, blank } = parsed.counts;
        expect(readings + posted + failures + unparseable + blank).toBe(safe.length);
        expect(parsed.readings).toHaveLength(readings);
        expect(parsed.problems.map((p) => p.line)).toEqual(
          safe.flatMap((l, i) => (parseBalanceLogLine(l).kind === 'unparseable' ? [i + 1] : [])),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('parse-balance-log: what creditwatch writes, it reads back', () => {
  const reading = fc.record({
    provider: fc.constantFrom<ProviderId>('claude', 'kimi'),
    checkedAt: moment,
    available: amount,
    voucher: amount,
    cash: amount,
  });

  it('PROPERTY: a reading formatted by balanceLogLine parses to the same provider, second and figures (to the cent)', () => {
    fc.assert(
      fc.property(reading, (r) => {
        const result: CheckResult = {
          ok: true,
          provider: r.provider,
          currency: 'USD',
          available: r.available,
          ...(r.provider === 'kimi' ? { voucher: r.voucher, cash: r.cash } : {}),
          asOf: r.checkedAt,
          checkedAt: r.checkedAt,
          latencyMs: 1,
        };
        const line = balanceLogLine(result);
        const parsed = parseBalanceLogLine(line);
        if (parsed.kind !== 'reading') throw new Error(`${line} → ${JSON.stringify(parsed)}`);
        expect(parsed.provider).toBe(r.provider);
        expect(parsed.at.getTime()).toBe(Math.floor(r.checkedAt.getTime() / 1000) * 1000);
        expect(parsed.available.eq(toCents(r.available))).toBe(true);
        if (r.provider === 'kimi') {
          expect(parsed.voucher?.eq(toCents(r.voucher))).toBe(true);
          expect(parsed.cash?.eq(toCents(r.cash))).toBe(true);
        } else {
          expect(parsed.voucher).toBeUndefined();
          expect(parsed.cash).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('PROPERTY: a failed check formatted by balanceLogLine parses as a failure, never as a balance', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ProviderId>('claude', 'kimi'),
        moment,
        fc.string(),
        (provider, at, reason) => {
          const line = balanceLogLine({
            ok: false,
            provider,
            currency: 'USD',
            reason,
            checkedAt: at,
            latencyMs: 1,
          });
          expect(parseBalanceLogLine(line).kind).toBe('failure');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("parse-balance-log: Claude's estimate", () => {
  it("GIVEN an estimated Claude reading THEN the seed's log line keeps the table figure, never the estimate", () => {
    const line = balanceLogLine({
      ok: true,
      provider: 'claude',
      currency: 'USD',
      available: new Big(52),
      asOf: new Date('2026-11-23T10:00:00Z'),
      checkedAt: new Date('2026-11-23T10:00:00Z'),
      latencyMs: 3,
      note: 'estimated: $150.00 on 2026-11-21 12:00 UTC, − $98.00 spent since',
      estimate: { anchor: new Big(150), anchorAt: new Date('2026-11-21T12:00:00Z'), spentSince: new Big(98) },
    });
    expect(line).toBe('[2026-11-23 10:00:00] Claude: $150.00');
  });
});

describe('parse-balance-log: the documented value forms', () => {
  it.each([
    ['$8.07', '8.07'],
    ['$     8.07', '8.07'],
    ['$-1.5', '-1.5'],
    ['-$1.5', '-1.5'],
    ['+$2', '2'],
    ['$1e-07', '0.0000001'],
  ])('GIVEN Claude: %s THEN the balance is %s', (value, want) => {
    const parsed = parseBalanceLogLine(`[2026-01-29 09:00:00] Claude: ${value}`);
    expect(parsed).toMatchObject({
      kind: 'reading',
      provider: 'claude',
      at: new Date('2026-01-29T09:00:00Z'),
    });
    if (parsed.kind === 'reading') expect(parsed.available.toFixed()).toBe(want);
  });

  it('GIVEN a Moonshot fields line with negative cash written as -$0.50 THEN cash is -0.5', () => {
    const parsed = parseBalanceLogLine(
      '2026-01-29 09:00:00 | Available: $12.34 | Voucher: $12.84 | Cash: -$0.50',
    );
    if (parsed.kind !== 'reading') throw new Error(JSON.stringify(parsed));
    expect(parsed.cash?.toFixed()).toBe('-0.5');
    expect(parsed.voucher?.toFixed()).toBe('12.84');
  });
});
