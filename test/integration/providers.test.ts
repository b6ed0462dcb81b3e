import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDeepSeekProvider, DEEPSEEK_MODULE } from '../../src/adapters/providers/deepseek.js';
import { KIMI_MODULE } from '../../src/adapters/providers/kimi.js';
import type {
  AccountSettingsReader,
  HttpAccountSettings,
  ProviderModule,
} from '../../src/adapters/providers/module.js';
import { createNovitaProvider } from '../../src/adapters/providers/novita.js';
import { createOpenRouterProvider } from '../../src/adapters/providers/openrouter.js';
import { PROVIDER_MODULES } from '../../src/adapters/providers/registry.js';
import { createSiliconFlowProvider, SILICONFLOW_MODULE } from '../../src/adapters/providers/siliconflow.js';
import { STEPFUN_MODULE } from '../../src/adapters/providers/stepfun.js';
import { formatMoney } from '../../src/core/money.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import { type FakeApi, type FakeReply, startFakeApi } from '../support/fake-api.js';
import {
  DEEPSEEK_BALANCE,
  DEEPSEEK_ZERO_USD_BESIDE_CNY,
  NOVITA_BALANCE,
  OPENROUTER_KEY_WITH_LIMIT,
  OPENROUTER_KEY_WITHOUT_LIMIT,
  openRouterError,
  SILICONFLOW_INFO,
} from '../support/provider-replies.js';

const KEY = 'sk-provider-SECRET-1';
const NOW = new Date('2026-03-01T12:00:00.000Z');
let fake: FakeApi;
const open: BalanceProvider[] = [];
const track = <P extends BalanceProvider>(p: P): P => {
  open.push(p);
  return p;
};
const base = () => ({ baseUrl: fake.url, apiKey: KEY, timeoutMs: 2_000 });

