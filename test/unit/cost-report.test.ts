import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_MODULE } from '../../src/adapters/providers/anthropic.js';
import { createBudgetProvider } from '../../src/adapters/providers/budget.js';
import { createClaudeEstimator } from '../../src/adapters/providers/claude-estimate.js';
import type { CostApi } from '../../src/adapters/providers/cost-report.js';
import { OPENAI_MODULE } from '../../src/adapters/providers/openai.js';
import { Big } from '../../src/core/money.js';
import { utcMonth } from '../../src/core/spend.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import { type FakeApi, type FakeReply, startFakeApi } from '../support/fake-api.js';
import {
  anthropicBucket,
  anthropicCostReport,
  openAiBucket,
  openAiCosts,
} from '../support/provider-replies.js';

/**
 * The Admin APIs' cost reports (issue 13) read by a budget account against a local server: each shape the
 * parser refuses, with the exact reason, and the shapes it reads exactly.
 */
const KEY = 'sk-admin-SECRET-cost-4b';
const NOV_21 = () => new Date('2026-11-21T12:00:00Z');

let fake: FakeApi;
const open: BalanceProvider[] = [];
beforeAll(async () => {
  fake = await startFakeApi();
});
afterAll(() => fake.close());
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  fake.requests.length = 0;
});

/** `null`: no clock given, the provider's own. */
function provider(api: CostApi, now: (() => Date) | null = NOV_21): BalanceProvider {
  const p = createBudgetProvider({
    baseUrl: fake.url,
    apiKey: KEY,
    timeoutMs: 5_000,
    currency: 'USD',
    id: api,
    api,
    budget: new Big(200),
    ...(now ? { now } : {}),
  });
  open.push(p);
  return p;
}

async function check(api: CostApi, reply: FakeReply): Promise<CheckResult> {
  fake.setReply(reply);
  return provider(api).check();
}
async function reason(api: CostApi, reply: FakeReply): Promise<string> {
  const r = await check(api, reply);
  if (r.ok) throw new Error(`expected a failure, got ${r.available.toString()}`);
  return r.reason;
}
async function spent(api: CostApi, reply: FakeReply): Promise<string | undefined> {
  const r = await check(api, reply);
  if (!r.ok) throw new Error(`expected a reading, got: ${r.reason}`);
  return r.budget?.spent.toString();
}

const openAi = (results: unknown[], bucket: object = {}) =>
  openAiCosts([{ ...openAiBucket('2026-11-02', []), results, ...bucket }]);
const anthropic = (results: unknown[], bucket: object = {}) =>
  anthropicCostReport([{ ...anthropicBucket('2026-11-02', []), results, ...bucket }]);

describe('cost reports: the shapes read exactly', () => {
  it('GIVEN OpenAI values as a number and as a decimal string, in USD or usd or no currency THEN they add up exactly', async () => {
    const results = [
      { amount: { value: 0.1, currency: 'usd' } },
      { amount: { value: '0.2', currency: 'USD' } },
      { amount: { value: '0.000001' } },
    ];
    expect(await spent('openai', { json: openAi(results) })).toBe('0.300001');
  });

  it('GIVEN Anthropic cents strings without a currency THEN they are read as USD cents', async () => {
    expect(await spent('anthropic', { json: anthropic([{ amount: '0.5' }, { amount: '10' }]) })).toBe(
      '0.105',
    );
  });

  it('GIVEN a report without has_more THEN it is the last page', async () => {
    expect(await spent('openai', { json: { data: [openAiBucket('2026-11-02', [1.25])] } })).toBe('1.25');
    expect(fake.requests.length).toBe(1);
  });

  it('GIVEN the OpenAI key THEN it goes as a bearer token; the Anthropic key as x-api-key with the API version', async () => {
    await spent('openai', { json: openAiCosts([]) });
    await spent('anthropic', { json: anthropicCostReport([]) });
    expect(
      fake.requests.map((r) => [r.authorization, r.apiKey, r.anthropicVersion, r.url.split('?')[0]]),
    ).toEqual([
      [`Bearer ${KEY}`, undefined, undefined, '/v1/organization/costs'],
      [undefined, KEY, '2023-06-01', '/v1/organizations/cost_report'],
    ]);
  });
});

