import { expect } from 'vitest';
import { createBudgetProvider } from '../../src/adapters/providers/budget.js';
import { createDeepSeekProvider } from '../../src/adapters/providers/deepseek.js';
import { createKimiProvider } from '../../src/adapters/providers/kimi.js';
import { createNovitaProvider } from '../../src/adapters/providers/novita.js';
import { createOpenRouterProvider } from '../../src/adapters/providers/openrouter.js';
import { createSiliconFlowProvider } from '../../src/adapters/providers/siliconflow.js';
import { createStepFunProvider } from '../../src/adapters/providers/stepfun.js';
import { Big } from '../../src/core/money.js';
import { MOONSHOT_OK_BODY } from '../support/fake-moonshot.js';
import { httpSubject } from '../support/http-subject.js';
import { providerContract } from '../support/provider-contract.js';
import {
  ANTHROPIC_COST_REPORT,
  ANTHROPIC_ERROR,
  anthropicBucket,
  anthropicCostReport,
  DEEPSEEK_BALANCE,
  DEEPSEEK_ERROR,
  MOONSHOT_ERROR,
  NOVITA_BALANCE,
  NOVITA_ERROR,
  OPENAI_COSTS,
  OPENAI_ERROR,
  OPENROUTER_CREDITS,
  openAiBucket,
  openAiCosts,
  openRouterError,
  SILICONFLOW_INFO,
  STEPFUN_ACCOUNT,
  STEPFUN_ERROR,
  siliconFlowError,
} from '../support/provider-replies.js';

const common = (baseUrl: string, apiKey: string, timeoutMs: number) => ({ baseUrl, apiKey, timeoutMs });

providerContract(
  httpSubject({
    id: 'kimi',
    api: 'Moonshot API',
    path: '/v1/users/me/balance',
    create: (...a) => createKimiProvider({ ...common(...a), currency: 'USD' }),
    documented: MOONSHOT_OK_BODY,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.voucher?.toString(), r.cash?.toString()]).toEqual([
        'USD',
        '49.58894',
        '46.58893',
        '3.00001',
      ]);
    },
    errorBody: () => MOONSHOT_ERROR,
    errorMessage: /Invalid Authentication \(invalid_authentication_error\)/,
    wrongTypes: [
      {
        name: 'a null balance',
        json: { code: 0, data: { ...MOONSHOT_OK_BODY.data, available_balance: null } },
        reason: /^data\.available_balance is null$/,
      },
      {
        name: 'a string for a number',
        json: { code: 0, data: { ...MOONSHOT_OK_BODY.data, cash_balance: '3.00' } },
        reason: /^data\.cash_balance is not a number \(got string\)$/,
      },
      {
        name: 'an absent field',
        json: { code: 0, data: { available_balance: 1, voucher_balance: 1 } },
        reason: /^data\.cash_balance is missing$/,
      },
      { name: 'no data', json: { code: 0 }, reason: /^response has no data object$/ },
    ],
  }),
);

providerContract(
  httpSubject({
    id: 'deepseek',
    api: 'DeepSeek API',
    path: '/user/balance',
    create: (...a) => createDeepSeekProvider({ ...common(...a), currency: 'USD' }),
    documented: DEEPSEEK_BALANCE,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.voucher?.toString(), r.cash?.toString(), r.note]).toEqual(
        ['CNY', '110.07', '10', '100.07', undefined],
      );
    },
    errorBody: () => DEEPSEEK_ERROR,
    errorMessage: /Authentication Fails, Your api key: \*\*\*\*9c is invalid \(authentication_error\)/,
    wrongTypes: [
      {
        name: 'a null total',
        json: {
          is_available: true,
          balance_infos: [{ ...DEEPSEEK_BALANCE.balance_infos[0], total_balance: null }],
        },
        reason: /^balance_infos\[0\]\.total_balance is null$/,
      },
      {
        name: 'a number for a decimal string',
        json: {
          is_available: true,
          balance_infos: [{ ...DEEPSEEK_BALANCE.balance_infos[0], granted_balance: 10 }],
        },
        reason: /^balance_infos\[0\]\.granted_balance is not a decimal string \(got number\)$/,
      },
      {
        name: 'a non-decimal string',
        json: {
          is_available: true,
          balance_infos: [{ ...DEEPSEEK_BALANCE.balance_infos[0], total_balance: 'lots' }],
        },
        reason: /^balance_infos\[0\]\.total_balance is not a decimal number/,
      },
      { name: 'no balance_infos', json: { is_available: true }, reason: /^balance_infos is missing$/ },
      {
        name: 'is_available as a string',
        json: { ...DEEPSEEK_BALANCE, is_available: 'true' },
        reason: /^is_available is not a boolean \(got string\)$/,
      },
    ],
  }),
);