function reading(result: CheckResult) {
  if (!result.ok) throw new Error(`expected a reading, got: ${result.reason}`);
  return result;
}
function failure(result: CheckResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${result.available.toString()}`);
  expect(result.reason).not.toContain(KEY);
  return result.reason;
}

beforeAll(async () => {
  fake = await startFakeApi();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  fake.clearRoutes();
  fake.requests.length = 0;
});
afterAll(async () => {
  await fake.close();
});

describe('deepseek: which balance row', () => {
  const deepseek = (pick?: 'USD' | 'CNY') =>
    track(createDeepSeekProvider({ ...base(), currency: pick ?? 'USD', ...(pick ? { pick } : {}) }));

  it('GIVEN a USD "0.00" row listed before a funded CNY row THEN the CNY funds are the balance', async () => {
    fake.setReply({ json: DEEPSEEK_ZERO_USD_BESIDE_CNY });
    const r = reading(await deepseek().check());
    expect([r.currency, formatMoney(r.available, r.currency)]).toEqual(['CNY', '¥88.30']);
    expect([r.voucher?.toString(), r.cash?.toString()]).toEqual(['0.3', '88']);
  });

  it('GIVEN DEEPSEEK_CURRENCY=USD THEN the USD row is read even at zero; a currency with no row fails', async () => {
    fake.setReply({ json: DEEPSEEK_ZERO_USD_BESIDE_CNY });
    const r = reading(await deepseek('USD').check());
    expect([r.currency, r.available.toString()]).toEqual(['USD', '0']);
    fake.setReply({ json: DEEPSEEK_BALANCE });
    expect(failure(await deepseek('USD').check())).toBe('the reply has no USD balance row (rows: CNY)');
  });

  it('GIVEN no funded row THEN the balance is USD 0; GIVEN two funded rows THEN it asks which', async () => {
    const zeroCny = { currency: 'CNY', total_balance: '0.00', granted_balance: '0', topped_up_balance: '0' };
    fake.setReply({ json: { is_available: false, balance_infos: [zeroCny] } });
    const r = reading(await deepseek().check());
    expect([r.currency, r.available.toString(), r.note]).toEqual([
      'USD',
      '0',
      'DeepSeek says the account is not available (is_available: false)',
    ]);
    const usd = { ...zeroCny, currency: 'USD', total_balance: '1.00' };
    fake.setReply({
      json: { is_available: true, balance_infos: [usd, { ...zeroCny, total_balance: '2.00' }] },
    });
    expect(failure(await deepseek().check())).toMatch(/funded in USD and CNY; set DEEPSEEK_CURRENCY/);
    fake.setReply({ json: { is_available: true, balance_infos: [] } });
    expect(failure(await deepseek().check())).toBe('balance_infos is empty');
  });

  it('GIVEN one funded row THEN it is read, whichever currency it is in', async () => {
    const row = (currency: string, total: string) => ({
      currency,
      total_balance: total,
      granted_balance: '0.50',
      topped_up_balance: '0',
    });
    fake.setReply({ json: { is_available: true, balance_infos: [row('USD', '3.25'), row('CNY', '0')] } });
    const r = reading(await deepseek().check());
    expect([r.currency, r.available.toString(), r.voucher?.toString(), r.cash?.toString()]).toEqual([
      'USD',
      '3.25',
      '0.5',
      '0',
    ]);
  });

  it('GIVEN zero rows in CNY then USD THEN the USD row is read (its own figures), not the first', async () => {
    const cny = { currency: 'CNY', total_balance: '0', granted_balance: '0', topped_up_balance: '0' };
    const usd = { currency: 'USD', total_balance: '-0.20', granted_balance: '0', topped_up_balance: '-0.20' };
    fake.setReply({ json: { is_available: true, balance_infos: [cny, usd] } });
    const r = reading(await deepseek().check());
    expect([r.currency, r.available.toString(), r.cash?.toString()]).toEqual(['USD', '-0.2', '-0.2']);
  });

  it('GIVEN DEEPSEEK_CURRENCY and rows without it THEN the failure lists the rows there are', async () => {
    const cny = { currency: 'CNY', total_balance: '1', granted_balance: '0', topped_up_balance: '1' };
    fake.setReply({ json: { is_available: true, balance_infos: [cny, cny] } });
    expect(failure(await deepseek('USD').check())).toBe('the reply has no USD balance row (rows: CNY, CNY)');
    fake.setReply({ json: { is_available: true, balance_infos: [] } });
    expect(failure(await deepseek('CNY').check())).toBe('the reply has no CNY balance row (rows: none)');
  });

  it('GIVEN two funded rows THEN the failure says how to pick one', async () => {
    const row = (currency: string) => ({
      currency,
      total_balance: '1',
      granted_balance: '0',
      topped_up_balance: '1',
    });
    fake.setReply({ json: { is_available: true, balance_infos: [row('CNY'), row('USD')] } });
    expect(failure(await deepseek().check())).toBe(
      'the account is funded in CNY and USD; set DEEPSEEK_CURRENCY to pick one (or watch both as two accounts)',
    );
  });

  it('GIVEN malformed rows THEN the failure names the row and the field', async () => {
    const good = DEEPSEEK_BALANCE.balance_infos[0];
    const cases: Array<[unknown, string]> = [
      [{ is_available: true, balance_infos: {} }, 'balance_infos is not an array (got object)'],
      [{ is_available: true, balance_infos: null }, 'balance_infos is not an array (got null)'],
      [{ balance_infos: [good] }, 'is_available is not a boolean (got undefined)'],
      [{ is_available: true, balance_infos: [good, null] }, 'balance_infos[1] is not an object (got null)'],
      [{ is_available: true, balance_infos: [[good]] }, 'balance_infos[0] is not an object (got array)'],
      [
        { is_available: true, balance_infos: [{ ...good, currency: 'EUR' }] },
        'balance_infos[0].currency is not USD or CNY (got "EUR")',
      ],
      [
        { is_available: true, balance_infos: [{ ...good, currency: 'usd' }] },
        'balance_infos[0].currency is not USD or CNY (got "usd")',
      ],
      [
        { is_available: true, balance_infos: [{ ...good, currency: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' }] },
        'balance_infos[0].currency is not USD or CNY (got "ABCDEFGHIJKL")',
      ],
      [
        { is_available: true, balance_infos: [{ ...good, currency: 156 }] },
        'balance_infos[0].currency is not USD or CNY (got number)',
      ],
      [
        { is_available: true, balance_infos: [{ ...good, topped_up_balance: undefined }] },
        'balance_infos[0].topped_up_balance is missing',
      ],
      [
        { is_available: true, balance_infos: [{ ...good, granted_balance: '1.2.3' }] },
        'balance_infos[0].granted_balance is not a decimal number (got "1.2.3")',
      ],
      [
        {
          is_available: true,
          balance_infos: [{ ...good, total_balance: `1${'0'.repeat(30)} and more text` }],
        },
        `balance_infos[0].total_balance is not a decimal number (got "1${'0'.repeat(30)} and mor)`,
      ],
    ];
    const reasons: Array<[unknown, string]> = [];
    for (const [json] of cases) {
      fake.setReply({ json });
      reasons.push([json, failure(await deepseek().check())]);
    }
    expect(reasons).toEqual(cases);
  });

  it('GIVEN the module with DEEPSEEK_CURRENCY set THEN its provider reads that row; unset, the funded one', async () => {
    fake.setReply({ json: DEEPSEEK_ZERO_USD_BESIDE_CNY });
    const context = { accountId: 'deepseek', timeoutMs: 2_000 };
    const settings = { apiKey: KEY, baseUrl: fake.url, currency: 'USD' as const };
    const picked = track(DEEPSEEK_MODULE.create({ ...settings, currencySet: true }, context));
    const funded = track(DEEPSEEK_MODULE.create({ ...settings, currencySet: false }, context));
    expect(reading(await picked.check()).currency).toBe('USD');
    expect(reading(await funded.check()).currency).toBe('CNY');
  });
});