describe('cost reports: each shape refused, with its reason', () => {
  it('GIVEN has_more that is not a boolean or a next_page that is empty THEN paging stops with the reason', async () => {
    expect(await reason('openai', { json: { data: [], has_more: 'yes' } })).toBe(
      'has_more is not a boolean (got string)',
    );
    expect(await reason('openai', { json: { data: [], has_more: null } })).toBe(
      'has_more is not a boolean (got null)',
    );
    expect(await reason('anthropic', { json: { data: [], has_more: true, next_page: '' } })).toBe(
      'has_more is true but next_page is not a page token (got string)',
    );
  });

  it('GIVEN a bucket or a result that is not an object THEN its place is named', async () => {
    for (const api of ['openai', 'anthropic'] as const) {
      expect(await reason(api, { json: { data: [7], has_more: false } })).toBe(
        'data[0] is not an object (got number)',
      );
      const bad = api === 'openai' ? openAi(['x']) : anthropic([null]);
      expect(await reason(api, { json: bad })).toBe(
        `data[0].results[0] is not an object (got ${api === 'openai' ? 'string' : 'null'})`,
      );
    }
  });

  it('GIVEN results that are missing or not an array THEN the bucket is named', async () => {
    expect(await reason('openai', { json: openAi([], { results: undefined }) })).toBe(
      'data[0].results is missing',
    );
    expect(await reason('anthropic', { json: anthropic([], { results: { amount: '1' } }) })).toBe(
      'data[0].results is not an array (got object)',
    );
    expect(await reason('openai', { json: openAi([], { results: 'none' }) })).toBe(
      'data[0].results is not an array (got string)',
    );
  });

  it('GIVEN a bucket start that is not a time THEN the bucket is named with what it got', async () => {
    expect(await reason('anthropic', { json: anthropic([], { starting_at: 1793491200 }) })).toBe(
      'data[0].starting_at is not a time (got number)',
    );
    expect(await reason('anthropic', { json: anthropic([], { starting_at: undefined }) })).toBe(
      'data[0].starting_at is not a time (got undefined)',
    );
    // 1e400 is valid JSON that parses to Infinity.
    expect(
      await reason('openai', { body: '{"data":[{"start_time":1e400,"results":[]}],"has_more":false}' }),
    ).toBe('data[0].start_time is not a Unix time (got number)');
  });

  it('GIVEN a cost in another currency THEN the currency is named, clipped to 12 characters, or its type', async () => {
    expect(await reason('anthropic', { json: anthropic([{ amount: '1', currency: 'EUR' }]) })).toBe(
      'data[0].results[0].currency is not USD (got "EUR")',
    );
    expect(
      await reason('openai', {
        json: openAi([{ amount: { value: 1, currency: 'US dollars, of course' } }]),
      }),
    ).toBe('data[0].results[0].amount.currency is not USD (got "US dollars, ")');
    expect(await reason('openai', { json: openAi([{ amount: { value: 1, currency: 840 } }]) })).toBe(
      'data[0].results[0].amount.currency is not USD (got number)',
    );
  });
});

describe('budget accounts: the clock', () => {
  it('GIVEN the clock set back a day after a check THEN the two completed days before today are asked again though they were cached', async () => {
    fake.setReply({ json: anthropicCostReport([]) });
    let now = new Date('2026-11-22T12:00:00Z');
    const p = provider('anthropic', () => now);
    await p.check();
    // The 1st to the 19th are cached now; at the 21st the 19th and 20th are the two completed days.
    now = new Date('2026-11-21T12:00:00Z');
    await p.check();
    expect(fake.requests.map((r) => new URL(r.url, fake.url).searchParams.get('starting_at'))).toEqual([
      '2026-11-01T00:00:00Z',
      '2026-11-19T00:00:00Z',
    ]);
  });

  it('GIVEN Claude’s anchor dated after today (its clock ahead of ours) THEN nothing was spent since it, and nothing is asked', async () => {
    const estimator = createClaudeEstimator({ adminKey: KEY, baseUrl: fake.url }, { timeoutMs: 5_000 });
    try {
      const outcome = await estimator.spendSince(
        new Date('2026-11-22T00:10:00Z'),
        new Date('2026-11-21T23:55:00Z'),
        performance.now() + 5_000,
      );
      expect(outcome.ok && [outcome.spentSince.toString(), outcome.days]).toEqual(['0', []]);
      expect(fake.requests).toEqual([]);
    } finally {
      await estimator.close();
    }
  });

  it('GIVEN no clock, or a clock that throws THEN the month asked is the wall clock’s', async () => {
    fake.setReply({ json: openAiCosts([]) });
    const before = utcMonth(new Date()).start.getTime() / 1000;
    await provider('openai', null).check();
    await provider('openai', () => {
      throw new Error('clock broke');
    }).check();
    const after = utcMonth(new Date()).start.getTime() / 1000;
    const starts = fake.requests.map((r) => Number(new URL(r.url, fake.url).searchParams.get('start_time')));
    expect(starts.length).toBe(2);
    for (const start of starts) expect([before, after]).toContain(start);
  });

  it('GIVEN the openai and anthropic modules THEN their accounts read the budget against the base URL set, in USD', async () => {
    const context = { accountId: 'anthropic:team', timeoutMs: 5_000, now: NOV_21 };
    for (const module of [OPENAI_MODULE, ANTHROPIC_MODULE]) {
      fake.setReply({
        json:
          module === OPENAI_MODULE
            ? openAiCosts([openAiBucket('2026-11-02', [1.5])])
            : anthropic([{ amount: '150' }]),
      });
      const p = module.create({ adminKey: KEY, budget: new Big('10.5'), baseUrl: fake.url }, context);
      open.push(p);
      const r = await p.check();
      if (!r.ok) throw new Error(r.reason);
      expect([
        p.id,
        r.currency,
        r.available.toString(),
        r.note,
        fake.requests.at(-1)?.url.split('?')[0],
      ]).toEqual([
        'anthropic:team',
        'USD',
        '9',
        'budget $10.50, $1.50 spent this month',
        module === OPENAI_MODULE ? '/v1/organization/costs' : '/v1/organizations/cost_report',
      ]);
    }
  });
});
