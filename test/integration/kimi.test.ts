import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKimiProvider, type KimiProviderOptions } from '../../src/adapters/providers/kimi.js';
import { Big, formatMoney } from '../../src/core/money.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import {
  type FakeMoonshot,
  type FakeReply,
  getClosedPort,
  MOONSHOT_OK_BODY,
  startFakeMoonshot,
} from '../support/fake-moonshot.js';

const KEY = 'sk-test-SECRET-123';
const NOW = new Date('2026-01-29T09:00:00.000Z');

let fake: FakeMoonshot;
const open: BalanceProvider[] = [];

function provider(overrides: Partial<KimiProviderOptions> = {}): BalanceProvider {
  const created = createKimiProvider({
    baseUrl: fake.url,
    apiKey: KEY,
    currency: 'USD',
    timeoutMs: 2_000,
    now: () => NOW,
    ...overrides,
  });
  open.push(created);
  return created;
}

async function checkWith(
  reply: FakeReply,
  overrides: Partial<KimiProviderOptions> = {},
): Promise<CheckResult> {
  fake.setReply(reply);
  return provider(overrides).check();
}

function expectFailure(result: CheckResult, reason: string | RegExp): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  if (typeof reason === 'string') expect(result.reason).toBe(reason);
  else expect(result.reason).toMatch(reason);
  expect(result.reason).not.toContain(KEY);
  expect(result.reason).not.toContain('SECRET');
  expect(result.reason).not.toMatch(/[\r\n]/);
  expect(result.reason.length).toBeLessThanOrEqual(400);
  expect(result.provider).toBe('kimi');
  expect(result.checkedAt).toEqual(NOW);
  expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  return result.reason;
}

function expectReading(result: CheckResult) {
  if (!result.ok) throw new Error(`expected a reading, got failure: ${result.reason}`);
  return result;
}

const data = (fields: Record<string, unknown>) => ({
  json: { code: 0, data: fields, scode: '0x0', status: true },
});

beforeAll(async () => {
  // The provider loads undici at its first check; load it here so the first test's 2 s bound is not spent
  // on that on a busy machine (as the contract suite does).
  await import('undici');
  fake = await startFakeMoonshot();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  fake.requests.length = 0;
});

afterAll(async () => {
  await fake.close();
});

describe('kimi provider: readings', () => {
  it('reads Moonshot’s documented reply exactly', async () => {
    const reading = expectReading(await checkWith({ json: MOONSHOT_OK_BODY }));
    expect(reading.provider).toBe('kimi');
    expect(reading.currency).toBe('USD');
    expect(reading.available.toString()).toBe('49.58894');
    expect(reading.voucher?.toString()).toBe('46.58893');
    expect(reading.cash?.toString()).toBe('3.00001');
    expect(reading.asOf).toEqual(NOW);
    expect(reading.checkedAt).toEqual(NOW);
    expect(reading.latencyMs).toBeGreaterThanOrEqual(0);
    expect(formatMoney(reading.available, 'USD')).toBe('$49.59');
  });

  it('sends GET /v1/users/me/balance with the bearer key', async () => {
    await checkWith({ json: MOONSHOT_OK_BODY });
    expect(fake.requests).toEqual([
      { method: 'GET', url: '/v1/users/me/balance', authorization: `Bearer ${KEY}` },
    ]);
  });

  it('accepts a base URL with a trailing slash or the OpenAI-style /v1', async () => {
    await checkWith({ json: MOONSHOT_OK_BODY }, { baseUrl: `${fake.url}/` });
    await checkWith({ json: MOONSHOT_OK_BODY }, { baseUrl: `${fake.url}/v1` });
    expect(fake.requests.map((r) => r.url)).toEqual(['/v1/users/me/balance', '/v1/users/me/balance']);
  });

  it('keeps the number as sent: 12.30 shows as $12.30', async () => {
    const body = '{"code":0,"data":{"available_balance":12.30,"voucher_balance":0,"cash_balance":12.30}}';
    const reading = expectReading(await checkWith({ body, headers: { 'content-type': 'application/json' } }));
    expect(reading.available.eq(new Big('12.3'))).toBe(true);
    expect(formatMoney(reading.available, 'USD')).toBe('$12.30');
    expect(reading.voucher?.toString()).toBe('0');
  });

  it('accepts exponent notation (1e-07) as a valid, tiny balance', async () => {
    const body = '{"code":0,"data":{"available_balance":1e-07,"voucher_balance":0,"cash_balance":1e-07}}';
    const reading = expectReading(await checkWith({ body }));
    expect(reading.available.eq(new Big('0.0000001'))).toBe(true);
    expect(formatMoney(reading.available, 'USD')).toBe('$0.00');
  });

  it('accepts a negative cash balance', async () => {
    const reading = expectReading(
      await checkWith(data({ available_balance: 1.5, voucher_balance: 4, cash_balance: -2.5 })),
    );
    expect(reading.available.toString()).toBe('1.5');
    expect(reading.cash?.toString()).toBe('-2.5');
  });

  it('reports the configured currency (CNY for the .cn host)', async () => {
    const reading = expectReading(await checkWith({ json: MOONSHOT_OK_BODY }, { currency: 'CNY' }));
    expect(reading.currency).toBe('CNY');
  });

  it('reuses the provider across checks (keep-alive agent)', async () => {
    fake.setReply({ json: MOONSHOT_OK_BODY });
    const p = provider();
    expectReading(await p.check());
    expectReading(await p.check());
    expect(fake.requests).toHaveLength(2);
  });
});