providerContract(
  httpSubject({
    id: 'openrouter',
    api: 'OpenRouter API',
    path: '/v1/credits',
    create: (...a) => createOpenRouterProvider({ ...common(...a), currency: 'USD' }),
    documented: OPENROUTER_CREDITS,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.note]).toEqual(['USD', '74.8', undefined]);
    },
    errorBody: (status) =>
      openRouterError(status, status === 401 ? 'No auth credentials found' : 'Key is disabled'),
    errorMessage: /(No auth credentials found|Key is disabled)/,
    // A 403 on /v1/credits asks /v1/key; a key refused there too is a failure quoting the first refusal.
    alsoAnswers: (status) => ({ '/v1/key': { status, json: openRouterError(status, 'Key is disabled') } }),
    wrongTypes: [
      {
        name: 'null credits',
        json: { data: { total_credits: null, total_usage: 1 } },
        reason: /^data\.total_credits is null$/,
      },
      {
        name: 'a string for a number',
        json: { data: { total_credits: '100', total_usage: 1 } },
        reason: /^data\.total_credits is not a number \(got string\)$/,
      },
      {
        name: 'an absent usage',
        json: { data: { total_credits: 100 } },
        reason: /^data\.total_usage is missing$/,
      },
      { name: 'no data', json: { credits: 100 }, reason: /^response has no data object$/ },
    ],
  }),
);

providerContract(
  httpSubject({
    id: 'siliconflow',
    api: 'SiliconFlow API',
    path: '/v1/user/info',
    create: (...a) => createSiliconFlowProvider({ ...common(...a), currency: 'CNY' }),
    documented: SILICONFLOW_INFO,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.voucher?.toString(), r.cash?.toString()]).toEqual([
        'CNY',
        '88.88',
        '0.88',
        '88',
      ]);
    },
    errorBody: () => siliconFlowError(20012, 'Invalid token'),
    errorMessage: /Invalid token/,
    wrongTypes: [
      {
        name: 'a null total',
        json: { ...SILICONFLOW_INFO, data: { ...SILICONFLOW_INFO.data, totalBalance: null } },
        reason: /^data\.totalBalance is null$/,
      },
      {
        name: 'a number for a decimal string',
        json: { ...SILICONFLOW_INFO, data: { ...SILICONFLOW_INFO.data, chargeBalance: 88 } },
        reason: /^data\.chargeBalance is not a decimal string \(got number\)$/,
      },
      {
        name: 'an absent gift balance',
        json: { ...SILICONFLOW_INFO, data: { totalBalance: '1', chargeBalance: '1' } },
        reason: /^data\.balance is missing$/,
      },
      {
        name: 'status false',
        json: { ...SILICONFLOW_INFO, status: false, message: 'account frozen' },
        reason: /^SiliconFlow API returned code 20000, status false: account frozen$/,
      },
    ],
  }),
);

providerContract(
  httpSubject({
    id: 'novita',
    api: 'Novita API',
    path: '/openapi/v1/billing/balance/detail',
    create: (...a) => createNovitaProvider({ ...common(...a), currency: 'USD' }),
    documented: NOVITA_BALANCE,
    expectReading(r) {
      expect([
        r.currency,
        r.available.toString(),
        r.cash?.toString(),
        r.details?.creditLimit?.toString(),
      ]).toEqual(['USD', '123.45', '100', '23.45']);
    },
    errorBody: () => NOVITA_ERROR,
    errorMessage: /invalid api key/,
    wrongTypes: [
      {
        name: 'a null available balance',
        json: { ...NOVITA_BALANCE, availableBalance: null },
        reason: /^availableBalance is null$/,
      },
      {
        name: 'a number for a decimal string',
        json: { ...NOVITA_BALANCE, cashBalance: 1000000 },
        reason: /^cashBalance is not a decimal string \(got number\)$/,
      },
      { name: 'an absent field', json: { availableBalance: '1' }, reason: /^cashBalance is missing$/ },
    ],
  }),
);

providerContract(
  httpSubject({
    id: 'stepfun',
    api: 'StepFun API',
    path: '/v1/accounts',
    create: (...a) => createStepFunProvider({ ...common(...a), currency: 'CNY' }),
    documented: STEPFUN_ACCOUNT,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.voucher?.toString(), r.cash?.toString()]).toEqual([
        'CNY',
        '100.3',
        '20.2',
        '80.1',
      ]);
    },
    errorBody: () => STEPFUN_ERROR,
    errorMessage: /Incorrect API key provided \(invalid_api_key\)/,
    wrongTypes: [
      { name: 'a null balance', json: { ...STEPFUN_ACCOUNT, balance: null }, reason: /^balance is null$/ },
      {
        name: 'a string for a number',
        json: { ...STEPFUN_ACCOUNT, total_cash_balance: '80.1' },
        reason: /^total_cash_balance is not a number \(got string\)$/,
      },
      {
        name: 'an absent voucher balance',
        json: { object: 'account', balance: 1, total_cash_balance: 1 },
        reason: /^total_voucher_balance is missing$/,
      },
    ],
  }),
);

// The budget accounts (issue 13), dated inside November 2026 so the month's buckets are the documented ones.
const NOV_21 = () => new Date('2026-11-21T12:00:00Z');

