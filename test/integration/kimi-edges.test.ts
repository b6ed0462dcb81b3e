import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKimiProvider, type KimiProviderOptions } from '../../src/adapters/providers/kimi.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import { type FakeMoonshot, type FakeReply, startFakeMoonshot } from '../support/fake-moonshot.js';

const KEY = 'sk-edge-SECRET-456';
const MIB = 1024 * 1024;

let fake: FakeMoonshot;
const open: BalanceProvider[] = [];

function provider(overrides: Partial<KimiProviderOptions> = {}): BalanceProvider {
  const created = createKimiProvider({
    baseUrl: fake.url,
    apiKey: KEY,
    currency: 'USD',
    timeoutMs: 5_000,
    ...overrides,
  });
  open.push(created);
  return created;
}

async function reasonFor(reply: FakeReply, overrides: Partial<KimiProviderOptions> = {}): Promise<string> {
  fake.setReply(reply);
  const result: CheckResult = await provider(overrides).check();
  if (result.ok) throw new Error('expected a failure');
  expect(result.reason).not.toContain('SECRET');
  return result.reason;
}

beforeAll(async () => {
  fake = await startFakeMoonshot();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await fake.close();
});

describe('kimi provider: what the docs promise at the edges', () => {
  it('GIVEN a server echoing some other bearer token THEN the token is redacted too', async () => {
    expect(
      await reasonFor({ status: 403, json: { message: 'token Bearer abc.def-123 refused; retry' } }),
    ).toBe('Moonshot API returned HTTP 403: token Bearer [redacted] refused; retry');
  });

  it('GIVEN a body over 1 MiB THEN it is refused unread; GIVEN exactly 1 MiB THEN it is read', async () => {
    const json = '{"code":0,"data":{"available_balance":1,"voucher_balance":1,"cash_balance":0}}';
    expect(await reasonFor({ status: 200, body: json + ' '.repeat(MIB - json.length + 1) })).toBe(
      `response body is larger than ${MIB} bytes`,
    );
    fake.setReply({ status: 200, body: json + ' '.repeat(MIB - json.length) });
    const result = await provider().check();
    expect(result.ok && result.available.toFixed()).toBe('1');
  });

  it('GIVEN https against a plain-HTTP server THEN the reason names a failed TLS handshake', async () => {
    const reason = await reasonFor({}, { baseUrl: fake.url.replace('http:', 'https:') });
    expect(reason).toMatch(
      new RegExp(`^TLS handshake with 127\\.0\\.0\\.1:${fake.port} failed \\(ERR_SSL_[A-Z_]+\\)$`),
    );
  });

  it('GIVEN a host that cannot resolve THEN the reason names the host, without its port', async () => {
    // `.invalid` never resolves (RFC 6761); a resolver that cannot answer at all says EAI_AGAIN.
    const reason = await reasonFor({}, { baseUrl: 'http://creditwatch-test.invalid:8080' });
    expect(reason).toMatch(/^cannot resolve creditwatch-test\.invalid \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it('GIVEN a bad base URL or timeout THEN the provider is not built', () => {
    expect(() =>
      createKimiProvider({ baseUrl: 'not a url', apiKey: KEY, currency: 'USD', timeoutMs: 1 }),
    ).toThrow(new TypeError('kimi baseUrl is not a valid URL'));
    expect(() =>
      createKimiProvider({ baseUrl: 'ftp://x.example', apiKey: KEY, currency: 'USD', timeoutMs: 1 }),
    ).toThrow(new TypeError('kimi baseUrl must be http(s) (got ftp:)'));
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() =>
        createKimiProvider({ baseUrl: fake.url, apiKey: KEY, currency: 'USD', timeoutMs }),
      ).toThrow(
        new RangeError(`kimi timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`),
      );
    }
  });
});