describe('openrouter: credits, or the key limit for an ordinary key', () => {
  const openrouter = () => track(createOpenRouterProvider({ ...base(), currency: 'USD' }));

  it('GIVEN credits and usage THEN available = credits − usage exactly (no float residue)', async () => {
    fake.setRoute('/v1/credits', { json: { data: { total_credits: 0.3, total_usage: 0.1 } } });
    const r = reading(await openrouter().check());
    expect(r.available.toString()).toBe('0.2');
    expect(r.details?.totalCredits?.toString()).toBe('0.3');
  });

  it('GIVEN 403 on /v1/credits and a key with a limit THEN the reading is the remaining limit, said so', async () => {
    fake.setRoute('/v1/credits', { status: 403, json: openRouterError(403, 'Only management keys') });
    fake.setRoute('/v1/key', { json: OPENROUTER_KEY_WITH_LIMIT });
    const r = reading(await openrouter().check());
    expect([r.available.toString(), r.note, r.details?.keyLimit?.toString()]).toEqual([
      '12.35',
      'key limit',
      '20',
    ]);
    expect(fake.requests.map((q) => [q.url, q.authorization])).toEqual([
      ['/v1/credits', `Bearer ${KEY}`],
      ['/v1/key', `Bearer ${KEY}`],
    ]);
  });

  it('GIVEN 403 and a key without a limit THEN a failure asks for a management key, never $0', async () => {
    fake.setRoute('/v1/credits', { status: 403, json: openRouterError(403, 'Only management keys') });
    fake.setRoute('/v1/key', { json: OPENROUTER_KEY_WITHOUT_LIMIT });
    expect(failure(await openrouter().check())).toMatch(/needs a management key .*set OPENROUTER_API_KEY/);
  });

  it('GIVEN credits THEN both figures are kept as details', async () => {
    fake.setRoute('/v1/credits', { json: { data: { total_credits: 10, total_usage: 12.5 } } });
    const r = reading(await openrouter().check());
    expect([
      r.available.toString(),
      r.note,
      r.details?.totalCredits?.toString(),
      r.details?.totalUsage?.toString(),
    ]).toEqual(['-2.5', undefined, '10', '12.5']);
    expect(fake.requests.map((q) => q.url)).toEqual(['/v1/credits']);
  });

  it('GIVEN a credits reply of the wrong shape THEN the failure names it', async () => {
    const cases: Array<[unknown, string]> = [
      [{ data: [] }, 'data is not an object (got array)'],
      [{ data: 'none' }, 'data is not an object (got string)'],
      [{ data: { total_credits: 1, total_usage: null } }, 'data.total_usage is null'],
      [{ data: { total_credits: 1, total_usage: '1' } }, 'data.total_usage is not a number (got string)'],
    ];
    const reasons: Array<[unknown, string]> = [];
    for (const [json] of cases) {
      fake.setRoute('/v1/credits', { json });
      reasons.push([json, failure(await openrouter().check())]);
    }
    expect(reasons).toEqual(cases);
  });

  it('GIVEN 401 on /v1/credits THEN /v1/key is not asked', async () => {
    fake.setRoute('/v1/credits', { status: 401, json: openRouterError(401, 'No auth credentials found') });
    fake.setRoute('/v1/key', { json: OPENROUTER_KEY_WITH_LIMIT });
    expect(failure(await openrouter().check())).toBe(
      'OpenRouter API returned HTTP 401: No auth credentials found',
    );
    expect(fake.requests.map((q) => q.url)).toEqual(['/v1/credits']);
  });

  it('GIVEN 403 and a /v1/key reply of the wrong shape THEN the failure names the field under /v1/key', async () => {
    fake.setRoute('/v1/credits', { status: 403, json: openRouterError(403, 'Only management keys') });
    const data = OPENROUTER_KEY_WITH_LIMIT.data;
    const cases: Array<[FakeReply, string]> = [
      [{ json: { key: data } }, '/v1/key: response has no data object'],
      [{ json: { data: 'x' } }, '/v1/key: data is not an object (got string)'],
      [{ json: { data: { ...data, limit: '20' } } }, '/v1/key: data.limit is not a number (got string)'],
      [{ json: { data: { ...data, limit: undefined } } }, '/v1/key: data.limit is missing'],
      [{ json: { data: { ...data, limit_remaining: null } } }, '/v1/key: data.limit_remaining is null'],
      [
        { json: '[]' },
        'OpenRouter API returned HTTP 403: Only management keys; then /v1/key: response body is not a JSON object (got string)',
      ],
      [
        { status: 302, headers: { location: 'https://openrouter.example/v1/key' } },
        'OpenRouter API returned HTTP 403: Only management keys; then /v1/key: OpenRouter API answered HTTP 302, a redirect to https://openrouter.example; not followed, since the API key would go with it (check the base URL)',
      ],
    ];
    const reasons: Array<[FakeReply, string]> = [];
    for (const [reply] of cases) {
      fake.setRoute('/v1/key', reply);
      reasons.push([reply, failure(await openrouter().check())]);
    }
    expect(reasons).toEqual(cases);
  });

  it('GIVEN 403 and /v1/key unreadable THEN the failure says both', async () => {
    fake.setRoute('/v1/credits', { status: 403, json: openRouterError(403, 'Only management keys') });
    fake.setRoute('/v1/key', { status: 500, body: '<html>oops</html>' });
    expect(failure(await openrouter().check())).toBe(
      'OpenRouter API returned HTTP 403: Only management keys; then /v1/key: OpenRouter API returned HTTP 500 with a non-JSON body',
    );
  });
});