providerContract(
  httpSubject({
    id: 'openai',
    api: 'OpenAI Admin API',
    path: '/v1/organization/costs',
    query: /^start_time=1793491200&end_time=1795305600&bucket_width=1d&limit=31$/,
    create: (baseUrl, apiKey, timeoutMs) =>
      createBudgetProvider({
        ...common(baseUrl, apiKey, timeoutMs),
        currency: 'USD',
        id: 'openai',
        api: 'openai',
        budget: new Big(200),
        now: NOV_21,
      }),
    documented: OPENAI_COSTS,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.note, r.budget?.spent.toString()]).toEqual([
        'USD',
        '187.34',
        'budget $200.00, $12.66 spent this month',
        '12.66',
      ]);
      expect(r.spendByDay?.length).toBe(21);
      expect(r.spendByDay?.[0]).toEqual({ day: '2026-11-01', amount: new Big('0.3') });
      expect(r.spendByDay?.[1]?.amount.toString()).toBe('0');
      expect(r.budget?.periodStart.toISOString()).toBe('2026-11-01T00:00:00.000Z');
      expect(r.budget?.periodEnd.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    },
    errorBody: () => OPENAI_ERROR,
    errorMessage: /Incorrect API key provided: sk-admin-\*\*\*\*\..* \(invalid_request_error\)/,
    wrongTypes: [
      {
        name: 'a null cost',
        json: openAiCosts([{ ...openAiBucket('2026-11-01', []), results: [{ amount: { value: null } }] }]),
        reason: /^data\[0\]\.results\[0\]\.amount\.value is null$/,
      },
      {
        name: 'a cost that is not an object',
        json: openAiCosts([{ ...openAiBucket('2026-11-01', []), results: [{ amount: 0.5 }] }]),
        reason: /^data\[0\]\.results\[0\]\.amount is not an object \(got number\)$/,
      },
      {
        name: 'a cost in another currency',
        json: openAiCosts([
          { ...openAiBucket('2026-11-01', []), results: [{ amount: { value: 1, currency: 'eur' } }] },
        ]),
        reason: /^data\[0\]\.results\[0\]\.amount\.currency is not USD \(got "eur"\)$/,
      },
      {
        name: 'a bucket without a start time',
        json: openAiCosts([{ ...openAiBucket('2026-11-01', [1]), start_time: '2026-11-01' }]),
        reason: /^data\[0\]\.start_time is not a Unix time \(got string\)$/,
      },
      { name: 'no data', json: { object: 'page', has_more: false }, reason: /^data is missing$/ },
      {
        name: 'more pages without a page token',
        json: { ...OPENAI_COSTS, has_more: true, next_page: null },
        reason: /^has_more is true but next_page is not a page token \(got null\)$/,
      },
    ],
  }),
);

providerContract(
  httpSubject({
    id: 'anthropic',
    api: 'Anthropic Admin API',
    path: '/v1/organizations/cost_report',
    keyIn: 'x-api-key',
    query:
      /^starting_at=2026-11-01T00%3A00%3A00Z&ending_at=2026-11-22T00%3A00%3A00Z&bucket_width=1d&limit=31$/,
    create: (baseUrl, apiKey, timeoutMs) =>
      createBudgetProvider({
        ...common(baseUrl, apiKey, timeoutMs),
        currency: 'USD',
        id: 'anthropic',
        api: 'anthropic',
        budget: new Big(200),
        now: NOV_21,
      }),
    documented: ANTHROPIC_COST_REPORT,
    expectReading(r) {
      expect([r.currency, r.available.toString(), r.note]).toEqual([
        'USD',
        '106.4202',
        'budget $200.00, $93.58 spent this month',
      ]);
      expect(
        r.spendByDay?.map((d) => `${d.day}=${d.amount.toString()}`).filter((d) => !d.endsWith('=0')),
      ).toEqual(['2026-11-01=12.3453', '2026-11-20=80', '2026-11-21=1.2345']);
    },
    errorBody: () => ANTHROPIC_ERROR,
    errorMessage: /invalid x-api-key \(authentication_error\)/,
    wrongTypes: [
      {
        name: 'an amount in dollars as a number',
        json: anthropicCostReport([
          { ...anthropicBucket('2026-11-01', []), results: [{ amount: 12.5, currency: 'USD' }] },
        ]),
        reason: /^data\[0\]\.results\[0\]\.amount is not a decimal string \(got number\)$/,
      },
      {
        name: 'a null amount',
        json: anthropicCostReport([
          { ...anthropicBucket('2026-11-01', []), results: [{ amount: null, currency: 'USD' }] },
        ]),
        reason: /^data\[0\]\.results\[0\]\.amount is null$/,
      },
      {
        name: 'a bucket without results',
        json: { data: [{ starting_at: '2026-11-01T00:00:00Z' }], has_more: false, next_page: null },
        reason: /^data\[0\]\.results is missing$/,
      },
      {
        name: 'a bucket with a start that is not a time',
        json: anthropicCostReport([{ ...anthropicBucket('2026-11-01', ['1']), starting_at: 'yesterday' }]),
        reason: /^data\[0\]\.starting_at is not a time \(got string\)$/,
      },
      {
        name: 'data as an object',
        json: { data: {}, has_more: false },
        reason: /^data is not an array \(got object\)$/,
      },
    ],
  }),
);
