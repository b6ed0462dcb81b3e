/**
 * The replies the providers document (issue 12's table and each provider's API reference), replayed by the
 * local fake servers. Figures are chosen so that a float anywhere on the way would show.
 */

export const DEEPSEEK_BALANCE = {
  is_available: true,
  balance_infos: [
    { currency: 'CNY', total_balance: '110.07', granted_balance: '10.00', topped_up_balance: '100.07' },
  ],
};
/** A `USD "0.00"` row listed before the funded CNY row: the CNY funds are the balance. */
export const DEEPSEEK_ZERO_USD_BESIDE_CNY = {
  is_available: true,
  balance_infos: [
    { currency: 'USD', total_balance: '0.00', granted_balance: '0.00', topped_up_balance: '0.00' },
    { currency: 'CNY', total_balance: '88.30', granted_balance: '0.30', topped_up_balance: '88.00' },
  ],
};
export const DEEPSEEK_ERROR = {
  error: {
    message: 'Authentication Fails, Your api key: ****9c is invalid',
    type: 'authentication_error',
    param: null,
    code: 'invalid_request_error',
  },
};

export const OPENROUTER_CREDITS = { data: { total_credits: 100.1, total_usage: 25.3 } };
export const OPENROUTER_KEY_WITH_LIMIT = {
  data: { label: 'sk-or-v1-abc…def', limit: 20, limit_remaining: 12.35, usage: 7.65, is_free_tier: false },
};
export const OPENROUTER_KEY_WITHOUT_LIMIT = {
  data: { label: 'sk-or-v1-abc…def', limit: null, limit_remaining: null, usage: 7.65, is_free_tier: false },
};
export const openRouterError = (code: number, message: string) => ({ error: { code, message } });

export const SILICONFLOW_INFO = {
  code: 20000,
  message: 'OK',
  status: true,
  data: {
    id: 'user-1',
    name: 'team',
    image: '',
    email: 'team@example.com',
    isAdmin: false,
    balance: '0.88',
    status: 'normal',
    introduction: '',
    role: '',
    chargeBalance: '88.00',
    totalBalance: '88.88',
  },
};
export const siliconFlowError = (code: number, message: string) => ({
  code,
  message,
  status: false,
  data: null,
});

/** 1/10,000 USD units: `"1234500"` is $123.45. */
export const NOVITA_BALANCE = {
  availableBalance: '1234500',
  cashBalance: '1000000',
  creditLimit: '234500',
  pendingCharges: '1500',
  outstandingInvoices: '0',
};
export const NOVITA_ERROR = {
  code: 401,
  reason: 'INVALID_API_KEY',
  message: 'invalid api key',
  metadata: {},
};

export const STEPFUN_ACCOUNT = {
  object: 'account',
  type: 'prepaid',
  balance: 100.3,
  total_cash_balance: 80.1,
  total_voucher_balance: 20.2,
};
export const STEPFUN_ERROR = { error: { message: 'Incorrect API key provided', type: 'invalid_api_key' } };

export const MOONSHOT_ERROR = {
  error: { message: 'Invalid Authentication', type: 'invalid_authentication_error' },
};

/** The Admin API cost reports (issue 13). `day` → the bucket of that UTC day. */
const dayStart = (day: string) => new Date(`${day}T00:00:00Z`);
const nextDay = (day: string) => new Date(dayStart(day).getTime() + 86_400_000);
const rfc3339 = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/** An Anthropic `cost_report` result: `amount` is a decimal string in cents. */
export const anthropicResult = (cents: string) => ({
  currency: 'USD',
  amount: cents,
  workspace_id: 'wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ',
  description: 'Claude Sonnet 4 Usage - Input Tokens',
  cost_type: 'tokens',
  context_window: '0-200k',
  model: 'claude-sonnet-4-20250514',
  service_tier: 'standard',
  token_type: 'uncached_input_tokens',
});
export const anthropicBucket = (day: string, cents: readonly string[]) => ({
  starting_at: rfc3339(dayStart(day)),
  ending_at: rfc3339(nextDay(day)),
  results: cents.map(anthropicResult),
});
export const anthropicCostReport = (buckets: readonly unknown[], nextPage: string | null = null) => ({
  data: buckets,
  has_more: nextPage !== null,
  next_page: nextPage,
});

/**
 * November 2026 to the 21st: $12.3453 + $80.00 + $1.2345 = $93.5798 (cents `"1234.5"` + `"0.01"` + `"0.02"`
 * would be 1234.53000000001 through floats).
 */
export const ANTHROPIC_COST_REPORT = anthropicCostReport([
  anthropicBucket('2026-11-01', ['1234.5', '0.01', '0.02']),
  anthropicBucket('2026-11-02', []),
  anthropicBucket('2026-11-20', ['8000.00']),
  anthropicBucket('2026-11-21', ['123.45']),
]);
export const ANTHROPIC_ERROR = {
  type: 'error',
  error: { type: 'authentication_error', message: 'invalid x-api-key' },
};

export const openAiResult = (value: number) => ({
  object: 'organization.costs.result',
  amount: { value, currency: 'usd' },
  line_item: null,
  project_id: null,
});
export const openAiBucket = (day: string, values: readonly number[]) => ({
  object: 'bucket',
  start_time: dayStart(day).getTime() / 1000,
  end_time: nextDay(day).getTime() / 1000,
  results: values.map(openAiResult),
});
export const openAiCosts = (buckets: readonly unknown[], nextPage: string | null = null) => ({
  object: 'page',
  data: buckets,
  has_more: nextPage !== null,
  next_page: nextPage,
});
/** November 2026 to the 21st: 0.1 + 0.2 + 12.3 + 0.06 = $12.66 exactly (0.30000000000000004 through floats). */
export const OPENAI_COSTS = openAiCosts([
  openAiBucket('2026-11-01', [0.1, 0.2]),
  openAiBucket('2026-11-20', [12.3]),
  openAiBucket('2026-11-21', [0.06]),
]);
export const OPENAI_ERROR = {
  error: {
    message:
      'Incorrect API key provided: sk-admin-****. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
};