describe('kimi provider: failures', () => {
  it('401 with Moonshot’s error JSON', async () => {
    const result = await checkWith({
      status: 401,
      json: { error: { message: 'Invalid Authentication', type: 'invalid_authentication_error' } },
    });
    expectFailure(
      result,
      'Moonshot API returned HTTP 401: Invalid Authentication (invalid_authentication_error)',
    );
  });

  it('5xx with an HTML body', async () => {
    const result = await checkWith({
      status: 502,
      headers: { 'content-type': 'text/html' },
      body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
    });
    expectFailure(result, 'Moonshot API returned HTTP 502 with a non-JSON body');
  });

  it('5xx with an empty body', async () => {
    expectFailure(await checkWith({ status: 503 }), 'Moonshot API returned HTTP 503 with an empty body');
  });

  it('non-200 success-looking JSON is still a failure', async () => {
    expectFailure(
      await checkWith({ status: 201, json: MOONSHOT_OK_BODY }),
      'Moonshot API returned HTTP 201 without an error message',
    );
  });

  it('code != 0, with and without a message', async () => {
    expectFailure(
      await checkWith({ json: { code: 4, message: 'account suspended', data: null } }),
      'Moonshot API returned code 4: account suspended',
    );
    expectFailure(await checkWith({ json: { code: 4 } }), 'Moonshot API returned code 4');
    expectFailure(await checkWith({ json: { code: '0', data: {} } }), 'Moonshot API returned code "0"');
  });

  it('no code at all', async () => {
    expectFailure(await checkWith({ json: { data: MOONSHOT_OK_BODY.data } }), 'response has no code field');
    expectFailure(
      await checkWith({ json: { error: { message: 'rate limited', type: 'rate_limit_reached_error' } } }),
      'Moonshot API returned an error: rate limited (rate_limit_reached_error)',
    );
  });

  it('data missing or not an object', async () => {
    expectFailure(
      await checkWith({ json: { code: 0, scode: '0x0', status: true } }),
      'response has no data object',
    );
    expectFailure(await checkWith({ json: { code: 0, data: null } }), 'response has no data object');
    expectFailure(await checkWith({ json: { code: 0, data: [1, 2, 3] } }), 'response has no data object');
  });

  it('data: {}', async () => {
    expectFailure(await checkWith(data({})), 'data.available_balance is missing');
  });

  it('a missing field further down', async () => {
    expectFailure(
      await checkWith(data({ available_balance: 1, voucher_balance: 1 })),
      'data.cash_balance is missing',
    );
  });

  it('null fields', async () => {
    expectFailure(
      await checkWith(data({ available_balance: null, voucher_balance: null, cash_balance: null })),
      'data.available_balance is null',
    );
    expectFailure(
      await checkWith(data({ available_balance: 1, voucher_balance: null, cash_balance: 1 })),
      'data.voucher_balance is null',
    );
  });

  it('a number sent as a string', async () => {
    expectFailure(
      await checkWith(data({ available_balance: '49.58', voucher_balance: 1, cash_balance: 1 })),
      'data.available_balance is not a number (got string)',
    );
    expectFailure(
      await checkWith(data({ available_balance: 1, voucher_balance: true, cash_balance: 1 })),
      'data.voucher_balance is not a number (got boolean)',
    );
  });

  it('a number too large to be finite', async () => {
    const body = '{"code":0,"data":{"available_balance":1e400,"voucher_balance":0,"cash_balance":0}}';
    expectFailure(
      await checkWith({ body }),
      'implausible amount: data.available_balance Infinity (no real balance reaches 1e15)',
    );
  });

  it('malformed JSON', async () => {
    expectFailure(
      await checkWith({
        body: '{"code":0,"data":{"available_balance":4',
        headers: { 'content-type': 'application/json' },
      }),
      'response body is not valid JSON',
    );
  });

  it('JSON that is not an object', async () => {
    expectFailure(await checkWith({ body: '[]' }), 'response body is not a JSON object (got array)');
    expectFailure(await checkWith({ body: 'null' }), 'response body is not a JSON object (got null)');
  });

  it('empty body', async () => {
    expectFailure(await checkWith({ body: '' }), 'response body is empty');
    expectFailure(await checkWith({ body: '  \n' }), 'response body is empty');
  });

  it('connection refused', async () => {
    const port = await getClosedPort();
    const result = await provider({ baseUrl: `http://127.0.0.1:${port}` }).check();
    expectFailure(result, `cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('the server drops the connection', async () => {
    expectFailure(
      await checkWith({ destroy: true }),
      /^connection to 127\.0\.0\.1:\d+ closed before a reply \(/,
    );
  });

  it('timeout waiting for the headers: settles within timeoutMs', async () => {
    const started = performance.now();
    const result = await checkWith({ json: MOONSHOT_OK_BODY, delayMs: 2_000 }, { timeoutMs: 200 });
    const elapsed = performance.now() - started;
    expectFailure(result, 'no answer within 200 ms');
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_000);
    if (!result.ok) expect(result.latencyMs).toBeGreaterThanOrEqual(190);
  });

  it('timeout while the body is still arriving', async () => {
    const started = performance.now();
    const result = await checkWith({ json: MOONSHOT_OK_BODY, stallBodyMs: 2_000 }, { timeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(1_000);
    expectFailure(result, 'reply not complete within 200 ms (HTTP 200 headers received, body unfinished)');
  });

  it('scrubs the key when the server echoes it', async () => {
    const reason = expectFailure(
      await checkWith({
        status: 401,
        json: { error: { message: `Invalid Authentication: key ${KEY} is not valid`, type: 'invalid_key' } },
      }),
      'Moonshot API returned HTTP 401: Invalid Authentication: key [redacted] is not valid (invalid_key)',
    );
    expect(reason).toContain('[redacted]');
    expectFailure(
      await checkWith({ json: { code: 7, message: `bad header "Authorization: Bearer ${KEY}"` } }),
      'Moonshot API returned code 7: bad header "Authorization: Bearer [redacted]"',
    );
  });

  it('scrubs the key even where truncation would have cut it', async () => {
    const message = `${'x'.repeat(190)} ${KEY} ${'y'.repeat(300)}`;
    const reason = expectFailure(
      await checkWith({ status: 400, json: { error: { message } } }),
      /^Moonshot API/,
    );
    expect(reason).not.toContain('sk-test');
    expect(reason.endsWith('…')).toBe(true);
  });

  it('keeps long and multi-line provider text to one bounded line', async () => {
    const message = `line one\nline two\r\n\ttabbed ${'z'.repeat(1_000)}`;
    const reason = expectFailure(
      await checkWith({ json: { code: 9, message } }),
      /^Moonshot API returned code 9: line one line two tabbed z+…$/,
    );
    expect(reason.length).toBeLessThan(260);
  });

  it('a closed provider fails instead of throwing', async () => {
    fake.setReply({ json: MOONSHOT_OK_BODY });
    const p = provider();
    await p.close();
    await p.close();
    expectFailure(await p.check(), 'kimi provider is closed');
  });
});