describe('siliconflow and novita: codes and units', () => {
  it('GIVEN code ≠ 20000 THEN the failure gives the code and message', async () => {
    fake.setReply({
      json: { ...SILICONFLOW_INFO, code: 30001, status: false, message: 'insufficient quota' },
    });
    const p = track(createSiliconFlowProvider({ ...base(), currency: 'CNY' }));
    expect(failure(await p.check())).toBe(
      'SiliconFlow API returned code 30001, status false: insufficient quota',
    );
  });

  it('GIVEN each code and status combination THEN the failure says which, with the message if any', async () => {
    const cases: Array<[unknown, string]> = [
      [
        { code: 30001, status: true, message: 'insufficient quota' },
        'SiliconFlow API returned code 30001: insufficient quota',
      ],
      [{ code: 30001, status: false }, 'SiliconFlow API returned code 30001, status false'],
      [{ status: false, message: 'frozen' }, 'SiliconFlow API returned no code, status false: frozen'],
      [
        { code: 20000, status: 'ok', message: 'OK' },
        'SiliconFlow API returned code 20000, status string: OK',
      ],
      [{ code: 20000, data: SILICONFLOW_INFO.data }, 'SiliconFlow API returned code 20000, status undefined'],
      [{ code: '20000', status: true }, 'SiliconFlow API returned code "20000"'],
    ];
    const p = track(createSiliconFlowProvider({ ...base(), currency: 'CNY' }));
    const reasons: Array<[unknown, string]> = [];
    for (const [json] of cases) {
      fake.setReply({ json });
      reasons.push([json, failure(await p.check())]);
    }
    expect(reasons).toEqual(cases);
  });

  it('GIVEN SiliconFlow without a data object THEN the failure says so', async () => {
    const p = track(createSiliconFlowProvider({ ...base(), currency: 'CNY' }));
    fake.setReply({ json: { code: 20000, status: true, message: 'OK' } });
    expect(failure(await p.check())).toBe('response has no data object');
    fake.setReply({ json: { code: 20000, status: true, data: null } });
    expect(failure(await p.check())).toBe('data is not an object (got null)');
    fake.setReply({ json: { ...SILICONFLOW_INFO, data: { ...SILICONFLOW_INFO.data, balance: 0.88 } } });
    expect(failure(await p.check())).toBe('data.balance is not a decimal string (got number)');
  });

  it('GIVEN Novita’s documented reply THEN every figure is kept, in USD', async () => {
    const p = track(createNovitaProvider({ ...base(), currency: 'USD' }));
    fake.setReply({ json: NOVITA_BALANCE });
    const r = reading(await p.check());
    expect({
      available: r.available.toString(),
      cash: r.cash?.toString(),
      voucher: r.voucher,
      details: Object.fromEntries(Object.entries(r.details ?? {}).map(([k, v]) => [k, v?.toString()])),
    }).toEqual({
      available: '123.45',
      cash: '100',
      voucher: undefined,
      details: { creditLimit: '23.45', pendingCharges: '0.15', outstandingInvoices: '0' },
    });
  });

  it('GIVEN a Novita reply missing a later field THEN the failure names that field', async () => {
    const p = track(createNovitaProvider({ ...base(), currency: 'USD' }));
    const { outstandingInvoices: _, ...rest } = NOVITA_BALANCE;
    fake.setReply({ json: rest });
    expect(failure(await p.check())).toBe('outstandingInvoices is missing');
    fake.setReply({ json: { ...NOVITA_BALANCE, pendingCharges: null } });
    expect(failure(await p.check())).toBe('pendingCharges is null');
    fake.setReply({ json: { ...NOVITA_BALANCE, creditLimit: 'n/a' } });
    expect(failure(await p.check())).toBe('creditLimit is not a decimal number (got "n/a")');
  });

  it('GIVEN replies that carry fields named ok or reason THEN they are still read as replies', async () => {
    const p = track(createNovitaProvider({ ...base(), currency: 'USD' }));
    fake.setReply({ json: { ...NOVITA_BALANCE, reason: 'SUCCESS' } });
    expect(reading(await p.check()).available.toString()).toBe('123.45');
    fake.setReply({ json: { ...NOVITA_BALANCE, ok: false } });
    expect(reading(await p.check()).available.toString()).toBe('123.45');
  });

  it('GIVEN Novita amounts in 1/10,000 USD THEN "1234500" is $123.45 and "1" is $0.0001 exactly', async () => {
    const p = track(createNovitaProvider({ ...base(), currency: 'USD' }));
    fake.setReply({ json: NOVITA_BALANCE });
    expect(formatMoney(reading(await p.check()).available, 'USD')).toBe('$123.45');
    fake.setReply({ json: { ...NOVITA_BALANCE, availableBalance: '1' } });
    expect(reading(await p.check()).available.toString()).toBe('0.0001');
  });
});

/** A settings reader over a plain object, as the configuration gives one to each account. */
function reader(prefix: string, account: string | undefined, env: Record<string, string>) {
  const problems: string[] = [];
  const name = (s: string) =>
    `${prefix}${account ? `_${account.toUpperCase().replaceAll('-', '_')}` : ''}_${s}`;
  const r: AccountSettingsReader = {
    account,
    name,
    get: (s) => env[name(s)]?.trim() || undefined,
    exact: (v) => env[v]?.trim() || undefined,
    problem: (t) => problems.push(t),
    because: 'it is in PROVIDERS',
  };
  return { r, problems };
}

describe('provider modules: settings and currency rules', () => {
  it('GIVEN each HTTP module THEN its names, parts, default host and currency rule are the documented ones', () => {
    const facts = (id: string, hosts: readonly string[]) => {
      const module = PROVIDER_MODULES.find((m) => m.id === id) as ProviderModule<HttpAccountSettings>;
      const defaults = module.settings(
        reader(module.envPrefix, undefined, { [`${module.envPrefix}_API_KEY`]: 'k' }).r,
      );
      const currencies = hosts.map((host) => {
        const env = { [`${module.envPrefix}_API_KEY`]: 'k', [`${module.envPrefix}_BASE_URL`]: host };
        const s = module.settings(reader(module.envPrefix, undefined, env).r);
        return s && module.currency(s);
      });
      return {
        label: module.label,
        emoji: module.emoji,
        envPrefix: module.envPrefix,
        parts: module.parts,
        baseUrl: defaults?.baseUrl,
        currency: defaults && module.currency(defaults),
        currencies,
      };
    };
    const other = ['https://api.example.cn', 'https://api.example.ai', 'https://api.example.com'];
    expect({
      kimi: facts('kimi', ['https://api.moonshot.cn', ...other]),
      deepseek: facts('deepseek', other),
      openrouter: facts('openrouter', other),
      siliconflow: facts('siliconflow', ['https://api.siliconflow.com', ...other]),
      novita: facts('novita', other),
      stepfun: facts('stepfun', ['https://api.stepfun.ai', 'https://api.ai.example.com', ...other]),
    }).toEqual({
      kimi: {
        label: 'Kimi',
        emoji: '🌙',
        envPrefix: 'MOONSHOT',
        parts: { voucher: 'voucher', cash: 'cash' },
        baseUrl: 'https://api.moonshot.ai',
        currency: 'USD',
        currencies: ['CNY', 'CNY', 'USD', 'USD'],
      },
      deepseek: {
        label: 'DeepSeek',
        emoji: '🐋',
        envPrefix: 'DEEPSEEK',
        parts: { voucher: 'granted', cash: 'topped-up' },
        baseUrl: 'https://api.deepseek.com',
        currency: 'USD',
        currencies: ['USD', 'USD', 'USD'],
      },
      openrouter: {
        label: 'OpenRouter',
        emoji: '🔀',
        envPrefix: 'OPENROUTER',
        parts: undefined,
        baseUrl: 'https://openrouter.ai/api',
        currency: 'USD',
        currencies: ['USD', 'USD', 'USD'],
      },
      siliconflow: {
        label: 'SiliconFlow',
        emoji: '🧊',
        envPrefix: 'SILICONFLOW',
        parts: { voucher: 'gift', cash: 'charged' },
        baseUrl: 'https://api.siliconflow.cn',
        currency: 'CNY',
        currencies: ['USD', 'CNY', 'USD', 'USD'],
      },
      novita: {
        label: 'Novita',
        emoji: '✨',
        envPrefix: 'NOVITA',
        parts: { cash: 'cash' },
        baseUrl: 'https://api.novita.ai',
        currency: 'USD',
        currencies: ['USD', 'USD', 'USD'],
      },
      stepfun: {
        label: 'StepFun',
        emoji: '🪜',
        envPrefix: 'STEPFUN',
        parts: { voucher: 'voucher', cash: 'cash' },
        baseUrl: 'https://api.stepfun.com',
        currency: 'CNY',
        currencies: ['USD', 'CNY', 'CNY', 'USD', 'CNY'],
      },
    });
  });

  it('GIVEN MOONSHOT_API_KEY still the .env.example value THEN it is refused by name', () => {
    const { r, problems } = reader('MOONSHOT', undefined, { MOONSHOT_API_KEY: 'sk-your-moonshot-key' });
    expect(KIMI_MODULE.settings(r)).toBeUndefined();
    expect(KIMI_MODULE.exampleValues).toEqual({ API_KEY: 'sk-your-moonshot-key' });
    // The configuration's words for every example value (the module is the one reader of Kimi's settings).
    expect(problems).toEqual([
      'MOONSHOT_API_KEY is still the example value from .env.example; replace it with your own (README.md "Configuration")',
    ]);
  });

  it('GIVEN each HTTP module’s provider THEN it checks the account it was created for, at the documented path', async () => {
    const seen: Array<[string, string | undefined]> = [];
    const ids = ['kimi', 'deepseek', 'openrouter', 'siliconflow', 'novita', 'stepfun'];
    for (const module of PROVIDER_MODULES.filter((m) => ids.includes(m.id))) {
      const m = module as ProviderModule<HttpAccountSettings>;
      fake.requests.length = 0;
      const settings = { apiKey: KEY, baseUrl: fake.url, currency: 'USD' as const, currencySet: false };
      const p = track(m.create(settings, { accountId: `${m.id}:team`, timeoutMs: 2_000, now: () => NOW }));
      const result = await p.check();
      expect([p.id, result.provider, result.checkedAt]).toEqual([`${m.id}:team`, `${m.id}:team`, NOW]);
      seen.push([m.id, fake.requests[0]?.url]);
    }
    expect(seen).toEqual([
      ['kimi', '/v1/users/me/balance'],
      ['deepseek', '/user/balance'],
      ['openrouter', '/v1/credits'],
      ['siliconflow', '/v1/user/info'],
      ['novita', '/openapi/v1/billing/balance/detail'],
      ['stepfun', '/v1/accounts'],
    ]);
  });

  it('every module has a distinct id and settings prefix', () => {
    const ids = PROVIDER_MODULES.map((m) => m.id);
    const prefixes = PROVIDER_MODULES.map((m) => m.envPrefix);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(prefixes).size).toBe(prefixes.length);
  });

  it('GIVEN an account THEN its settings are read under P_X_…, and the host decides the currency', () => {
    const { r, problems } = reader('STEPFUN', 'intl', {
      STEPFUN_INTL_API_KEY: 'k1',
      STEPFUN_INTL_BASE_URL: 'https://api.stepfun.ai',
      STEPFUN_API_KEY: 'not this one',
    });
    const settings = STEPFUN_MODULE.settings(r);
    expect(problems).toEqual([]);
    expect(settings && [settings.apiKey, STEPFUN_MODULE.currency(settings)]).toEqual(['k1', 'USD']);
    const cn = reader('SILICONFLOW', undefined, { SILICONFLOW_API_KEY: 'k2' });
    const s2 = SILICONFLOW_MODULE.settings(cn.r);
    expect(s2 && [s2.baseUrl, SILICONFLOW_MODULE.currency(s2)]).toEqual([
      'https://api.siliconflow.cn',
      'CNY',
    ]);
  });

  it('GIVEN P_CURRENCY THEN it overrides the host; bad values are listed, each by its full name', () => {
    const { r } = reader('DEEPSEEK', undefined, { DEEPSEEK_API_KEY: 'k', DEEPSEEK_CURRENCY: 'cny' });
    const s = DEEPSEEK_MODULE.settings(r);
    expect(s && [DEEPSEEK_MODULE.currency(s), s.currencySet]).toEqual(['CNY', true]);
    const bad = reader('DEEPSEEK', 'team-b', {
      DEEPSEEK_TEAM_B_CURRENCY: 'EUR',
      DEEPSEEK_TEAM_B_BASE_URL: 'ftp://x',
    });
    expect(DEEPSEEK_MODULE.settings(bad.r)).toBeUndefined();
    expect(bad.problems).toEqual([
      'DEEPSEEK_TEAM_B_API_KEY is missing; it is in PROVIDERS',
      'DEEPSEEK_TEAM_B_BASE_URL must be an http(s) URL (got ftp:)',
      'DEEPSEEK_TEAM_B_CURRENCY="EUR" must be USD or CNY',
    ]);
  });
});
